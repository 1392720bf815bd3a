package openapiconv_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/orderdesk/orderdesk/internal/openapiconv"
)

// The served document (docs/openapi.json, embedded) is what the converter
// makes of swag's output: a stale one fails here, not only in CI's make docs.
func TestCommittedDocumentIsCurrent(t *testing.T) {
	t.Parallel()
	v2, err := os.ReadFile("../../docs/swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := openapiconv.Convert(v2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("docs/openapi.json is not what docs/swagger.json converts to: run make docs")
	}
}
