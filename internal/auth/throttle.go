package auth

import (
	"sync"
	"time"
)

// ipLimiter allows n attempts per window per address (fixed window). It is
// per process; the per-account lock in the database holds across processes.
type ipLimiter struct {
	mu      sync.Mutex
	n       int
	window  time.Duration
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	start time.Time
	count int
}

func newIPLimiter(n int, window time.Duration) *ipLimiter {
	return &ipLimiter{n: n, window: window, buckets: map[string]*bucket{}}
}

// allow counts an attempt from ip and says how long to wait if over the limit.
func (l *ipLimiter) allow(ip string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l.n <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.window {
		for k, b := range l.buckets {
			if now.Sub(b.start) >= l.window {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[ip]
	if b == nil || now.Sub(b.start) >= l.window {
		b = &bucket{start: now}
		l.buckets[ip] = b
	}
	if b.count >= l.n {
		return false, b.start.Add(l.window).Sub(now)
	}
	b.count++
	return true, 0
}
