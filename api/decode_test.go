package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
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
		var body RefundBody
		if decodeJSON(c, &body) {
			writeJSON(c, http.StatusOK, body)
		}
	})
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	tests := []struct {
		name        string
		body        string
		contentType string
		chunked     bool
		status      int
		code        string
		field       string
	}{
		{"valid", `{"amount":"10.00"}`, "application/json", false, 200, "", ""},
		{"valid with charset", `{"amount":"10.00"}`, "application/json; charset=UTF-8", false, 200, "", ""},
		{"no content type", `{"amount":"10.00"}`, "", false, 200, "", ""},
		{"malformed", `{"amount":`, "application/json", false, 400, "invalid_json", ""},
		{"unknown field", `{"amount":"1","amont":"2"}`, "application/json", false, 400, "unknown_field", "amont"},
		{"member names are case-sensitive", `{"amount":"0.01","AMOUNT":"0.02","return":"not_required"}`, "application/json", false, 400, "unknown_field", "AMOUNT"},
		{"duplicate member", `{"amount":"0.01","amount":"0.02"}`, "application/json", false, 400, "invalid_json", "amount"},
		{"duplicate member in a line item", `{"line_items":[{"line_item_id":1,"quantity":1,"quantity":2}]}`, "application/json", false, 400, "invalid_json", "line_items[0].quantity"},
		{"unknown member in a line item", `{"line_items":[{"line_item_id":1,"qty":1}]}`, "application/json", false, 400, "unknown_field", "line_items[0].qty"},
		{"wrong type", `{"amount":10}`, "application/json", false, 400, "invalid_type", "amount"},
		{"number out of range", `{"line_items":[{"line_item_id":99999999999999999999,"quantity":1}]}`, "application/json", false, 400, "invalid_type", "line_items[0].line_item_id"},
		{"exponent for an integer", `{"line_items":[{"line_item_id":1e3,"quantity":1}]}`, "application/json", false, 400, "invalid_type", "line_items[0].line_item_id"},
		{"string for a boolean", `{"notify_customer":"true"}`, "application/json", false, 400, "invalid_type", "notify_customer"},
		{"NUL in a text", `{"amount":"1","note":"a\u0000b"}`, "application/json", false, 422, "invalid_text", "note"},
		{"invalid UTF-8", "{\"note\":\"\xff\xfe\"}", "application/json", false, 400, "invalid_json", "note"},
		{"lone surrogate", `{"note":"\ud800"}`, "application/json", false, 400, "invalid_json", "note"},
		{"too deep", `{"shipping":` + deep + `}`, "application/json", false, 400, "invalid_json", ""},
		{"array", `[{"amount":"1"}]`, "application/json", false, 400, "invalid_json", ""},
		{"null", `null`, "application/json", false, 400, "invalid_json", ""},
		{"two values", `{"amount":"1"}{"amount":"2"}`, "application/json", false, 400, "invalid_json", ""},
		{"empty", ``, "application/json", false, 400, "invalid_json", ""},
		{"whitespace", "  \n", "application/json", false, 400, "invalid_json", ""},
		{"not json", `amount=1`, "application/x-www-form-urlencoded", false, 415, "unsupported_media_type", ""},
		{"json with another charset", `{"amount":"1"}`, "application/json; charset=latin1", false, 415, "unsupported_media_type", ""},
		{"malformed content type", `{"amount":"1"}`, "application/json; =", false, 415, "unsupported_media_type", ""},
		{"too large, chunked", `{"amount":"` + strings.Repeat("9", MaxBodyBytes) + `"}`, "application/json", true, 413, "body_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.chunked {
				req.ContentLength = -1 // no length up front: the limit applies while reading
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.code == "" {
				return
			}
			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("body = %s (%s): %v", rec.Body, rec.Header().Get("Content-Type"), err)
			}
			if p.Code != tt.code {
				t.Errorf("code = %s, want %s: %s", p.Code, tt.code, rec.Body)
			}
			if tt.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors = %+v, want the field %s", p.Errors, tt.field)
			}
		})
	}
}

// FuzzDecodeBody: any body is refused with a 4xx naming no Go type, or
// decodes to a value that encodes and decodes back to itself.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"amount":"10.00"}`, `{"amount":"0.01","AMOUNT":"0.02"}`, `{"amount":"1","amount":"2"}`,
		`{"line_items":[{"line_item_id":1,"quantity":2,"restock":true}],"shipping":{"full":true},"return":"received"}`,
		`{"note":"a\u0000b"}`, "{\"note\":\"\xff\"}", `{"shipping":{"amount":"1e2"}}`, `[]`, `{`, `{"a":{"b":{"c":{}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{new(RefundBody), new(CancelBody)} {
			berr := decodeBody(body, v)
			if berr != nil {
				if berr.status < 400 || berr.status > 499 || berr.code == "" {
					t.Fatalf("refusal %+v is not a 4xx with a code", berr)
				}
				if strings.Contains(berr.message, "Go ") || strings.Contains(berr.message, "api.") {
					t.Fatalf("refusal names Go types: %q", berr.message)
				}
				continue
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("accepted value does not encode: %v", err)
			}
			back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
			if berr := decodeBody(again, back); berr != nil {
				t.Fatalf("re-encoded body %s is refused: %+v", again, berr)
			}
			if !reflect.DeepEqual(v, back) {
				t.Fatalf("value changed across a re-encoding: %+v != %+v", v, back)
			}
		}
	})
}

func TestIsJSONMediaType(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON": true, "application/json;charset=utf-8": true,
		"application/json; charset=\"UTF-8\"": true, "text/json": false, "application/json; charset=utf-16": false,
		"application/json; boundary=x": false, "application/problem+json": false, "": false,
	} {
		if got := isJSONMediaType(ct); got != want {
			t.Errorf("isJSONMediaType(%q) = %t", ct, got)
		}
	}
}
