package secrets_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/orderdesk/orderdesk/internal/secrets"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func keyring(t *testing.T, spec string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	old := keyring(t, "k1:"+k1)
	sealed, err := old.Seal([]byte("shpat_secret"), "shops.access_token:a.myshopify.com")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "shpat_secret") || !strings.HasPrefix(sealed, "v1:k1:") {
		t.Fatalf("sealed = %q", sealed)
	}
	again, _ := old.Seal([]byte("shpat_secret"), "shops.access_token:a.myshopify.com")
	if again == sealed {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}

	rotated := keyring(t, "k2:"+k2+", k1:"+k1)
	t.Run("an old key still opens its values", func(t *testing.T) {
		got, err := rotated.Open(sealed, "shops.access_token:a.myshopify.com")
		if err != nil || string(got) != "shpat_secret" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
	t.Run("reseal moves a value to the current key", func(t *testing.T) {
		out, changed, err := rotated.Reseal(sealed, "shops.access_token:a.myshopify.com")
		if err != nil || !changed || !strings.HasPrefix(out, "v1:k2:") {
			t.Fatalf("Reseal = %q, %v, %v", out, changed, err)
		}
		same, changed, err := rotated.Reseal(out, "shops.access_token:a.myshopify.com")
		if err != nil || changed || same != out {
			t.Fatalf("second Reseal = %q, %v, %v", same, changed, err)
		}
		newOnly := keyring(t, "k2:"+k2)
		if got, err := newOnly.Open(out, "shops.access_token:a.myshopify.com"); err != nil || string(got) != "shpat_secret" {
			t.Fatalf("after rotation, the new key alone: %q, %v", got, err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		newOnly := keyring(t, "k2:"+k2)
		if _, err := newOnly.Open(sealed, "shops.access_token:a.myshopify.com"); !errors.Is(err, secrets.ErrUnknownKey) {
			t.Errorf("dropped key: err = %v", err)
		}
		if _, err := rotated.Open(sealed, "shops.access_token:b.myshopify.com"); !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("value moved to another shop's row opened: err = %v", err)
		}
		relabelled := "v1:k2:" + strings.TrimPrefix(sealed, "v1:k1:")
		if _, err := rotated.Open(relabelled, "shops.access_token:a.myshopify.com"); !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("relabelled key id opened: err = %v", err)
		}
		raw := []byte(sealed)
		raw[len(raw)-2] ^= 1
		if _, err := rotated.Open(string(raw), "shops.access_token:a.myshopify.com"); !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("tampered value opened: err = %v", err)
		}
		for _, bad := range []string{"", "shpat_plain", "v1:k1", "v2:k1:abc", "v1:k1:!!"} {
			if _, err := rotated.Open(bad, "x"); err == nil {
				t.Errorf("Open(%q) succeeded", bad)
			}
		}
	})
}

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	good := newKey(t)
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16))
	for _, spec := range []string{"", "nokey", "k1:" + short, "k 1:" + good, "k1:" + good + ",k1:" + good, "k1:not base64!"} {
		_, err := secrets.ParseKeyring(spec)
		if err == nil {
			t.Errorf("ParseKeyring(%q) accepted", spec)
			continue
		}
		if strings.Contains(err.Error(), good) || strings.Contains(err.Error(), short) {
			t.Errorf("error reveals key material: %v", err)
		}
	}
	k := keyring(t, "new:"+good+",old:"+newKey(t))
	if k.Current() != "new" || strings.Contains(k.String(), good) {
		t.Errorf("Current = %q, String = %q", k.Current(), k.String())
	}
}
