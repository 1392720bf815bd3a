package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestWriteErrorClientGone: a request whose client went away is recorded
// as 499 and logged at info, not as a 500 failure; a cancellation that is
// not the client's (its context still live) stays a 500 logged as an error.
func TestWriteErrorClientGone(t *testing.T) {
	gin.SetMode(gin.TestMode)
	for _, tc := range []struct {
		name       string
		clientGone bool
		wantStatus int
		wantLevel  string
	}{
		{"client gone", true, statusClientClosedRequest, "INFO"},
		{"client still there", false, http.StatusInternalServerError, "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			ctx, cancel := context.WithCancel(context.Background())
			if tc.clientGone {
				cancel()
			} else {
				defer cancel()
			}
			rec := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(rec)
			c.Request = httptest.NewRequest(http.MethodPost, "/webhooks/shopify", nil).WithContext(ctx)
			writeError(c, log, fmt.Errorf("waiting for the delivery's commit: %w", context.Canceled))
			if rec.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			if !strings.Contains(logs.String(), "level="+tc.wantLevel) {
				t.Errorf("log %q, want level %s", logs.String(), tc.wantLevel)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}
