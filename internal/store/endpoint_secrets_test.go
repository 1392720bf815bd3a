package store_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orderdesk/orderdesk/internal/events"
	"github.com/orderdesk/orderdesk/internal/secrets"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
)

// keySpec is one ORDERDESK_ENCRYPTION_KEY entry with a fresh key.
func keySpec(id string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}

func keyring(t *testing.T, spec ...string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.ParseKeyring(strings.Join(spec, ","))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rawSecrets is the secrets column as stored.
func rawSecrets(t *testing.T, s *store.Store, id string) string {
	t.Helper()
	var v string
	if err := s.SQL().QueryRowContext(context.Background(), "SELECT secrets FROM event_endpoints WHERE id = "+placeholder(s), id).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func placeholder(s *store.Store) string {
	if s.Pool() != nil {
		return "$1"
	}
	return "?"
}

// TestEndpointSecretsSealed: with ORDERDESK_ENCRYPTION_KEY the signing
// secrets are stored sealed (AES-256-GCM, naming their key), never in
// clear, and read back opened; secrets stored in clear before are sealed
// by SealClearSecrets; a key rotation re-encrypts them, after which the
// old key is not needed; a value copied to another endpoint does not
// open; without the key a sealed secret is an error that shows no secret.
func TestEndpointSecretsSealed(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			u := "sqlite:" + filepath.Join(t.TempDir(), "orderdesk.db")
			if kind == "postgres" {
				u, _ = storetest.SchemaURL(t)
			}
			open := func(opts ...store.Option) *store.Store {
				s, err := store.Open(ctx, u, opts...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				if err := s.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
					t.Fatal(err)
				}
				return s
			}
			policy := events.URLPolicy{AllowHTTP: true, AllowPrivate: true}
			// Before: an endpoint made without a key (or before sealing).
			plain := open()
			sh, err := plain.Tenants().EnsureShop(ctx, "sealed.myshopify.com")
			if err != nil {
				t.Fatal(err)
			}
			old, err := events.NewService(plain.Events(), policy, nil).CreateEndpoint(ctx, sh.ID, events.NewEndpoint{URL: "https://crm.example.com/a"})
			if err != nil {
				t.Fatal(err)
			}
			if raw := rawSecrets(t, plain, old.ID); !strings.Contains(raw, old.Secrets[0]) {
				t.Fatalf("without a key the secret is stored as it is, got %q", raw)
			}

			spec1, spec2 := keySpec("k1"), keySpec("k2")
			k1 := keyring(t, spec1)
			sealed := open(store.WithSecretSealer(k1))
			if n, err := sealed.SealClearSecrets(ctx, k1); err != nil || n != 1 {
				t.Fatalf("seal clear secrets: %d %v, want 1", n, err)
			}
			svc := events.NewService(sealed.Events(), policy, nil)
			made, err := svc.CreateEndpoint(ctx, sh.ID, events.NewEndpoint{URL: "https://crm.example.com/b"})
			if err != nil {
				t.Fatal(err)
			}
			rotated, err := svc.RotateSecret(ctx, sh.ID, made.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, ep := range []events.Endpoint{old, rotated} {
				raw := rawSecrets(t, sealed, ep.ID)
				if !strings.HasPrefix(raw, "v1:k1:") {
					t.Errorf("endpoint %s: stored %q, want sealed under k1", ep.ID, raw)
				}
				for _, sec := range ep.Secrets {
					if strings.Contains(raw, sec) || strings.Contains(raw, strings.TrimPrefix(sec, events.SecretPrefix)) {
						t.Errorf("endpoint %s: a secret is stored in clear", ep.ID)
					}
				}
				got, err := sealed.Events().Endpoint(ctx, ep.ID)
				if err != nil || strings.Join(got.Secrets, ",") != strings.Join(ep.Secrets, ",") {
					t.Errorf("endpoint %s read back: %v %v, want its secrets", ep.ID, got.Secrets, err)
				}
			}
			if n, err := sealed.SealClearSecrets(ctx, k1); err != nil || n != 0 {
				t.Errorf("second sealing: %d %v, want nothing left", n, err)
			}

			// Rotation: k2 first, then re-encrypt; k1 can go.
			rot := keyring(t, spec2, spec1)
			if n, err := sealed.ResealAll(ctx, rot.CurrentPrefix(), rot.Reseal); err != nil || n < 2 {
				t.Fatalf("rotate: %d %v, want both endpoints re-encrypted", n, err)
			}
			onlyK2 := open(store.WithSecretSealer(keyring(t, spec2)))
			for _, ep := range []events.Endpoint{old, rotated} {
				if raw := rawSecrets(t, onlyK2, ep.ID); !strings.HasPrefix(raw, "v1:k2:") {
					t.Errorf("endpoint %s after rotation: %q", ep.ID, raw[:8])
				}
				if got, err := onlyK2.Events().Endpoint(ctx, ep.ID); err != nil || got.Secrets[0] != ep.Secrets[0] {
					t.Errorf("endpoint %s with k2 only: %v", ep.ID, err)
				}
			}

			// Copied to another endpoint's row: refused.
			copyOld := "UPDATE event_endpoints SET secrets = (SELECT secrets FROM event_endpoints WHERE id = " + placeholder(onlyK2) + ") WHERE id = " +
				strings.Replace(placeholder(onlyK2), "1", "2", 1)
			if _, err := onlyK2.SQL().ExecContext(ctx, copyOld, old.ID, rotated.ID); err != nil {
				t.Fatal(err)
			}
			_, err = onlyK2.Events().Endpoint(ctx, rotated.ID)
			if err == nil || !errors.Is(err, secrets.ErrInvalid) {
				t.Errorf("secrets copied from another endpoint opened: %v", err)
			}
			// Without the key: an error naming the endpoint, never a secret.
			_, err = plain.Events().Endpoint(ctx, old.ID)
			if err == nil || !strings.Contains(err.Error(), "ORDERDESK_ENCRYPTION_KEY") || strings.Contains(err.Error(), "whsec_") {
				t.Errorf("sealed secrets read without a key: %v", err)
			}
		})
	}
}
