package orders

import (
	"errors"
	"testing"
	"time"
)

// FuzzDecodeCursor: a cursor is refused as invalid_cursor, or it is one
// the API could have handed out: it encodes back to the same string.
func FuzzDecodeCursor(f *testing.F) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 123, time.UTC)
	for _, s := range []string{
		Cursor{CreatedAt: at, ID: 450789469}.Encode(), TimelineCursor{At: at, ID: "order:1:placed"}.Encode(),
		encodeCursor(at, "\xff"), encodeCursor(at, "a\x00b"), encodeCursor(at, "007"), "garbage", "", "=",
		encodeCursor(at.In(time.FixedZone("x", 3600)), "1"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		refused := func(err error) bool {
			var verr *ValidationError
			if err != nil && (!errors.As(err, &verr) || verr.Code != "invalid_cursor") {
				t.Fatalf("%q: err = %v, want invalid_cursor", s, err)
			}
			return err != nil
		}
		if c, err := DecodeCursor(s); !refused(err) && c.Encode() != s {
			t.Fatalf("order cursor %q re-encodes as %q", s, c.Encode())
		}
		if c, err := DecodeTimelineCursor(s); !refused(err) && c.Encode() != s {
			t.Fatalf("timeline cursor %q re-encodes as %q", s, c.Encode())
		}
	})
}
