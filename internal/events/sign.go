package events

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// SecretPrefix starts every signing secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// NewSecret makes a signing secret: whsec_ and 24 random bytes in base64
// (the Standard Webhooks specification asks for 24 to 64 bytes).
func NewSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// CheckSecret accepts a whsec_ secret whose key is base64 of 24 to 64
// bytes.
func CheckSecret(s string) error {
	key, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return fmt.Errorf("a signing secret starts with %s", SecretPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return fmt.Errorf("a signing secret is %s followed by base64: %w", SecretPrefix, err)
	}
	if len(b) < 24 || len(b) > 64 {
		return fmt.Errorf("a signing secret's key is 24 to 64 bytes, not %d", len(b))
	}
	return nil
}

// Sign sets the Standard Webhooks headers of one delivery: webhook-id (the
// event's id, the same on every redelivery), webhook-timestamp and
// webhook-signature with one v1 signature per secret, separated by
// spaces, so that during a rotation a receiver holding either secret
// verifies.
func Sign(h http.Header, id string, at time.Time, body []byte, secrets []string) error {
	if len(secrets) == 0 {
		return fmt.Errorf("sign event %s: no secret", id)
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return fmt.Errorf("sign event %s: %w", id, err)
		}
		sig, err := wh.Sign(id, at, body)
		if err != nil {
			return fmt.Errorf("sign event %s: %w", id, err)
		}
		sigs = append(sigs, sig)
	}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	return nil
}
