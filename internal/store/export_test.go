package store

// FailBeforeCommit makes every transaction that writes events fail at its
// last step with f's error (nil f: commit again).
func (s *Store) FailBeforeCommit(f func() error) { s.hooks.beforeCommit = f }

// ExecForTest runs a statement outside the store's API (a test's trigger).
func (s *Store) ExecForTest(q string) error { return s.db.Exec(q).Error }

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }
