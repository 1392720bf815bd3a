//go:build nodemo

package main

import (
	"strings"
	"testing"
)

// notInBuild are the commands the production build answers with an error.
var notInBuild = map[string]bool{"demo": true, "sandbox": true}

// Review of issue 9: the production build (-tags nodemo) answers demo and
// sandbox with one line saying where they are; its tests did not compile
// (they called the demo's own functions), so nothing checked it.
func TestDemoNotInProductionBuild(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"demo", "sandbox"} {
		err := run(t.Context(), []string{cmd}, map[string]string{}, &strings.Builder{}, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), cmd+" is not in this build") || !strings.Contains(err.Error(), "go run ./cmd/orderdesk "+cmd) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", cmd, err)
		}
	}
}
