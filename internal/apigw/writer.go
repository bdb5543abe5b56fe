package apigw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/civicflow/civicflow/internal/store"
)

// UsageSink is where the usage log goes (the store).
type UsageSink interface {
	InsertAPIUsage(ctx context.Context, rows []store.APIUsage) error
}

// UsageWriter writes usage rows asynchronously in batches: at least every
// FlushEvery, as soon as a batch is full, and on Close. A full buffer makes
// Record wait (back-pressure); rows are never dropped while the process
// lives. A failed write is retried with the same rows.
type UsageWriter struct {
	sink       UsageSink
	log        *slog.Logger
	flushEvery time.Duration
	maxBatch   int

	mu     sync.RWMutex // closed and ch: Record holds it for reading
	closed bool
	ch     chan store.APIUsage
	done   chan struct{}

	pending  atomic.Int64 // recorded, not yet written
	nWritten atomic.Int64
	written  prometheus.Counter
	waits    prometheus.Counter
	fails    prometheus.Counter
	dropped  prometheus.Counter
}

// WriterOptions tune a UsageWriter; zero fields take the defaults.
type WriterOptions struct {
	FlushEvery time.Duration // default 1 s
	Buffer     int           // default 10,000 rows
	MaxBatch   int           // default 1,000 rows
	Registry   *prometheus.Registry
	Logger     *slog.Logger
}

// NewUsageWriter starts a writer into sink.
func NewUsageWriter(sink UsageSink, o WriterOptions) *UsageWriter {
	if o.FlushEvery <= 0 {
		o.FlushEvery = time.Second
	}
	if o.Buffer <= 0 {
		o.Buffer = 10000
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	w := &UsageWriter{sink: sink, log: o.Logger, flushEvery: o.FlushEvery, maxBatch: o.MaxBatch,
		ch: make(chan store.APIUsage, o.Buffer), done: make(chan struct{}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "civicflow_apigw_usage_written_total", Help: "Usage log rows written to the database."}),
		waits:   prometheus.NewCounter(prometheus.CounterOpts{Name: "civicflow_apigw_usage_backpressure_total", Help: "Calls that waited for room in the usage log buffer."}),
		fails:   prometheus.NewCounter(prometheus.CounterOpts{Name: "civicflow_apigw_usage_write_errors_total", Help: "Failed usage log writes (retried)."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "civicflow_apigw_usage_dropped_total", Help: "Usage rows the database refused (bad rows, logged)."}),
	}
	if o.Registry != nil {
		pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "civicflow_apigw_usage_pending", Help: "Usage log rows recorded and not yet written."},
			func() float64 { return float64(w.pending.Load()) })
		for _, c := range []prometheus.Collector{w.written, w.waits, w.fails, w.dropped, pending} {
			if err := o.Registry.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					o.Logger.Warn("apigw metrics", "err", err)
				}
			}
		}
	}
	go w.run()
	return w
}

// Record queues one row. It waits when the buffer is full. After Close the
// row is written synchronously.
func (w *UsageWriter) Record(u store.APIUsage) {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		w.pending.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.write(ctx, []store.APIUsage{u})
		return
	}
	w.pending.Add(1)
	select {
	case w.ch <- u:
	default:
		w.waits.Inc()
		w.ch <- u // back-pressure: wait for the writer
	}
	w.mu.RUnlock()
}

// Pending is the number of rows recorded and not yet written.
func (w *UsageWriter) Pending() int64 { return w.pending.Load() }

// Written is the number of rows written so far.
func (w *UsageWriter) Written() int64 { return w.nWritten.Load() }

func (w *UsageWriter) run() {
	defer close(w.done)
	t := time.NewTicker(w.flushEvery)
	defer t.Stop()
	buf := make([]store.APIUsage, 0, w.maxBatch)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		w.writeRetrying(buf)
		buf = buf[:0]
	}
	for {
		select {
		case u, ok := <-w.ch:
			if !ok {
				flush()
				return
			}
			buf = append(buf, u)
			if len(buf) >= w.maxBatch {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}

// writeRetrying writes rows, retrying with a growing pause until it works
// (rows wait in memory; the buffer fills and Record waits).
//
// A batch that fails three times is tried row by row: when some rows pass
// and others fail, the database is up and the failing rows are bad (they
// are logged and dropped, counted in civicflow_apigw_usage_dropped_total),
// so that one bad row cannot wedge the log; when every row fails, the
// database is down and the batch is retried.
func (w *UsageWriter) writeRetrying(rows []store.APIUsage) {
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ok := w.write(ctx, rows)
		cancel()
		if ok {
			return
		}
		if attempt%3 == 0 {
			var bad []store.APIUsage
			for _, r := range rows {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if !w.write(ctx, []store.APIUsage{r}) {
					bad = append(bad, r)
				}
				cancel()
			}
			if len(bad) < len(rows) {
				for _, r := range bad {
					w.log.Error("usage log: row dropped, the database refuses it", "endpoint", r.Endpoint, "at", r.At)
				}
				w.dropped.Add(float64(len(bad)))
				w.pending.Add(-int64(len(bad)))
				return
			}
		}
		time.Sleep(pause)
		pause = min(pause*2, 5*time.Second)
	}
}

func (w *UsageWriter) write(ctx context.Context, rows []store.APIUsage) bool {
	if err := w.sink.InsertAPIUsage(ctx, rows); err != nil {
		w.fails.Inc()
		w.log.Warn("usage log: write failed, will retry", "rows", len(rows), "err", err)
		return false
	}
	w.written.Add(float64(len(rows)))
	w.nWritten.Add(int64(len(rows)))
	w.pending.Add(-int64(len(rows)))
	return true
}

// Close writes every queued row and stops the writer. It returns when all
// is written or ctx ends (the rows left are then counted in the error).
func (w *UsageWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("usage log: %d row(s) not written before the shutdown deadline", w.pending.Load())
	}
}
