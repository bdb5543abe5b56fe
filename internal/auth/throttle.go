package auth

import (
	"context"
	"net"
	"sync"
	"time"
)

// Brute force against passwords is slowed in two ways, neither of which is a
// lock that a stranger could put on someone else's account:
//
//   - per account (in fact per username tried, known or not, so that the
//     answer and its timing say nothing about whether the account exists):
//     after a few consecutive failures, the next attempt waits until an
//     exponentially growing delay after the last failure has passed
//     (capped); it then gets the answer it would have got anyway, so that
//     the owner, with the right password, always gets in;
//   - per address: failed sign-ins from one address (an IPv6 /64 counts as
//     one address) are limited per window; beyond, every attempt from the
//     address gets 429 until the window ends. Successful sign-ins are not
//     counted: forty colleagues behind the town hall's NAT all get in.

// backoff is the delay owed after failures consecutive failures.
func (o Options) backoff(failures int) time.Duration {
	if failures < o.FreeFailures {
		return 0
	}
	shift := failures - o.FreeFailures
	if shift > 30 {
		return o.MaxDelay
	}
	d := o.BaseDelay << shift
	if d <= 0 || d > o.MaxDelay {
		return o.MaxDelay
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AddressKey is the key that limits and audit bursts count an address
// under: the IP itself, or its /64 for IPv6 (one subscriber's network).
func AddressKey(ip string) string {
	p := net.ParseIP(ip)
	if p == nil {
		return ip
	}
	if p.To4() != nil {
		return p.String()
	}
	return (&net.IPNet{IP: p.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// ipLimiter limits failed sign-ins per address and window (fixed window
// from the first failure), and the attempts in progress per address. It
// is per process.
type ipLimiter struct {
	mu          sync.Mutex
	n           int // failures allowed per window (<= 0: no limit)
	window      time.Duration
	maxInFlight int
	addrs       map[string]*ipState
	swept       time.Time
}

type ipState struct {
	start    time.Time // of the failure window
	failures int
	inFlight int
}

func newIPLimiter(n int, window time.Duration, maxInFlight int) *ipLimiter {
	return &ipLimiter{n: n, window: window, maxInFlight: maxInFlight, addrs: map[string]*ipState{}}
}

// begin admits an attempt from key, or says how long to wait. An admitted
// attempt must be ended with end.
func (l *ipLimiter) begin(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l.n <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	st := l.addrs[key]
	if st == nil {
		st = &ipState{}
		l.addrs[key] = st
	}
	if st.failures > 0 && now.Sub(st.start) >= l.window {
		st.failures = 0
	}
	if st.failures >= l.n {
		return false, st.start.Add(l.window).Sub(now)
	}
	if l.maxInFlight > 0 && st.inFlight >= l.maxInFlight {
		return false, time.Second
	}
	st.inFlight++
	return true, 0
}

// end closes an attempt admitted by begin; a failed one is counted.
func (l *ipLimiter) end(key string, now time.Time, failed bool) {
	if l.n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.addrs[key]
	if st == nil {
		return
	}
	st.inFlight--
	if !failed {
		return
	}
	if st.failures == 0 || now.Sub(st.start) >= l.window {
		st.start, st.failures = now, 0
	}
	st.failures++
}

func (l *ipLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < l.window {
		return
	}
	for k, st := range l.addrs {
		if st.inFlight == 0 && (st.failures == 0 || now.Sub(st.start) >= l.window) {
			delete(l.addrs, k)
		}
	}
	l.swept = now
}
