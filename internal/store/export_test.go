package store

// FailBeforeCommit makes every transaction that writes events fail at its
// last step with f's error (nil f: commit again).
func (s *Store) FailBeforeCommit(f func() error) { s.hooks.beforeCommit = f }
