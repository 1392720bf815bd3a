// Package webhooksig signs and verifies webhook bodies the way Shopify does:
// base64 of HMAC-SHA256 over the raw body, keyed with a shared secret, in a
// header (X-Shopify-Hmac-Sha256). Verification runs in constant time.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// ErrInvalid is returned for a missing, malformed or wrong signature.
var ErrInvalid = errors.New("webhook signature invalid")

// Sign returns the base64 HMAC-SHA256 of body with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks that signature is Sign(secret, body). An empty secret
// never verifies: an unconfigured receiver must not accept anything.
func Verify(secret, body []byte, signature string) error {
	if len(secret) == 0 || signature == "" {
		return ErrInvalid
	}
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrInvalid
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrInvalid
	}
	return nil
}
