package store

import (
	"context"
	"log/slog"
)

// MigrateToForTest migrates the database up or down to version v.
func (s *Store) MigrateToForTest(ctx context.Context, v int64, down bool) error {
	p, err := s.migrator(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if down {
		_, err = p.DownTo(ctx, v)
	} else {
		_, err = p.UpTo(ctx, v)
	}
	return err
}

// QueryRowForTest scans one row of q into dest.
func (s *Store) QueryRowForTest(q string, args []any, dest ...any) error {
	return s.db.Raw(q, args...).Row().Scan(dest...)
}
