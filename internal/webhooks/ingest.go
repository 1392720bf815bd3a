package webhooks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Group commit: a delivery recorded without a job (one that carries its
// order, pending, or a refused one) is handed to the Batcher, which writes
// the deliveries waiting at that moment in one multi-row INSERT and one
// commit, and then answers each waiting request. A commit (an fsync on
// Postgres) is paid once per batch rather than once per delivery. An idle
// batcher writes a lone delivery at once: batches form only while a write
// is in flight, from the deliveries that arrived during it.

// BatchRecorder records deliveries that have no job, many in one statement
// and one commit, and says of each (in order) whether it was new; false is
// a delivery recorded before (the same webhook id). On an error nothing
// is known to be recorded.
type BatchRecorder interface {
	RecordDeliveries(ctx context.Context, ds []Delivery) ([]bool, error)
}

// Errors a delivery can get from the batcher instead of an answer; both
// are transient (503: Shopify retries the delivery).
var (
	// ErrBusy: the deliveries waiting for a commit fill the queue.
	ErrBusy = errors.New("webhook ingest is busy")
	// ErrStopping: the process is shutting down.
	ErrStopping = errors.New("webhook ingest is stopping")
)

// BatcherOptions tune a Batcher; zero values take the defaults.
type BatcherOptions struct {
	// Writers is how many batches are written at once (default 2): one
	// gathers the deliveries that arrive while another commits.
	Writers int
	// MaxRows and MaxBytes bound one batch, in deliveries and in body
	// bytes (defaults 500 and 8 MiB).
	MaxRows  int
	MaxBytes int
	// Queue is how many deliveries may wait for a writer (default 4096);
	// beyond it deliveries are refused with ErrBusy.
	Queue int
	// Timeout bounds one batch's INSERT and commit (default 10 s).
	Timeout time.Duration
	// Metrics, when set, registers orderdesk_webhook_ingest_batch_size.
	Metrics prometheus.Registerer
}

// Batcher groups concurrent deliveries' INSERTs into one statement and
// one commit (see above). Nothing is answered before its batch commits.
type Batcher struct {
	rec   BatchRecorder
	opts  BatcherOptions
	queue chan *waiting
	sizes prometheus.Histogram // nil: no metrics

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool

	ctx    context.Context // the writers'; cancelled when Close gives up
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// waiting is a delivery waiting for its batch to commit.
type waiting struct {
	ctx  context.Context // the request's: a batch leaves out one already ended
	d    Delivery
	done chan recorded // buffered: the writer never blocks on it
}

type recorded struct {
	fresh bool
	err   error
}

// NewBatcher starts a batcher's writers; Close stops them.
func NewBatcher(rec BatchRecorder, opts BatcherOptions) (*Batcher, error) {
	if opts.Writers <= 0 {
		opts.Writers = 2
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 500
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 8 << 20
	}
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	b := &Batcher{rec: rec, opts: opts, queue: make(chan *waiting, opts.Queue)}
	if opts.Metrics != nil {
		b.sizes = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orderdesk_webhook_ingest_batch_size",
			Help:    "Webhook deliveries recorded by one INSERT and commit (group commit of concurrent deliveries that carry their order).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		})
		if err := opts.Metrics.Register(b.sizes); err != nil {
			return nil, fmt.Errorf("register webhook ingest metrics: %w", err)
		}
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	for range opts.Writers {
		b.wg.Go(b.write)
	}
	return b, nil
}

// Record hands d to a batch and waits for its commit: true when d was
// recorded now, false when it was recorded before. When ctx ends first,
// Record returns its error (the delivery may still be committed: Shopify's
// retry is then a duplicate).
func (b *Batcher) Record(ctx context.Context, d Delivery) (bool, error) {
	w := &waiting{ctx: ctx, d: d, done: make(chan recorded, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return false, ErrStopping
	}
	select {
	case b.queue <- w:
	default:
		b.mu.RUnlock()
		return false, ErrBusy
	}
	b.mu.RUnlock()
	select {
	case r := <-w.done:
		return r.fresh, r.err
	case <-ctx.Done():
		return false, fmt.Errorf("waiting for the delivery's commit: %w", ctx.Err())
	}
}

// Queued is how many deliveries wait for a writer.
func (b *Batcher) Queued() int { return len(b.queue) }

// Close refuses new deliveries (ErrStopping), writes those already queued
// and waits for the writers. When ctx ends first, the batches in flight
// are cancelled (their deliveries get an error, not an answer) and Close
// returns once the writers have stopped.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	stopped := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		<-stopped
		return fmt.Errorf("webhook ingest stopped before writing every queued delivery: %w", ctx.Err())
	}
}

// write is one writer: it takes the first delivery waiting, adds every
// other one already queued (up to the bounds), and writes them together.
func (b *Batcher) write() {
	for first := range b.queue {
		batch, size := []*waiting{first}, len(first.d.Payload)
	gather:
		for len(batch) < b.opts.MaxRows && size < b.opts.MaxBytes {
			select {
			case w, ok := <-b.queue:
				if !ok {
					break gather
				}
				batch = append(batch, w)
				size += len(w.d.Payload)
			default:
				break gather
			}
		}
		b.commit(batch)
	}
}

// commit records a batch and answers its deliveries. A webhook id twice in
// one batch (Shopify's retry racing its first attempt) is recorded once:
// the later ones are duplicates of it. When the batch fails, each delivery
// is recorded alone, so that one bad row fails only its own delivery.
func (b *Batcher) commit(batch []*waiting) {
	var (
		rows  []Delivery
		heads []*waiting           // the delivery each row came from
		dups  = map[*waiting]int{} // later deliveries of a row's webhook id → its row
		index = make(map[string]int, len(batch))
	)
	for _, w := range batch {
		if w.ctx.Err() != nil {
			w.done <- recorded{err: w.ctx.Err()} // gone: its retry is recorded instead
			continue
		}
		if i, ok := index[w.d.WebhookID]; ok {
			dups[w] = i
			continue
		}
		index[w.d.WebhookID] = len(rows)
		rows, heads = append(rows, w.d), append(heads, w)
	}
	if len(rows) == 0 {
		return
	}
	if b.sizes != nil {
		b.sizes.Observe(float64(len(rows)))
	}
	results := make([]recorded, len(rows))
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
	defer cancel()
	fresh, err := b.insert(ctx, rows)
	switch {
	case err == nil:
		for i := range rows {
			results[i] = recorded{fresh: fresh[i]}
		}
	case len(rows) == 1 || ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		// Out of time, or stopping: single INSERTs would fare no better.
		for i := range rows {
			results[i] = recorded{err: err}
		}
	default:
		// One at a time, within one more Timeout for them all.
		ctx, cancel := context.WithTimeout(b.ctx, b.opts.Timeout)
		defer cancel()
		for i, d := range rows {
			f, err := b.insert(ctx, []Delivery{d})
			results[i] = recorded{err: err}
			if err == nil {
				results[i].fresh = f[0]
			}
		}
	}
	for i, w := range heads {
		w.done <- results[i]
	}
	for w, i := range dups {
		w.done <- recorded{err: results[i].err} // never fresh: its row is the head's
	}
}

func (b *Batcher) insert(ctx context.Context, rows []Delivery) ([]bool, error) {
	fresh, err := b.rec.RecordDeliveries(ctx, rows) // its error names the batch
	if err == nil && len(fresh) != len(rows) {
		err = fmt.Errorf("record %d deliveries: %d answers", len(rows), len(fresh))
	}
	return fresh, err
}
