// Package textinput checks text that arrives from outside (query values,
// headers, webhook payloads) before it reaches a database or a log:
// Postgres refuses NUL in text and jsonb, and invalid UTF-8 in text.
package textinput

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Problem says what is wrong with s as a text input, or "" when it is
// fine: at most max bytes of valid UTF-8 without control characters (NUL
// included).
func Problem(s string, max int) string {
	switch {
	case len(s) > max:
		return "must be at most " + strconv.Itoa(max) + " bytes"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// Printable makes any string fit to be quoted back or recorded: invalid
// UTF-8 and control characters become '?', and it is cut to at most max
// bytes on a character boundary.
func Printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// ASCII reports whether s is 1 to max printable ASCII characters (space
// to tilde), the form of Shopify's header values and of keys.
func ASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
