package apigw

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/civicflow/civicflow/internal/store"
)

// Policy is one limit of a plan as the RateLimit headers describe it.
type Policy struct {
	Name      string // "burst", "day", "month"
	Unit      string // Opendatasoft's limit_time_unit: "second", "day", "month"
	Quota     int64  // q
	Window    int64  // w, seconds
	Remaining int64  // r
	Reset     int64  // t, seconds until the quota is whole again (burst) or the window ends
	Exceeded  bool
	RetryIn   time.Duration // when Exceeded: until the next call may pass
}

// Decision is the outcome of one take.
type Decision struct {
	Allowed    bool
	Policies   []Policy
	RetryAfter time.Duration // when refused
	At         time.Time
}

// Unlimited reports whether the plan has no limit at all (nothing is
// counted; no RateLimit headers).
func Unlimited(p store.APIPlan) bool {
	return p.RatePerSecond <= 0 && p.PerDay <= 0 && p.PerMonth <= 0
}

func windows(now time.Time) (dayStart, nextDay, monthStart, nextMonth time.Time) {
	u := now.UTC()
	dayStart = time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	monthStart = time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
	return dayStart, dayStart.AddDate(0, 0, 1), monthStart, monthStart.AddDate(0, 1, 0)
}

// maxLocalDenial bounds the in-process refusal cache.
const maxLocalDenial = time.Second

// Take takes one call for subject under plan p (see the package doc): from
// this process's lease when it has one, else from the database (with a new
// lease when plenty is left).
func (g *Gateway) Take(ctx context.Context, subject string, p store.APIPlan) (Decision, error) {
	now := g.now()
	if Unlimited(p) {
		return Decision{Allowed: true, At: now}, nil
	}
	ds, _, ms, _ := windows(now)
	dayStart, monthStart := ds.Unix(), ms.Unix()
	g.mu.Lock()
	until, denied := g.denied[subject]
	if denied && !now.Before(until) {
		delete(g.denied, subject)
		denied = false
	}
	var old *lease
	if !denied {
		l, ok := g.fromLease(subject, p, now, dayStart, monthStart)
		if ok {
			st := l.st
			held := l.n
			g.mu.Unlock()
			d := g.decide(p, st, true, now, false)
			for i := range d.Policies {
				d.Policies[i].Remaining += held
			}
			return d, nil
		}
		old = l
		if l != nil && l.n > 0 { // stale (expired, new window, edited plan): give it back first
			delete(g.leases, subject)
		} else {
			old = nil
		}
	}
	prev := g.leases[subject]
	g.mu.Unlock()
	if denied {
		d := g.decide(p, store.LimitState{}, false, now, true)
		d.RetryAfter = max(d.RetryAfter, until.Sub(now))
		return d, nil
	}
	g.giveBack(subject, old)

	spec := store.LimitSpec{Subject: subject, Now: now, Rate: p.RatePerSecond, Burst: p.Burst,
		PerDay: p.PerDay, PerMonth: p.PerMonth, DayStart: dayStart, MonthStart: monthStart, N: g.leaseSize(prev, p)}
	st, ok, err := g.st.TakeAPILimit(ctx, spec)
	if err == nil && !ok && spec.N > 1 { // fewer left than a lease: one call may still pass
		spec.N = 1
		st, ok, err = g.st.TakeAPILimit(ctx, spec)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit: %w", err)
	}
	d := g.decide(p, st, ok, now, false)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !ok {
		if len(g.denied) >= maxCached {
			clear(g.denied)
		}
		g.denied[subject] = now.Add(min(d.RetryAfter, maxLocalDenial))
		if l := g.leases[subject]; l != nil {
			l.remaining = 0
		}
		return d, nil
	}
	remaining := int64(math.MaxInt64)
	for _, pol := range d.Policies {
		remaining = min(remaining, pol.Remaining)
	}
	nl := &lease{n: st.Taken - 1, dayStart: dayStart, monthStart: monthStart, planAt: p.UpdatedAt, expires: now.Add(g.opts.LeaseTTL),
		st: st, burst: p.Burst, rateLimited: p.RatePerSecond > 0, remaining: remaining}
	if cur := g.leases[subject]; cur != nil && cur.n > 0 && cur.dayStart == dayStart && cur.monthStart == monthStart && cur.planAt.Equal(p.UpdatedAt) {
		nl.n += cur.n // another goroutine's lease: keep its calls
		nl.expires = cur.expires
	}
	if len(g.leases) >= maxCached {
		for s, l := range g.leases { // rare: give the calls back in the background
			go g.giveBack(s, l)
		}
		clear(g.leases)
	}
	g.leases[subject] = nl
	for i := range d.Policies {
		d.Policies[i].Remaining += nl.n
	}
	return d, nil
}

