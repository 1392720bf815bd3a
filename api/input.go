package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/textinput"
)

// parseID reads a Shopify id as the API writes it: a positive int64 in
// decimal, without sign or leading zeros, so one id has one spelling.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// pathID parses the :id path parameter, writing a 400 naming it when it is
// not an id.
func pathID(c *gin.Context, what string) (int64, bool) {
	id, ok := parseID(c.Param("id"))
	if !ok {
		p := newProblem(http.StatusBadRequest, "invalid_id", "Invalid "+what+" id", "the "+what+" id must be a positive integer")
		p.Errors = []FieldError{{Field: "id", Message: "must be a positive integer"}}
		writeProblem(c, p)
		return 0, false
	}
	return id, true
}

// orderVisible answers 404 for an order the shop does not have, before an
// action claims its Idempotency-Key or records anything: a request for
// another shop's order, or none, leaves no trace.
func (s *server) orderVisible(c *gin.Context, id int64) bool {
	if _, err := s.Orders.Get(c.Request.Context(), principal(c).Shop, id, false); err != nil {
		writeError(c, s.Log, err)
		return false
	}
	return true
}

const (
	maxAgentLength = 200
	maxKeyLength   = 255
)

// actionHeaders reads the X-Agent-Id and Idempotency-Key an action needs,
// writing a 400 naming the header when one is missing or malformed.
func actionHeaders(c *gin.Context) (agent, key string, ok bool) {
	// A header sent twice is refused, not read as its first value: the
	// audit trail would name one agent of two, the action run under one
	// key of two.
	if len(c.Request.Header.Values("X-Agent-Id")) > 1 {
		writeProblem(c, headerProblem("agent_id_required", "X-Agent-Id", "send X-Agent-Id once, with one value"))
		return "", "", false
	}
	agent = strings.TrimSpace(c.GetHeader("X-Agent-Id"))
	if agent == "" {
		writeProblem(c, headerProblem("agent_id_required", "X-Agent-Id", "send X-Agent-Id: the agent acting, for the audit trail"))
		return "", "", false
	}
	if msg := textinput.Problem(agent, maxAgentLength); msg != "" {
		writeProblem(c, headerProblem("agent_id_required", "X-Agent-Id", "X-Agent-Id "+msg))
		return "", "", false
	}
	key, ok = idempotencyKey(c)
	return agent, key, ok
}

// idempotencyKey reads the request's one Idempotency-Key, or answers why
// it cannot.
func idempotencyKey(c *gin.Context) (string, bool) {
	if len(c.Request.Header.Values("Idempotency-Key")) > 1 {
		writeProblem(c, headerProblem("idempotency_key_required", "Idempotency-Key", "send Idempotency-Key once, with one value"))
		return "", false
	}
	key := c.GetHeader("Idempotency-Key")
	if !validKey(key) {
		writeProblem(c, headerProblem("idempotency_key_required", "Idempotency-Key", "send an Idempotency-Key of 1 to 255 printable ASCII characters, unique per intended action"))
		return "", false
	}
	return key, true
}

// requestHash is what a key's request is compared by: the method, the
// path and the body in canonical form (raw: the decoded body marshalled
// again, so whitespace and key order do not matter).
func requestHash(c *gin.Context, raw []byte) string {
	sum := sha256.Sum256([]byte(c.Request.Method + " " + c.Request.URL.Path + "\n" + string(raw)))
	return hex.EncodeToString(sum[:])
}

// validKey accepts 1 to 255 printable ASCII characters, not all spaces.
func validKey(k string) bool {
	return strings.TrimSpace(k) != "" && textinput.ASCII(k, maxKeyLength)
}

func headerProblem(code, header, detail string) Problem {
	p := newProblem(http.StatusBadRequest, code, "Missing or invalid "+header+" header", detail)
	p.Errors = []FieldError{{Field: header, Message: detail}}
	return p
}

// parseAmount reads an optional amount in the one money syntax; its
// decimals are checked against the order's currency in the domain.
func parseAmount(field string, s *string) (*decimal.Decimal, error) {
	if s == nil {
		return nil, nil
	}
	d, err := orders.ParseAmount(field, *s)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// returnState reads the refund's optional return: absent is no return
// state; "" is not one of the two values and is refused.
func returnState(s *string) (orders.ReturnState, error) {
	switch {
	case s == nil:
		return orders.ReturnNone, nil
	case *s == string(orders.ReturnReceived), *s == string(orders.ReturnNotRequired):
		return orders.ReturnState(*s), nil
	}
	return "", &orders.ValidationError{Code: "invalid_return", Fields: []orders.FieldError{{Field: "return", Message: "must be received or not_required"}}}
}
