package textinput

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestProblem(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{
		"bob@ex.io": "", "Zoë": "", "#1001": "", "a b": "",
		"a\x00b": "must not contain control characters", "a\nb": "must not contain control characters",
		"a\u0085b": "must not contain control characters", "\xff\xfe": "must be valid UTF-8",
		strings.Repeat("a", 11): "must be at most 10 bytes",
	} {
		if got := Problem(s, 10); got != want {
			t.Errorf("Problem(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"ok": "ok", "a\x00b": "a?b", "\xff\xfe": "?", "ééé": "éé"} {
		if got := Printable(in, 5); got != want || !utf8.ValidString(got) || Problem(got, 5) != "" {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestASCII(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"k-1": true, "a b": true, "": false, "k\xff": false, "k\x00": false, "é": false, "12345678901": false} {
		if got := ASCII(s, 10); got != want {
			t.Errorf("ASCII(%q) = %t", s, got)
		}
	}
}
