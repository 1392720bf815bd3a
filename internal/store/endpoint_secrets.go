package store

import (
	"context"
	"fmt"
	"strings"
)

// SecretSealer seals and opens values at rest (secrets.Keyring).
type SecretSealer interface {
	Seal(plaintext []byte, context string) (string, error)
	Open(sealed, context string) ([]byte, error)
}

// WithSecretSealer seals event endpoints' signing secrets with k
// (ORDERDESK_ENCRYPTION_KEY): written sealed, opened when read. Without
// it they are written as they are (no key configured), and sealed ones
// cannot be read.
func WithSecretSealer(k SecretSealer) Option { return func(s *Store) { s.sealer = k } }

// EndpointSecretsContext is what an endpoint's sealed secrets are bound
// to: sealed secrets copied to another endpoint's row do not open.
func EndpointSecretsContext(endpointID string) string { return "event_endpoints.secrets:" + endpointID }

// clearSecrets recognises the secrets column written without a key: the
// JSON list itself. Sealed values start with their version ("v1:").
func clearSecrets(v string) bool { return strings.HasPrefix(v, "[") }

// sealSecrets is the column's value for an endpoint's secrets (a JSON
// list): sealed when the store has a sealer.
func (e *Events) sealSecrets(endpointID, list string) (string, error) {
	if e.s.sealer == nil {
		return list, nil
	}
	sealed, err := e.s.sealer.Seal([]byte(list), EndpointSecretsContext(endpointID))
	if err != nil {
		return "", fmt.Errorf("seal the secrets of endpoint %s: %w", endpointID, err)
	}
	return sealed, nil
}

// openSecrets is the JSON list of an endpoint's secrets from the column.
// Errors never contain a secret.
func (e *Events) openSecrets(endpointID, stored string) (string, error) {
	if clearSecrets(stored) {
		return stored, nil
	}
	if e.s.sealer == nil {
		return "", fmt.Errorf("endpoint %s has sealed signing secrets, but ORDERDESK_ENCRYPTION_KEY is not set", endpointID)
	}
	plain, err := e.s.sealer.Open(stored, EndpointSecretsContext(endpointID))
	if err != nil {
		return "", fmt.Errorf("open the signing secrets of endpoint %s: %w", endpointID, err)
	}
	return string(plain), nil
}

// SealClearSecrets seals, with sealer, every endpoint's secrets still
// stored in clear (written before they were sealed, or without a key),
// and returns how many. A row changed meanwhile is left to the next run.
func (s *Store) SealClearSecrets(ctx context.Context, sealer SecretSealer) (int, error) {
	var rows []struct {
		ID      string
		Secrets string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT id, secrets FROM event_endpoints WHERE substr(secrets, 1, 1) = '['`).Scan(&rows).Error; err != nil {
		return 0, fmt.Errorf("clear endpoint secrets: %w", err)
	}
	done := 0
	for _, r := range rows {
		sealed, err := sealer.Seal([]byte(r.Secrets), EndpointSecretsContext(r.ID))
		if err != nil {
			return done, fmt.Errorf("seal the secrets of endpoint %s: %w", r.ID, err)
		}
		res := s.db.WithContext(ctx).Exec(`UPDATE event_endpoints SET secrets = ? WHERE id = ? AND secrets = ?`, sealed, r.ID, r.Secrets)
		if res.Error != nil {
			return done, fmt.Errorf("seal the secrets of endpoint %s: %w", r.ID, res.Error)
		}
		done += int(res.RowsAffected)
	}
	return done, nil
}
