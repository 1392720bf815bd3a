package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// TestReview13ForgottenShopIsNotATakeover: SaveSyncRun answers
// tenant.ErrNotFound for a forgotten shop (shop/redact), but a run's other
// writes of its progress (its end, a resume's claim, a batch with no
// orders: the last page of a paged run, or a bulk run's empty tail) answer
// ErrSyncRunMoved, which `orderdesk sync` reports as "another sync of this
// shop has taken over the backfill ... let that one finish". No other
// sync exists: the shop is gone.
// Fixed: a conditional write to the progress that changes nothing checks
// whether the shop is gone (tenant.ErrNotFound) before calling it a takeover.
func TestReview13ForgottenShopIsNotATakeover(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh := shop(t, s, "r13-forgot.myshopify.com")
		st := s.Orders()
		run := orders.SyncRun{ID: "r13", StartedAt: base, Checkpoint: "cp0"}
		if err := st.SaveSyncRun(ctx, sh.ID, run); err != nil {
			t.Fatal(err)
		}
		stored, _, err := st.SyncRun(ctx, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Tenants().MarkUninstalled(ctx, sh.ID, time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.ForgetShop(ctx, sh.ID); err != nil || !ok {
			t.Fatalf("forget: %v %v", ok, err)
		}
		empty, err := st.PrepareSyncBatch(ctx, sh.ID, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		next := run
		next.Pages, next.Checkpoint = 1, ""
		writes := map[string]error{
			"SaveSyncRun":              st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{ID: "r13b", StartedAt: base}),
			"FinishSyncRun":            st.FinishSyncRun(ctx, sh.ID, run),
			"ClaimSyncRun":             st.ClaimSyncRun(ctx, sh.ID, stored, "r13c"),
			"SaveSyncBatch (no order)": st.SaveSyncBatch(ctx, sh.ID, empty, next),
		}
		for name, err := range writes {
			if !errors.Is(err, tenant.ErrNotFound) {
				t.Errorf("%s for a forgotten shop: %v; want tenant.ErrNotFound (as SaveSyncRun answers), not a takeover (moved: %v)",
					name, err, errors.Is(err, orders.ErrSyncRunMoved))
			}
		}
	})
}

// TestReview13CheckSaveSyncRunRaces (passes; held up): a run's start
// (SaveSyncRun, now a transaction holding the shop) racing another run's
// batch and a shop/redact: no deadlock or key error, a batch either lands
// before the start or is refused as moved, the start either lands or is
// tenant.ErrNotFound, and nothing of the shop is left after the redact.
func TestReview13CheckSaveSyncRunRaces(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		st := s.Orders()
		for round := range 12 {
			sh := shop(t, s, fmt.Sprintf("r13-race%d.myshopify.com", round))
			a := orders.SyncRun{ID: "a", StartedAt: base, Checkpoint: "a0"}
			if err := st.SaveSyncRun(ctx, sh.ID, a); err != nil {
				t.Fatal(err)
			}
			a.Pages, a.Orders, a.Checkpoint = 1, 1, "a1"
			bt, err := st.PrepareSyncBatch(ctx, sh.ID, []orders.Order{order(int64(round*10+1), 7, base, "paid")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			forget := round%2 == 1
			if forget {
				if _, err := s.Tenants().MarkUninstalled(ctx, sh.ID, time.Now(), time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			var batchErr, startErr, forgetErr error
			wg.Add(2)
			go func() { defer wg.Done(); batchErr = st.SaveSyncBatch(ctx, sh.ID, bt, a) }()
			go func() {
				defer wg.Done()
				startErr = st.SaveSyncRun(ctx, sh.ID, orders.SyncRun{ID: "b", StartedAt: base, Checkpoint: "b0"})
			}()
			if forget {
				wg.Add(1)
				go func() { defer wg.Done(); _, forgetErr = st.ForgetShop(ctx, sh.ID) }()
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("round %d: the writes did not end within 20 s", round)
			}
			ok := func(err error) bool {
				return err == nil || errors.Is(err, orders.ErrSyncRunMoved) || errors.Is(err, tenant.ErrNotFound)
			}
			if forget && s.Dialect() != "postgres" && batchErr != nil && !ok(batchErr) {
				batchErr = nil // SQLite's own key error for a batch after the redact: known, as shop_lock_test accepts
			}
			if !ok(batchErr) || !ok(startErr) || forgetErr != nil {
				t.Fatalf("round %d: batch %v, start %v, forget %v", round, batchErr, startErr, forgetErr)
			}
			run, found, err := st.SyncRun(ctx, sh.ID)
			if err != nil {
				t.Fatal(err)
			}
			if forget {
				if found {
					t.Errorf("round %d: a forgotten shop keeps its progress %+v", round, run)
				}
				continue
			}
			if startErr != nil || !found || run.ID != "b" || run.Pages != 0 || run.Checkpoint != "b0" {
				t.Errorf("round %d: stored %+v (start %v, batch %v); want B's start", round, run, startErr, batchErr)
			}
		}
	})
}
