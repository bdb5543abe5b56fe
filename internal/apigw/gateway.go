package apigw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/civicflow/civicflow/internal/store"
)

// Store is what the gateway reads and writes.
type Store interface {
	UsageSink
	APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error)
	APIPlan(ctx context.Context, id string) (store.APIPlan, error)
	TakeAPILimit(ctx context.Context, l store.LimitSpec) (store.LimitState, bool, error)
	ReturnAPILimit(ctx context.Context, subject string, n int64, burst int, rateLimited bool, dayStart, monthStart int64) error
}

// Options tune a Gateway; zero fields take the defaults.
type Options struct {
	KeyTTL  time.Duration // how long a verified key (or a refusal) is cached; default 500 ms
	PlanTTL time.Duration // default 1 s
	Writer  WriterOptions
	Now     func() time.Time
	// Off leaves the public API unmetered (benchmark baselines only).
	Off bool
	// LeaseMax is the most calls one take may reserve for this process
	// (default 50; 1 disables leases). Leases are taken only while at least
	// 4×LeaseMax calls are left, and given back after LeaseTTL.
	LeaseMax int64
	LeaseTTL time.Duration // default 1 s
}

// Gateway meters the public API (see the package doc).
type Gateway struct {
	st   Store
	log  *slog.Logger
	opts Options
	now  func() time.Time

	Usage *UsageWriter

	mu     sync.Mutex
	keys   map[string]keyEntry  // by hash
	plans  map[string]planEntry // by id
	denied map[string]time.Time // subject → refused locally until
	leases map[string]*lease    // subject → calls reserved by this process
	stop   chan struct{}
	swept  chan struct{}

	calls *prometheus.CounterVec
}

type keyEntry struct {
	key     store.APIKey
	err     error
	fetched time.Time
}

type planEntry struct {
	plan    store.APIPlan
	fetched time.Time
}

// maxCached bounds the caches (random bad keys, many addresses): past it a
// cache is emptied.
const maxCached = 50000

// ErrInvalidKey: the key is unknown, malformed, revoked or expired.
var ErrInvalidKey = errors.New("invalid API key")

// New builds a gateway over st and starts its usage writer.
func New(st Store, reg *prometheus.Registry, log *slog.Logger, o Options) *Gateway {
	if o.KeyTTL <= 0 {
		o.KeyTTL = 500 * time.Millisecond
	}
	if o.PlanTTL <= 0 {
		o.PlanTTL = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LeaseMax <= 0 {
		o.LeaseMax = 50
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	o.Writer.Registry, o.Writer.Logger = reg, log
	g := &Gateway{st: st, log: log, opts: o, now: o.Now,
		keys: map[string]keyEntry{}, plans: map[string]planEntry{}, denied: map[string]time.Time{}, leases: map[string]*lease{},
		stop: make(chan struct{}), swept: make(chan struct{}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civicflow_apigw_calls_total", Help: "Metered public API calls by outcome."}, []string{"outcome"}),
	}
	if reg != nil {
		if err := reg.Register(g.calls); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				g.calls = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
	}
	g.Usage = NewUsageWriter(st, o.Writer)
	go g.sweep()
	return g
}

// Close gives back the calls leased and not used, and flushes the usage log
// (graceful shutdown). Idempotent.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	g.mu.Unlock()
	select {
	case <-g.swept:
	case <-ctx.Done():
	}
	return g.Usage.Close(ctx)
}

// Verify returns the stored key of a presented key: ErrInvalidKey when it is
// malformed, unknown, revoked or expired. Results are cached for KeyTTL.
func (g *Gateway) Verify(ctx context.Context, key string) (store.APIKey, error) {
	if !wellFormed(key) {
		return store.APIKey{}, ErrInvalidKey
	}
	hash := HashKey(key)
	now := g.now()
	g.mu.Lock()
	e, ok := g.keys[hash]
	g.mu.Unlock()
	if !ok || now.Sub(e.fetched) >= g.opts.KeyTTL {
		k, err := g.st.APIKeyByHash(ctx, hash)
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = ErrInvalidKey
		case err != nil:
			return store.APIKey{}, err // not cached: the database did not answer
		case !sameHash(k.Hash, hash):
			err = ErrInvalidKey
		}
		e = keyEntry{key: k, err: err, fetched: now}
		g.mu.Lock()
		if len(g.keys) >= maxCached {
			clear(g.keys)
		}
		g.keys[hash] = e
		g.mu.Unlock()
	}
	if e.err != nil {
		return store.APIKey{}, e.err
	}
	if !e.key.ValidAt(now) {
		return store.APIKey{}, ErrInvalidKey
	}
	return e.key, nil
}

// Forget drops every cached key (this process: after a revocation).
func (g *Gateway) Forget() {
	g.mu.Lock()
	clear(g.keys)
	clear(g.denied)
	g.mu.Unlock()
}

// Plan returns a plan, cached for PlanTTL.
func (g *Gateway) Plan(ctx context.Context, id string) (store.APIPlan, error) {
	now := g.now()
	g.mu.Lock()
	e, ok := g.plans[id]
	g.mu.Unlock()
	if ok && now.Sub(e.fetched) < g.opts.PlanTTL {
		return e.plan, nil
	}
	p, err := g.st.APIPlan(ctx, id)
	if err != nil {
		return p, fmt.Errorf("plan %q: %w", id, err)
	}
	g.mu.Lock()
	g.plans[id] = planEntry{plan: p, fetched: now}
	g.mu.Unlock()
	return p, nil
}
