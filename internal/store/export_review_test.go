package store

import "context"

// ExecForReview runs a raw statement (review tests only).
func (s *Store) ExecForReview(ctx context.Context, q string, args ...any) error {
	return s.db.WithContext(ctx).Exec(q, args...).Error
}
