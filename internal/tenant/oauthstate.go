package tenant

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// An install's state is stateless: nothing is stored when an install
// starts (GET /shopify/install needs no credential, so anything it stored
// would grow as fast as anyone can call it). The state handed to Shopify
// is
//
//	v1.<nonce>.<expiry, unix seconds>.<HMAC-SHA256(key, "v1|nonce|shop|expiry")>
//
// with the nonce also in the browser's cookie. The callback checks the
// signature (so the state was issued by orderdesk, for this shop), the
// expiry, and that the cookie holds the state's nonce (so it is the
// browser that started the install). The key is derived from the app's
// secret, which every replica shares.

const stateVersion = "v1"

// stateSigner signs and checks install states.
type stateSigner struct {
	key []byte
}

// newStateSigner derives the state key from a server secret (the app's
// client secret), so the secret itself never signs anything but Shopify's
// own messages.
func newStateSigner(secret []byte) *stateSigner {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("orderdesk oauth install state v1"))
	return &stateSigner{key: mac.Sum(nil)}
}

func (s *stateSigner) mac(nonce, domain string, expiry int64) string {
	mac := hmac.New(sha256.New, s.key)
	fmt.Fprintf(mac, "%s|%s|%s|%d", stateVersion, nonce, domain, expiry)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// issue returns a fresh nonce (for the cookie) and the signed state (for
// Shopify) of an install of domain that expires at expires.
func (s *stateSigner) issue(domain string, expires time.Time) (nonce, state string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("install state: %w", err)
	}
	nonce = base64.RawURLEncoding.EncodeToString(b)
	exp := expires.Unix()
	return nonce, strings.Join([]string{stateVersion, nonce, strconv.FormatInt(exp, 10), s.mac(nonce, domain, exp)}, "."), nil
}

// check verifies a callback's state for domain against the browser's
// nonce at now, returning when the state expires. Every failure wraps
// ErrOAuthState.
func (s *stateSigner) check(state, domain, browserNonce string, now time.Time) (time.Time, error) {
	parts := strings.Split(state, ".")
	if len(parts) != 4 || parts[0] != stateVersion {
		return time.Time{}, fmt.Errorf("%w: not a state orderdesk issued", ErrOAuthState)
	}
	nonce, sig := parts[1], parts[3]
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: not a state orderdesk issued", ErrOAuthState)
	}
	if !hmac.Equal([]byte(sig), []byte(s.mac(nonce, domain, exp))) {
		return time.Time{}, fmt.Errorf("%w: not issued by orderdesk for this shop", ErrOAuthState)
	}
	expires := time.Unix(exp, 0).UTC()
	if !now.Before(expires) {
		return time.Time{}, fmt.Errorf("%w: the install was started too long ago", ErrOAuthState)
	}
	if browserNonce == "" || subtle.ConstantTimeCompare([]byte(nonce), []byte(browserNonce)) != 1 {
		return time.Time{}, fmt.Errorf("%w: it is not the one this browser started the install with", ErrOAuthState)
	}
	return expires, nil
}
