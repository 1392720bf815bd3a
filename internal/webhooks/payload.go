package webhooks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/orderdesk/orderdesk/internal/textinput"
)

// maxPayloadDepth bounds a payload's nesting; Shopify's REST-shaped
// payloads are a handful of levels deep.
const maxPayloadDepth = 32

// checkPayload says why a signed body cannot be applied for its topic, or
// "" when it can. A payload must be one JSON object of valid UTF-8 without
// NUL (Postgres's jsonb, which holds the job's arguments, refuses
// \u0000), nested at most maxPayloadDepth deep, naming what its topic
// needs: the order, the customer, or the shop being redacted (named in
// the body for the compliance topics that erase data).
func checkPayload(topic, shopDomain string, body []byte) string {
	if reason := checkJSONObject(body); reason != "" {
		return reason
	}
	need := func(path ...string) string {
		if !positiveInt(member(body, path...)) {
			return strings.Join(path, ".") + " is not a positive integer"
		}
		return ""
	}
	switch topic {
	case "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled":
		return need("id")
	case "orders/edited":
		return need("order_edit", "order_id")
	case "refunds/create", "fulfillments/create", "fulfillments/update", "fulfillment_events/create":
		return need("order_id")
	case "customers/redact":
		if reason := need("customer", "id"); reason != "" {
			return reason
		}
		return namesShop(body, shopDomain)
	case "shop/redact":
		return namesShop(body, shopDomain)
	}
	return ""
}

// namesShop: a compliance request acts on the routed shop only when its
// signed body names that shop (X-Shopify-Shop-Domain is not signed).
func namesShop(body []byte, shopDomain string) string {
	var domain string
	if json.Unmarshal(member(body, "shop_domain"), &domain) != nil || !strings.EqualFold(domain, shopDomain) {
		return "shop_domain does not name the shop of X-Shopify-Shop-Domain"
	}
	return ""
}

// member is the value at path in a JSON object, nil when absent.
func member(obj jsontext.Value, path ...string) jsontext.Value {
	for _, name := range path {
		var m map[string]jsontext.Value
		if json.Unmarshal(obj, &m) != nil {
			return nil
		}
		obj = m[name]
	}
	return obj
}

var positiveIntRe = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// positiveInt reports a JSON number that is a positive int64.
func positiveInt(v jsontext.Value) bool {
	if !positiveIntRe.Match(v) {
		return false
	}
	var n int64
	return json.Unmarshal(v, &n) == nil
}

// checkJSONObject checks the payload's form token by token.
func checkJSONObject(body []byte) string {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	tok, err := dec.ReadToken()
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case err != nil:
		return syntaxReason(err)
	case tok.Kind() != '{':
		return "the body is not a JSON object"
	}
	for dec.StackDepth() > 0 {
		tok, err := dec.ReadToken()
		if err != nil {
			return syntaxReason(err)
		}
		if dec.StackDepth() > maxPayloadDepth {
			return fmt.Sprintf("the body is nested deeper than %d levels", maxPayloadDepth)
		}
		if tok.Kind() == '"' && strings.ContainsRune(tok.String(), 0) {
			return "a string holds a NUL character at " + textinput.Printable(string(dec.StackPointer()), 64)
		}
		if tok.Kind() == '0' && !storableNumber(tok.String()) {
			return "a number is out of range at " + textinput.Printable(string(dec.StackPointer()), 64)
		}
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return "the body holds more than one JSON value"
	}
	return ""
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
func storableNumber(num string) bool {
	if len(num) > maxNumberLength {
		return false
	}
	if i := strings.IndexAny(num, "eE"); i >= 0 {
		exp, err := strconv.Atoi(num[i+1:])
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
