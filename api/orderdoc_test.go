package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderdesk/orderdesk/api"
	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// views fetches every order's view and the list's pages (seven a page,
// following the cursors), as the CRM would.
func (h *harness) views(ids []int64) (map[int64][]byte, [][]byte) {
	h.t.Helper()
	one := map[int64][]byte{}
	for _, id := range ids {
		r := h.get(fmt.Sprintf("/orders/%d", id), keyA)
		if r.Code != http.StatusOK {
			h.t.Fatalf("order %d: %d %s", id, r.Code, r.Body)
		}
		one[id] = r.Body.Bytes()
	}
	var pages [][]byte
	path := "/orders?limit=7"
	for {
		r := h.get(path, keyA)
		if r.Code != http.StatusOK {
			h.t.Fatalf("list: %d %s", r.Code, r.Body)
		}
		pages = append(pages, r.Body.Bytes())
		var page api.OrderListResponse
		r.decode(h.t, &page)
		if page.NextCursor == nil {
			return one, pages
		}
		path = "/orders?limit=7&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}

// storedIDs are the shop's orders, each checked to carry a document of
// the current version (so the views served it, not a render).
func (h *harness) storedIDs() []int64 {
	h.t.Helper()
	list, err := h.store.Orders().ListOrderViews(context.Background(), h.shopA.ID, orders.ListFilter{Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	ids := make([]int64, 0, len(list))
	for _, v := range list {
		if v.Doc == nil {
			h.t.Fatalf("order %d is stored without its document", v.ID)
		}
		ids = append(ids, v.ID)
	}
	return ids
}

// renderFromFacts makes every view render the order from its stored facts
// (toOrderResponse encoded by writeJSON, the answer before documents were
// stored): the store serves no document of another version.
func (h *harness) renderFromFacts() {
	r := api.OrderRenderer()
	r.Version = -1
	h.store.RenderOrdersWith(r)
}

// The document stored with each order is, byte for byte, what rendering
// the order from its facts answers: every order of the sandbox's
// catalogue, alone and in the list's pages, on both databases. The
// harness checks every answer against the OpenAPI document.
func TestStoredOrderDocIsTheRender(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			ids := h.storedIDs()
			if len(ids) < 10 {
				t.Fatalf("only %d orders in the catalogue", len(ids))
			}
			stored, storedPages := h.views(ids)
			h.renderFromFacts()
			rendered, renderedPages := h.views(ids)
			for _, id := range ids {
				if !bytes.Equal(stored[id], rendered[id]) {
					t.Errorf("order %d:\nstored   %s\nrendered %s", id, stored[id], rendered[id])
				}
				if !json.Valid(stored[id]) {
					t.Errorf("order %d: not JSON: %s", id, stored[id])
				}
			}
			if len(storedPages) != len(renderedPages) || len(storedPages) < 2 {
				t.Fatalf("%d stored pages, %d rendered", len(storedPages), len(renderedPages))
			}
			for i := range storedPages {
				if !bytes.Equal(storedPages[i], renderedPages[i]) {
					t.Errorf("page %d:\nstored   %s\nrendered %s", i, storedPages[i], renderedPages[i])
				}
			}
		})
	}
}

// A webhook's new state is what the next view answers: the stored document
// followed the write, and is what rendering the new facts answers.
func TestStoredOrderDocFollowsWebhook(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{kind: kind})
			h.backfill()
			path := fmt.Sprintf("/orders/%d", shopifysandbox.OrderPaidUnfulfilled)
			var before api.OrderResponse
			h.get(path, keyA).decode(t, &before)
			if before.Status != "open" {
				t.Fatalf("status before = %s", before.Status)
			}
			o, _ := h.sb.Order(shopifysandbox.OrderPaidUnfulfilled)
			at := now.Add(time.Hour)
			o.UpdatedAt, o.CancelledAt, o.ClosedAt, o.CancelReason = &at, &at, &at, "customer"
			ack(t, h.hook("orders/cancelled", uuid.NewString(), orderJSON(t, o), webhookSecret), "accepted")
			var got []byte
			eventually(t, 5*time.Second, "the cancellation in the view", func() bool {
				var r api.OrderResponse
				res := h.get(path, keyA)
				res.decode(t, &r)
				got = res.Body.Bytes()
				return r.Status == "cancelled"
			})
			var after api.OrderResponse
			if err := json.Unmarshal(got, &after); err != nil {
				t.Fatal(err)
			}
			if after.Labels.Status != "Cancelled" || after.Actions.Cancel.Allowed || !after.SyncedAt.After(before.SyncedAt) {
				t.Errorf("after the webhook: labels %+v cancel %+v synced %s (before %s)", after.Labels, after.Actions.Cancel, after.SyncedAt, before.SyncedAt)
			}
			h.storedIDs()
			h.renderFromFacts()
			if fresh := h.get(path, keyA).Body.Bytes(); !bytes.Equal(got, fresh) {
				t.Errorf("after the webhook:\nstored   %s\nrendered %s", got, fresh)
			}
		})
	}
}
