// Package secrets seals the values orderdesk must keep at rest but never
// show (shop access tokens, and later other credentials): AES-256-GCM under
// keys from ORDERDESK_ENCRYPTION_KEY, each sealed value naming the key that
// sealed it, so keys can be rotated while old values still open.
//
// ORDERDESK_ENCRYPTION_KEY is a comma-separated list of id:key pairs, the
// current key first:
//
//	k2:<base64 of 32 random bytes>,k1:<base64 of 32 random bytes>
//
// An id is 1-32 letters, digits, '-' or '_'. New values are sealed under the
// first key; any listed key opens what it sealed. A sealed value is the text
//
//	v1:<key id>:<base64url (no padding) of nonce || ciphertext || tag>
//
// with a fresh 12-byte random nonce. The version, the key id and a context
// string chosen by the caller (e.g. which column of which row) are the
// authenticated data: a value copied to another row, or relabelled with
// another key id, does not open.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

const version = "v1"

// ErrUnknownKey: the value was sealed under a key the keyring lacks.
var ErrUnknownKey = errors.New("sealed under a key ORDERDESK_ENCRYPTION_KEY does not list")

// ErrInvalid: not a sealed value, or one that was altered, or opened with
// the wrong context.
var ErrInvalid = errors.New("not a valid sealed value")

var keyIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Keyring holds the keys values are sealed and opened with.
type Keyring struct {
	current string
	ids     []string
	aeads   map[string]cipher.AEAD
}

// ParseKeyring reads ORDERDESK_ENCRYPTION_KEY's format (see the package
// comment). Errors never contain key material.
func ParseKeyring(spec string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("entry %d is not id:base64key", i+1)
		}
		if !keyIDRe.MatchString(id) {
			return nil, fmt.Errorf("entry %d: key id %q must be 1-32 letters, digits, '-' or '_'", i+1, id)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("key id %q is listed twice", id)
		}
		key, err := decodeKey(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("key %q: want the base64 of exactly 32 bytes (e.g. openssl rand -base64 32)", id)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
	}
	k.current = k.ids[0]
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// Current is the id of the key new values are sealed under.
func (k *Keyring) Current() string { return k.current }

// CurrentPrefix is how every value sealed under the current key starts.
func (k *Keyring) CurrentPrefix() string { return version + ":" + k.current + ":" }

// String names the keys, never their material.
func (k *Keyring) String() string {
	return fmt.Sprintf("keyring(current %s; keys %s)", k.current, strings.Join(k.ids, ","))
}

// LogValue keeps key material out of structured logs.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

func aad(keyID, context string) []byte { return []byte(version + ":" + keyID + ":" + context) }

// Seal encrypts plaintext under the current key, bound to context.
func (k *Keyring) Seal(plaintext []byte, context string) (string, error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := aead.Seal(nonce, nonce, plaintext, aad(k.current, context))
	return version + ":" + k.current + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// KeyID returns the id of the key a sealed value names.
func KeyID(sealed string) (string, error) {
	v, rest, ok := strings.Cut(sealed, ":")
	if !ok || v != version {
		return "", ErrInvalid
	}
	id, _, ok := strings.Cut(rest, ":")
	if !ok || !keyIDRe.MatchString(id) {
		return "", ErrInvalid
	}
	return id, nil
}

// Open decrypts a sealed value; context must be the one it was sealed with.
func (k *Keyring) Open(sealed, context string) ([]byte, error) {
	id, err := KeyID(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("key %q: %w", id, ErrUnknownKey)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed[len(version)+1+len(id)+1:])
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrInvalid
	}
	nonce, ct := raw[:aead.NonceSize()], raw[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, aad(id, context))
	if err != nil {
		return nil, ErrInvalid
	}
	return plain, nil
}

// Reseal re-encrypts a value under the current key. It returns the value
// unchanged and false when it is sealed under the current key already.
func (k *Keyring) Reseal(sealed, context string) (string, bool, error) {
	id, err := KeyID(sealed)
	if err != nil {
		return "", false, err
	}
	if id == k.current {
		return sealed, false, nil
	}
	plain, err := k.Open(sealed, context)
	if err != nil {
		return "", false, err
	}
	out, err := k.Seal(plain, context)
	if err != nil {
		return "", false, err
	}
	return out, true, nil
}
