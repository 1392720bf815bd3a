package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// maxBodyDepth bounds the nesting of a request body. The deepest body
// orderdesk takes (a refund's line items) is three levels deep.
const maxBodyDepth = 8

// bodyError is why a request body was refused, naming the field at fault
// ("" for the body as a whole).
type bodyError struct {
	status  int
	code    string
	field   string
	message string
}

func (e *bodyError) problem() Problem {
	title := "Invalid request body"
	if e.code == "invalid_json" {
		title = "Malformed JSON"
	}
	detail := e.message
	if e.field != "" {
		detail = e.field + ": " + e.message
	}
	p := newProblem(e.status, e.code, title, detail)
	if e.field != "" {
		p.Errors = []FieldError{{Field: e.field, Message: e.message}}
	}
	return p
}

// decodeJSON reads a JSON body into v strictly (see decodeBody). It writes
// the problem itself and returns false when the body is refused.
func decodeJSON(c *gin.Context, v any) bool {
	if ct := c.Request.Header.Values("Content-Type"); len(ct) > 1 || len(ct) == 1 && ct[0] != "" && !isJSONMediaType(ct[0]) {
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
	if berr := decodeBody(body, v); berr != nil {
		writeProblem(c, berr.problem())
		return false
	}
	return true
}

// isJSONMediaType accepts application/json, with at most a UTF-8 charset.
func isJSONMediaType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// decodeBody is the one strict decoding of every request body: one JSON
// object, member names matched exactly (case-sensitive), duplicate and
// unknown members refused, nesting bounded, strings valid UTF-8 without NUL
// (Postgres refuses \u0000 in text and jsonb). Form and types are 400;
// a NUL in a text is the field's value at fault, 422.
func decodeBody(body []byte, v any) *bodyError {
	if berr := scanBody(body); berr != nil {
		return berr
	}
	err := json.Unmarshal(body, v, json.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		field := fieldPath(sem.JSONPointer)
		if errors.Is(sem.Err, json.ErrUnknownName) {
			return &bodyError{http.StatusBadRequest, "unknown_field", field, "is not a field of this request"}
		}
		msg := "has the wrong type"
		if sem.JSONKind != jsontext.KindInvalid {
			msg += " (got " + kindName(sem.JSONKind) + ")"
		}
		if strings.Contains(fmt.Sprint(sem.Err), "out of range") {
			msg = "is out of range"
		}
		return &bodyError{http.StatusBadRequest, "invalid_type", field, msg}
	}
	return syntaxError(err)
}

// scanBody checks the body's form token by token before it is decoded.
func scanBody(body []byte) *bodyError {
	if len(bytes.TrimSpace(body)) == 0 {
		return &bodyError{http.StatusBadRequest, "invalid_json", "", "the body is empty; send a JSON object"}
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	tok, err := dec.ReadToken()
	if err != nil {
		return syntaxError(err)
	}
	if tok.Kind() != '{' {
		return &bodyError{http.StatusBadRequest, "invalid_json", "", "the body must be a JSON object"}
	}
	for dec.StackDepth() > 0 {
		tok, err := dec.ReadToken()
		if err != nil {
			return syntaxError(err)
		}
		if dec.StackDepth() > maxBodyDepth {
			return &bodyError{http.StatusBadRequest, "invalid_json", fieldPath(dec.StackPointer().Parent()), fmt.Sprintf("is nested deeper than %d levels", maxBodyDepth)}
		}
		if tok.Kind() == '"' && strings.ContainsRune(tok.String(), 0) {
			return &bodyError{http.StatusUnprocessableEntity, "invalid_text", fieldPath(dec.StackPointer()), "must not contain NUL characters"}
		}
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return &bodyError{http.StatusBadRequest, "invalid_json", "", "the body holds more than one JSON value"}
	}
	return nil
}

// syntaxError explains a malformed body without echoing Go's wording.
func syntaxError(err error) *bodyError {
	var syn *jsontext.SyntacticError
	if !errors.As(err, &syn) {
		return &bodyError{http.StatusBadRequest, "invalid_json", "", "the body is not valid JSON"}
	}
	field := fieldPath(syn.JSONPointer)
	switch {
	case errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return &bodyError{http.StatusBadRequest, "invalid_json", field, "appears more than once"}
	case errors.Is(syn.Err, io.ErrUnexpectedEOF):
		return &bodyError{http.StatusBadRequest, "invalid_json", "", "the body ends before its JSON value does"}
	case strings.Contains(syn.Err.Error(), "UTF-8"), strings.Contains(syn.Err.Error(), "surrogate"):
		return &bodyError{http.StatusBadRequest, "invalid_json", field, "is not valid UTF-8"}
	}
	return &bodyError{http.StatusBadRequest, "invalid_json", field, "invalid JSON at byte " + strconv.FormatInt(syn.ByteOffset, 10)}
}

// fieldPath writes a JSON pointer the way problem details name fields:
// /line_items/0/quantity is line_items[0].quantity.
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.ParseUint(tok, 10, 31); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "another type"
}
