package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// decodeJSON reads a JSON body into v strictly: unknown fields, trailing
// data and malformed JSON are 400, bodies over 1 MiB are 413. It writes the
// problem itself and returns false when the body is refused.
func decodeJSON(c *gin.Context, v any) bool {
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		writeProblem(c, newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type", "send Content-Type: application/json"))
		return false
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(c, newProblem(http.StatusRequestEntityTooLarge, "body_too_large", "Request body too large", "the body must be at most 1 MiB"))
			return false
		}
		writeProblem(c, newProblem(http.StatusBadRequest, "invalid_body", "Invalid request body", "the body could not be read"))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(c, newProblem(http.StatusBadRequest, "invalid_json", "Malformed JSON", jsonErrorDetail(err)))
		return false
	}
	if dec.More() {
		writeProblem(c, newProblem(http.StatusBadRequest, "invalid_json", "Malformed JSON", "the body holds more than one JSON value"))
		return false
	}
	return true
}

// jsonErrorDetail explains a decoding error without echoing Go type names.
func jsonErrorDetail(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type (got %s)", typ.Field, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return "the body is not valid JSON"
	}
}
