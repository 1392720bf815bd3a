package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestDecodeJSON checks the strict body decoding every JSON endpoint uses,
// behind the same body limit middleware as the real router.
func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.ReleaseMode)
	s := &server{}
	r := gin.New()
	r.Use(s.requestID, s.limitBody)
	r.POST("/echo", func(c *gin.Context) {
		var body struct {
			Amount string `json:"amount"`
		}
		if decodeJSON(c, &body) {
			c.JSON(http.StatusOK, body)
		}
	})
	tests := []struct {
		name        string
		body        io.Reader
		contentType string
		chunked     bool
		status      int
		code        string
	}{
		{"valid", strings.NewReader(`{"amount":"10.00"}`), "application/json", false, 200, ""},
		{"malformed", strings.NewReader(`{"amount":`), "application/json", false, 400, "invalid_json"},
		{"unknown field", strings.NewReader(`{"amount":"1","amont":"2"}`), "application/json", false, 400, "invalid_json"},
		{"wrong type", strings.NewReader(`{"amount":10}`), "application/json", false, 400, "invalid_json"},
		{"two values", strings.NewReader(`{"amount":"1"}{"amount":"2"}`), "application/json", false, 400, "invalid_json"},
		{"empty", strings.NewReader(``), "application/json", false, 400, "invalid_json"},
		{"not json", strings.NewReader(`amount=1`), "application/x-www-form-urlencoded", false, 415, "unsupported_media_type"},
		{"too large, chunked", strings.NewReader(`{"amount":"` + strings.Repeat("9", MaxBodyBytes) + `"}`), "application/json", true, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/echo", tt.body)
			req.Header.Set("Content-Type", tt.contentType)
			if tt.chunked {
				req.ContentLength = -1 // no length up front: the limit applies while reading
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.code != "" && (!strings.Contains(rec.Body.String(), `"code":"`+tt.code+`"`) || rec.Header().Get("Content-Type") != "application/problem+json") {
				t.Errorf("body = %s (%s), want code %s", rec.Body, rec.Header().Get("Content-Type"), tt.code)
			}
		})
	}
}
