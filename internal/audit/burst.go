package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Bursts coalesces entries that strangers can make the server write at
// will — refused anonymous requests, throttled sign-ins — so that a flood
// of them costs one chained entry per address and window instead of one
// per request. The first entry of a key opens a burst; when the window
// ends, one entry is recorded: the first one, with in its detail the
// "count" of entries, the "first" and "last" times and the "requests"
// (how many times each sample — method, route, status… — was seen, at
// most MaxSamples of them, the rest counted in "other_requests").
//
// Bursts are held in memory: Flush records them at once (shutdown, tests).
// Beyond MaxOpen open bursts (a flood from very many addresses), entries
// go to one burst per action whose IP is "*".
type Bursts struct {
	rec    Recorder
	window time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu   sync.Mutex
	open map[string]*burst
}

type burst struct {
	e           Entry
	first, last time.Time
	count       int
	samples     map[string]int
	other       int
	timer       *time.Timer
}

// Limits of Bursts.
const (
	MaxSamples = 20
	MaxOpen    = 1000
)

// NewBursts returns a Bursts recording into rec, each burst lasting
// window; now is the clock (nil: time.Now), log where recording errors go.
func NewBursts(rec Recorder, window time.Duration, now func() time.Time, log *slog.Logger) *Bursts {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Bursts{rec: rec, window: window, now: now, log: log, open: map[string]*burst{}}
}

// Add counts e in the burst of (e.Action, key) — key is the address the
// entry comes from — with sample as what this occurrence was.
func (b *Bursts) Add(key string, e Entry, sample string) {
	now := b.now()
	k := e.Action + "\x00" + key
	b.mu.Lock()
	defer b.mu.Unlock()
	bu := b.open[k]
	if bu == nil && len(b.open) >= MaxOpen {
		k = e.Action + "\x00*"
		e.IP = "*"
		bu = b.open[k]
	}
	if bu == nil {
		bu = &burst{e: e, first: now, samples: map[string]int{}}
		b.open[k] = bu
		bu.timer = time.AfterFunc(b.window, func() { b.close(k, bu) })
	}
	bu.count++
	bu.last = now
	if _, ok := bu.samples[sample]; ok || len(bu.samples) < MaxSamples {
		bu.samples[sample]++
	} else {
		bu.other++
	}
}

// close records bu if it is still the open burst of k.
func (b *Bursts) close(k string, bu *burst) {
	b.mu.Lock()
	if b.open[k] != bu {
		b.mu.Unlock()
		return
	}
	delete(b.open, k)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.record(ctx, bu)
}

// Flush records every open burst now.
func (b *Bursts) Flush(ctx context.Context) {
	b.mu.Lock()
	open := b.open
	b.open = map[string]*burst{}
	b.mu.Unlock()
	keys := make([]string, 0, len(open))
	for k, bu := range open {
		bu.timer.Stop()
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return open[keys[i]].first.Before(open[keys[j]].first) })
	for _, k := range keys {
		b.record(ctx, open[k])
	}
}

func (b *Bursts) record(ctx context.Context, bu *burst) {
	detail := map[string]any{}
	if bu.e.Detail != "" {
		_ = json.Unmarshal([]byte(bu.e.Detail), &detail)
	}
	detail["count"] = bu.count
	detail["first"] = bu.first.UTC()
	detail["last"] = bu.last.UTC()
	detail["requests"] = bu.samples
	if bu.other > 0 {
		detail["other_requests"] = bu.other
	}
	e := bu.e
	e.At = time.Time{}
	e.Detail = Detail(detail)
	if err := b.rec.Record(ctx, e); err != nil {
		b.log.Error("audit: cannot record a burst of refusals", "action", e.Action, "ip", e.IP, "count", bu.count, "err", err)
	}
}
