package api_test

import (
	"bytes"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	swaggerfiles "github.com/swaggo/files/v2"
)

// The Swagger UI's static files are served byte for byte from the files
// embedded in the binary (nothing copied at start-up), with their types;
// the docs are read-only.
func TestDocsFilesServedFromTheBinary(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{kind: "sqlite"})
	for name, typ := range map[string]string{
		"swagger-ui.css": "text/css; charset=utf-8", "swagger-ui-bundle.js": "application/javascript",
		"swagger-ui-standalone-preset.js": "application/javascript", "favicon-32x32.png": "image/png",
	} {
		want, err := fs.ReadFile(swaggerfiles.FS, name)
		if err != nil || len(want) == 0 {
			t.Fatalf("embedded %s: %d bytes, %v", name, len(want), err)
		}
		r := h.get("/docs/"+name, "")
		if r.Code != http.StatusOK || !bytes.Equal(r.Body.Bytes(), want) || r.Header().Get("Content-Type") != typ {
			t.Errorf("/docs/%s = %d, %d bytes (want %d), type %q", name, r.Code, r.Body.Len(), len(want), r.Header().Get("Content-Type"))
		}
	}
	if r := h.do(http.MethodPut, "/docs/swagger-ui.css", "", strings.NewReader("x")); r.Code < 400 {
		t.Errorf("PUT /docs/swagger-ui.css = %d", r.Code)
	}
}
