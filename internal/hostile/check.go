package hostile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// CheckAnswer holds the rules every answer keeps, whatever was asked:
// never a 500; every error (4xx, 5xx) is application/problem+json with
// type, title, status (the answer's) and code; every success with a body
// is exactly application/json; every answer says nosniff.
func CheckAnswer(status int, header http.Header, body []byte) error {
	if status == http.StatusInternalServerError {
		return fmt.Errorf("500: %s", body)
	}
	if header.Get("X-Content-Type-Options") != "nosniff" {
		return fmt.Errorf("%d without X-Content-Type-Options: nosniff", status)
	}
	if status >= 200 && status < 300 && len(body) > 0 {
		if ct := header.Get("Content-Type"); ct != "application/json" || len(header.Values("Content-Type")) != 1 {
			return fmt.Errorf("%d success answered as %q, not exactly application/json", status, header.Values("Content-Type"))
		}
	}
	if status < 400 {
		return nil
	}
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("%d error answered as %q, not application/problem+json: %.200s", status, ct, body)
	}
	var p struct {
		Type, Title, Code string
		Status            int
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("%d problem is not JSON: %v: %.200s", status, err, body)
	}
	if p.Type == "" || p.Title == "" || p.Code == "" || p.Status != status {
		return fmt.Errorf("%d problem lacks type, title, code or its status: %.200s", status, body)
	}
	if strings.Contains(string(body), "goroutine ") || strings.Contains(string(body), ".go:") {
		return fmt.Errorf("%d problem leaks internals: %.200s", status, body)
	}
	return nil
}
