package shopify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/orders"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

// TestBulkExportRefusedCancelsItsFirstOperation: an export whose second
// operation Shopify refuses (2026-10 runs five bulk queries at a time per
// shop: here four are running, and the export's first takes the fifth)
// pages instead, and leaves no operation of its own running: its first is
// cancelled, so it does not hold the shop's last slot for a file nobody
// reads (another backfill, or any bulk query of the app, is refused while
// it runs).
func TestBulkExportRefusedCancelsItsFirstOperation(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	sb.SetBulkFault(shopifysandbox.BulkFault{Hold: true}) // operations stay RUNNING
	for i := range 2 {
		if _, err := c.StartExport(context.Background(), shop, time.Time{}); err != nil {
			t.Fatalf("export %d before: %v", i+1, err)
		}
	}
	if _, err := c.StartExport(context.Background(), shop, time.Time{}); !errors.Is(err, orders.ErrExportRefused) {
		t.Fatalf("err = %v, want ErrExportRefused", err)
	}
	ops := sb.BulkOperations()
	if len(ops) != 5 {
		t.Fatalf("%d operations, want the 4 held and the refused export's first", len(ops))
	}
	if st := ops[4].Status; st != "CANCELED" {
		t.Errorf("the refused export's first operation is %s, want CANCELED", st)
	}
	running := 0
	for _, op := range ops {
		if op.Status == "RUNNING" || op.Status == "CREATED" {
			running++
		}
	}
	if running != 4 {
		t.Errorf("%d operations running, want the 4 held", running)
	}
}

// TestBulkExportFailedCancelsItsOtherOperation: an export one of whose
// operations ends without a result (FAILED, CANCELED, EXPIRED) is refused
// (the backfill pages instead), and its other operation, still running,
// is cancelled rather than left holding a slot for a file nobody reads.
func TestBulkExportFailedCancelsItsOtherOperation(t *testing.T) {
	t.Parallel()
	sb, c := newSandbox(t, shopifysandbox.Options{}, Config{})
	sb.SetBulkFault(shopifysandbox.BulkFault{Hold: true}) // operations stay RUNNING
	ctx := context.Background()
	cp, err := c.StartExport(ctx, shop, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ops := sb.BulkOperations()
	if len(ops) != 2 {
		t.Fatalf("%d operations", len(ops))
	}
	if err := c.cancelBulk(ctx, shop, ops[0].ID); err != nil { // the orders operation ends first, without a file
		t.Fatal(err)
	}
	err = c.ReadExport(ctx, shop, cp, 250, func(orders.ExportBatch) error { return nil })
	if !errors.Is(err, orders.ErrExportRefused) {
		t.Fatalf("err = %v, want ErrExportRefused", err)
	}
	if st := sb.BulkOperations()[1].Status; st != "CANCELED" {
		t.Errorf("the export's other operation is %s, want CANCELED", st)
	}
}