// decide turns a limiter row into the policies of the headers. blind: no
// row (the local refusal cache), every policy shown exhausted.
func (g *Gateway) decide(p store.APIPlan, st store.LimitState, allowed bool, now time.Time, blind bool) Decision {
	d := Decision{Allowed: allowed, At: now}
	dayStart, nextDay, monthStart, nextMonth := windows(now)
	if p.RatePerSecond > 0 {
		tokens := st.Tokens
		if !allowed && !blind {
			elapsed := max(0, now.UnixMilli()-st.RefilledMS)
			tokens = math.Min(float64(p.Burst), st.Tokens+float64(elapsed)*p.RatePerSecond/1000)
		}
		if blind {
			tokens = 0
		}
		pol := Policy{Name: "burst", Unit: "second", Quota: int64(p.Burst), Window: ceilSec(float64(p.Burst) / p.RatePerSecond),
			Remaining: max(0, int64(math.Floor(tokens))), Reset: ceilSec((float64(p.Burst) - tokens) / p.RatePerSecond)}
		if tokens < 1 && !allowed {
			pol.Exceeded = true
			pol.RetryIn = time.Duration((1 - tokens) / p.RatePerSecond * float64(time.Second))
		}
		d.Policies = append(d.Policies, pol)
	}
	quota := func(name string, q, used int64, start, next time.Time, rowStart int64) {
		if q <= 0 {
			return
		}
		if rowStart < start.Unix() {
			used = 0
		}
		if blind {
			used = q
		}
		pol := Policy{Name: name, Unit: name, Quota: q, Window: int64(next.Sub(start) / time.Second),
			Remaining: max(0, q-used), Reset: ceilSec(next.Sub(now).Seconds())}
		if used >= q && !allowed {
			pol.Exceeded = true
			pol.RetryIn = next.Sub(now)
		}
		d.Policies = append(d.Policies, pol)
	}
	quota("day", p.PerDay, st.DayUsed, dayStart, nextDay, st.DayStart)
	quota("month", p.PerMonth, st.MonthUsed, monthStart, nextMonth, st.MonthStart)
	if !allowed {
		for _, pol := range d.Policies {
			if pol.Exceeded {
				d.RetryAfter = max(d.RetryAfter, pol.RetryIn)
			}
		}
		if d.RetryAfter <= 0 { // refused by a take between the two reads: try again soon
			d.RetryAfter = 100 * time.Millisecond
		}
	}
	return d
}

func ceilSec(s float64) int64 {
	if s <= 0 {
		return 0
	}
	return int64(math.Ceil(s - 1e-9))
}

// PolicyHeader is the RateLimit-Policy field of d.
func (d Decision) PolicyHeader() string {
	b := make([]byte, 0, 96)
	for i, p := range d.Policies {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(append(append(b, '"'), p.Name...), `";q=`...)
		b = strconv.AppendInt(b, p.Quota, 10)
		b = strconv.AppendInt(append(b, ";w="...), p.Window, 10)
	}
	return string(b)
}

// RateLimitHeader is the RateLimit field of d.
func (d Decision) RateLimitHeader() string {
	b := make([]byte, 0, 96)
	for i, p := range d.Policies {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(append(append(b, '"'), p.Name...), `";r=`...)
		b = strconv.AppendInt(b, p.Remaining, 10)
		b = strconv.AppendInt(append(b, ";t="...), p.Reset, 10)
	}
	return string(b)
}

// RetryAfterSeconds is Retry-After: whole seconds, at least 1.
func (d Decision) RetryAfterSeconds() int64 {
	return max(1, ceilSec(d.RetryAfter.Seconds()))
}

// Violated is the exceeded policy with the longest wait (for the 429 body).
func (d Decision) Violated() (Policy, bool) {
	var best Policy
	found := false
	for _, p := range d.Policies {
		if p.Exceeded && (!found || p.RetryIn > best.RetryIn) {
			best, found = p, true
		}
	}
	return best, found
}
