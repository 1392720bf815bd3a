package webhooks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/orderdesk/orderdesk/internal/textinput"
)

// maxPayloadDepth bounds a payload's nesting; Shopify's REST-shaped
// payloads are a handful of levels deep.
const maxPayloadDepth = 32

// payloadChecker checks payloads, reusing its JSON decoders (and their
// buffers) from one delivery to the next.
type payloadChecker struct {
	decoders sync.Pool
}

// check says why a signed body cannot be applied for its topic, or
// "" when it can. A payload must be one JSON object of valid UTF-8 without
// NUL (Postgres's jsonb, which holds the job's arguments, refuses
// \u0000), nested at most maxPayloadDepth deep, naming what its topic
// needs: the order, the customer, or the shop being redacted (named in
// the body for the compliance topics that erase data). The body is read
// once: the members a topic needs are picked up while its form is checked.
func (c *payloadChecker) check(topic, shopDomain string, body []byte) string {
	var need []memberPath
	switch topic {
	case "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled":
		need = []memberPath{{"id"}}
	case "orders/edited":
		need = []memberPath{{"order_edit", "order_id"}}
	case "refunds/create", "fulfillments/create", "fulfillments/update", "fulfillment_events/create":
		need = []memberPath{{"order_id"}}
	case "customers/redact":
		need = []memberPath{{"customer", "id"}, {"shop_domain"}}
	case "shop/redact":
		need = []memberPath{{"shop_domain"}}
	}
	found, reason := c.scan(body, need)
	if reason != "" {
		return reason
	}
	for i, path := range need {
		if path == (memberPath{"shop_domain"}) {
			// A compliance request acts on the routed shop only when its
			// signed body names that shop (X-Shopify-Shop-Domain is not
			// signed).
			if found[i].kind != '"' || !strings.EqualFold(found[i].text, shopDomain) {
				return "shop_domain does not name the shop of X-Shopify-Shop-Domain"
			}
			continue
		}
		if found[i].kind != '0' || !positiveInt(found[i].text) {
			return path.String() + " is not a positive integer"
		}
	}
	return ""
}

// memberPath names a member of the payload's object, or of an object
// member of it ({"customer", "id"}).
type memberPath [2]string

func (p memberPath) String() string {
	if p[1] == "" {
		return p[0]
	}
	return p[0] + "." + p[1]
}

// scalar is a scalar member's kind and text: a number's literal, a
// string's unescaped value.
type scalar struct {
	kind jsontext.Kind
	text string
}

// positiveInt reports a JSON number literal that is a positive int64.
func positiveInt(num string) bool {
	if num == "" || num[0] < '1' || num[0] > '9' || len(num) > 19 {
		return false
	}
	for i := 1; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return false
		}
	}
	_, err := strconv.ParseInt(num, 10, 64)
	return err == nil
}

// nulEscape is how a NUL appears in valid JSON (a raw control character
// is invalid): a body without it has no NUL in any string.
var nulEscape = []byte(`\u0000`)

// scan checks the payload's form token by token, and returns the
// scalar values at paths (a zero scalar where there is none).
func (c *payloadChecker) scan(body []byte, paths []memberPath) ([]scalar, string) {
	found := make([]scalar, len(paths))
	mayHoldNUL := bytes.Contains(body, nulEscape)
	dec, _ := c.decoders.Get().(*jsontext.Decoder)
	if dec == nil {
		dec = jsontext.NewDecoder(bytes.NewReader(body))
	} else {
		dec.Reset(bytes.NewReader(body))
	}
	defer c.decoders.Put(dec)
	tok, err := dec.ReadToken()
	switch {
	case errors.Is(err, io.EOF):
		return nil, "the body is empty"
	case err != nil:
		return nil, syntaxReason(err)
	case tok.Kind() != '{':
		return nil, "the body is not a JSON object"
	}
	// names[d] is the last member name read in the object at depth d,
	// kept for the two levels paths reach. Scalars are read as raw values
	// (no copy), unquoted only when needed.
	var names [3]string
	for dec.StackDepth() > 0 {
		kind := dec.PeekKind()
		if kind == '{' || kind == '[' || kind == '}' || kind == ']' || kind == 0 {
			if _, err := dec.ReadToken(); err != nil {
				return nil, syntaxReason(err)
			}
			if dec.StackDepth() > maxPayloadDepth {
				return nil, fmt.Sprintf("the body is nested deeper than %d levels", maxPayloadDepth)
			}
			continue
		}
		raw, err := dec.ReadValue()
		if err != nil {
			return nil, syntaxReason(err)
		}
		switch kind {
		case '"':
			if mayHoldNUL && bytes.Contains(raw, nulEscape) && strings.ContainsRune(unquote(raw), 0) {
				return nil, "a string holds a NUL character at " + textinput.Printable(string(dec.StackPointer()), 64)
			}
		case '0':
			if !storableNumber(raw) {
				return nil, "a number is out of range at " + textinput.Printable(string(dec.StackPointer()), 64)
			}
		}
		depth := dec.StackDepth()
		if depth > 2 || len(paths) == 0 {
			continue
		}
		k, n := dec.StackIndex(depth)
		switch {
		case k != '{':
			continue // an array's element
		case n%2 == 1: // a member's name
			names[depth] = ""
			if wanted(paths, depth, raw) {
				names[depth] = unquote(raw)
			}
			continue
		}
		at := memberPath{names[1]}
		if depth == 2 {
			at[1] = names[2]
		}
		for i, p := range paths {
			if p == at && at[depth-1] != "" {
				found[i] = scalar{kind: kind, text: string(raw)}
				if kind == '"' {
					found[i].text = unquote(raw)
				}
			}
		}
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, "the body holds more than one JSON value"
	}
	return found, ""
}

// wanted reports whether a member name (raw, quoted) at depth is one
// the paths name at that depth.
func wanted(paths []memberPath, depth int, raw jsontext.Value) bool {
	if bytes.IndexByte(raw, '\\') >= 0 {
		return true // escaped: compared once unquoted
	}
	name := raw[1 : len(raw)-1]
	for _, p := range paths {
		if p[depth-1] == string(name) {
			return true
		}
	}
	return false
}

// unquote is a valid JSON string's value.
func unquote(raw jsontext.Value) string {
	b, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return ""
	}
	return string(b)
}

// maxNumberLength and maxExponent bound a payload's numbers far beyond
// Shopify's (ids of at most 19 digits, amounts, coordinates) and far
// within what Postgres's jsonb stores: it refuses 1e1000000 and a
// number of more than 131072 digits, which would fail the job's insert
// on every retry.
const (
	maxNumberLength = 64
	maxExponent     = 1000
)

// storableNumber reports whether a JSON number is within those bounds.
func storableNumber(num []byte) bool {
	if len(num) > maxNumberLength {
		return false
	}
	if i := bytes.IndexAny(num, "eE"); i >= 0 {
		exp, err := strconv.Atoi(string(num[i+1:]))
		return err == nil && exp >= -maxExponent && exp <= maxExponent
	}
	return true
}

func syntaxReason(err error) string {
	var syn *jsontext.SyntacticError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is truncated JSON"
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return "a member appears twice at " + textinput.Printable(string(syn.JSONPointer), 64)
	case errors.As(err, &syn) && (strings.Contains(syn.Err.Error(), "UTF-8") || strings.Contains(syn.Err.Error(), "surrogate")):
		return "the body is not valid UTF-8"
	}
	return "the body is not valid JSON"
}
