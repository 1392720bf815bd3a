package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"testing"
)

// sync sets GOGC for its run only: an in-process caller (a test, an
// embedding program) gets its own setting back, whether the sync ends
// well or not. Not parallel: the setting is the process'.
func TestSyncRestoresGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(123)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	var out, errOut bytes.Buffer
	// No shop configured: the sync fails after setting GOGC, opening the core.
	if err := run(context.Background(), []string{"sync"}, map[string]string{}, &out, &errOut); err == nil {
		t.Fatal("sync without a shop succeeded")
	}
	if got := debug.SetGCPercent(123); got != 123 {
		t.Errorf("GOGC after sync = %d, want the caller's 123", got)
	}
}
