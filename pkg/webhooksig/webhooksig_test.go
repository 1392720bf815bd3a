package webhooksig

import (
	"errors"
	"testing"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	secret, body := []byte("hush"), []byte(`{"id":1}`)
	good := Sign(secret, body)
	// A vector computed outside Go: printf '{"id":1}' | openssl dgst -sha256 -hmac hush -binary | base64
	if good != "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=" {
		t.Errorf("signature = %s", good)
	}
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		sig    string
		ok     bool
	}{
		{"good", secret, body, good, true},
		{"tampered body", secret, []byte(`{"id":2}`), good, false},
		{"wrong secret", []byte("other"), body, good, false},
		{"missing", secret, body, "", false},
		{"not base64", secret, body, "%%%", false},
		{"truncated", secret, body, good[:10], false},
		{"no secret configured", nil, body, Sign(nil, body), false},
	}
	for _, tt := range tests {
		err := Verify(tt.secret, tt.body, tt.sig)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
