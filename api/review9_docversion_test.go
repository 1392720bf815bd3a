package api_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/orderdesk/orderdesk/api"
)

// Review of issue 9: TestOrderDocVersion sees the answer's shape only. A
// change of what the documents say for the same facts (a label's words, a
// money or date format, an eligibility rule in orders.Build) left
// orderDocVersion as it was, and views kept sending the documents stored
// before the change, which differ from what the facts now render, until
// each order was written again. This fingerprints the documents of the
// sandbox's whole catalogue (seeded at the harness's fixed clock).
//
// When it fails: if the documents changed, bump orderDocVersion and record
// the new fingerprint under it (start-up renders the stored orders again,
// store.RenderMissingDocs); if only the sandbox's catalogue changed,
// record the new fingerprint under the current version.
func TestOrderDocContentVersion(t *testing.T) {
	t.Parallel()
	fingerprints := map[int]string{
		1: "b61610ff8431b1a8",
	}
	h := newHarness(t, harnessOpts{kind: "sqlite"})
	h.backfill()
	ids := h.storedIDs()
	render := api.OrderRenderer()
	sum := sha256.New()
	for _, id := range ids {
		o, err := h.store.Orders().GetOrder(context.Background(), h.shopA.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := render.Render(o)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(sum, "%d:%s\n", id, doc)
	}
	got := fmt.Sprintf("%x", sum.Sum(nil))[:16]
	if want := fingerprints[render.Version]; want != got {
		t.Fatalf("the documents of the sandbox's %d orders fingerprint %s, version %d records %q: documents that say something new need a new orderDocVersion (see above)", len(ids), got, render.Version, want)
	}
}
