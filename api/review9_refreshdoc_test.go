package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// Review of issue 9: TestStoredOrderDocIsTheRender covers the orders a
// backfill writes (bulk JSONL). The orders written from Shopify's GraphQL
// reads (a view's ?refresh=true, a contact's list read) are converted by
// another path: their stored documents too are what their facts render.
func TestStoredOrderDocAfterGraphQLReads(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			ids := h.storedIDs()
			for _, id := range ids {
				if r := h.get(fmt.Sprintf("/orders/%d?refresh=true", id), keyA); r.Code != http.StatusOK {
					t.Fatalf("refresh %d: %d %s", id, r.Code, r.Body)
				}
			}
			// A contact's first list: their orders read a page at a time.
			if r := h.get(fmt.Sprintf("/orders?customer_id=%d&limit=100", shopifysandbox.Bob.Id), keyA); r.Code != http.StatusOK {
				t.Fatalf("list: %d %s", r.Code, r.Body)
			}
			ids = h.storedIDs()
			stored, storedPages := h.views(ids)
			h.renderFromFacts()
			rendered, renderedPages := h.views(ids)
			for _, id := range ids {
				if !bytes.Equal(stored[id], rendered[id]) {
					t.Errorf("order %d:\nstored   %s\nrendered %s", id, stored[id], rendered[id])
				}
			}
			for i := range storedPages {
				if i < len(renderedPages) && !bytes.Equal(storedPages[i], renderedPages[i]) {
					t.Errorf("page %d differs", i)
				}
			}
		})
	}
}
