package store

import "context"

// Exec runs a statement as a writer that knows nothing of the documents
// stored with orders would (an older release during a rolling deploy).
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	return s.db.WithContext(ctx).Exec(query, args...).Error
}
