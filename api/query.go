package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/textinput"
)

// maxQueryValue bounds one query value (an email is at most 254 bytes; a
// cursor well under 100).
const maxQueryValue = 256

const queryValuesKey = "orderdesk.query"

// query parses the request's query string strictly against the parameters
// the route takes (see parseQuery); a refused query is a 400 naming each
// parameter at fault. Every route declares its parameters with it, none
// for a route that takes none.
func query(params ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.URL.RawQuery == "" {
			c.Next() // nothing to parse: queryValues is an empty map
			return
		}
		values, errs := parseQuery(c.Request.URL.RawQuery, params)
		if len(errs) > 0 {
			writeProblem(c, queryProblem(errs))
			return
		}
		c.Set(queryValuesKey, values)
		c.Next()
	}
}

// queryValues are the parameters query parsed: each at most once, known,
// and valid text.
func queryValues(c *gin.Context) map[string]string {
	v, _ := c.Get(queryValuesKey)
	m, _ := v.(map[string]string)
	return m
}

func queryProblem(errs []FieldError) Problem {
	p := newProblem(http.StatusBadRequest, "invalid_query", "Invalid query parameter", errs[0].Field+": "+errs[0].Message)
	p.Errors = errs
	return p
}

// anyName, among a route's parameters, lets it take parameters of any
// name, still checked for escapes, repeats and text: Shopify's OAuth
// redirects carry parameters of Shopify's choosing, all under its HMAC.
const anyName = "*"

// parseQuery reads a raw query string. It refuses, naming the parameter, a
// malformed percent-escape, a parameter the route does not take, one given
// twice, an empty or blank value (spaces only: "x=+" is a space), and a
// value that is not valid text (UTF-8, no control characters, at most
// maxQueryValue bytes): a refused parameter is never silently dropped. Empty pairs ("a=1&&b=2") carry nothing and are
// skipped.
func parseQuery(raw string, allowed []string) (map[string]string, []FieldError) {
	values := map[string]string{}
	var errs []FieldError
	bad := func(field, msg string) { errs = append(errs, FieldError{Field: field, Message: msg}) }
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil || textinput.Problem(key, 64) != "" {
			bad(textinput.Printable(rawKey, 64), "is not a valid parameter name (malformed percent-escape or not text)")
			continue
		}
		if key == "" {
			bad(textinput.Printable(pair, 64), "has no parameter name")
			continue
		}
		if strings.Contains(pair, ";") {
			bad(key, "contains ';', which is not a separator: use '&' and escape ';' as %3B")
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		switch {
		case !slices.Contains(allowed, key) && !slices.Contains(allowed, anyName):
			if len(allowed) == 0 {
				bad(key, "is not a parameter: this endpoint takes none")
			} else {
				bad(key, "is not a parameter of this endpoint (it takes "+strings.Join(allowed, ", ")+")")
			}
		case err != nil:
			bad(key, "has a malformed percent-escape")
		case value == "":
			bad(key, "must not be empty")
		case strings.TrimSpace(value) == "":
			bad(key, "must not be blank (a '+' in a query string is a space: send a plus sign as %2B)")
		case textinput.Problem(value, maxQueryValue) != "":
			bad(key, textinput.Problem(value, maxQueryValue))
		default:
			if _, seen := values[key]; seen {
				bad(key, "is given more than once")
				continue
			}
			values[key] = value
		}
	}
	return values, errs
}
