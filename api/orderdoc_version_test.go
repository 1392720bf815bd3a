package api_test

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/orderdesk/orderdesk/api"
)

// shape writes a type's JSON shape: its fields' names, types and JSON tags,
// nested types included.
func shape(b *strings.Builder, t reflect.Type, seen map[reflect.Type]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		b.WriteString(t.Kind().String() + " ")
		shape(b, t.Elem(), seen)
		return
	case reflect.Struct:
		if seen[t] || t.PkgPath() != reflect.TypeFor[api.OrderResponse]().PkgPath() {
			b.WriteString(t.String())
			return
		}
		seen[t] = true
		b.WriteString(t.Name() + "{")
		for f := range t.Fields() {
			b.WriteString(f.Name + " " + f.Tag.Get("json") + " ")
			shape(b, f.Type, seen)
			b.WriteString(";")
		}
		b.WriteString("}")
	default:
		b.WriteString(t.String())
	}
}

// Stored order documents are served only while their version is the
// renderer's: a change to the answer's shape must come with a new version,
// or views would send documents of the old shape. (A change of words or
// formats inside toOrderResponse or orders.Build needs one too; this test
// cannot see those.)
func TestOrderDocVersion(t *testing.T) {
	t.Parallel()
	fingerprints := map[int]string{
		1: "aff43f2d149a2879",
	}
	var b strings.Builder
	shape(&b, reflect.TypeFor[api.OrderResponse](), map[reflect.Type]bool{})
	got := fmt.Sprintf("%x", sha256.Sum256([]byte(b.String())))[:16]
	v := api.OrderRenderer().Version
	if want, ok := fingerprints[v]; !ok || want != got {
		t.Fatalf("OrderResponse's shape is %s, version %d records %q: a new shape needs a new orderDocVersion (and its fingerprint here)", got, v, want)
	}
}
