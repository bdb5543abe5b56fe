package apigw

import (
	"context"
	"time"

	"github.com/civicflow/civicflow/internal/store"
)

// lease is calls of a subject taken from the database by one take and not
// yet used by this process (the fast path of allowed calls).
type lease struct {
	n           int64 // calls left
	dayStart    int64
	monthStart  int64
	planAt      time.Time // the plan's UpdatedAt: an edited plan ends the lease
	expires     time.Time
	st          store.LimitState // the row after the take (headers)
	burst       int
	rateLimited bool
	remaining   int64 // the fewest calls left in the database after the take, over the policies
}

// fromLease serves one call from the subject's lease, if it has one that
// still holds. g.mu is held.
func (g *Gateway) fromLease(subject string, p store.APIPlan, now time.Time, dayStart, monthStart int64) (*lease, bool) {
	l := g.leases[subject]
	if l == nil || l.n <= 0 || !now.Before(l.expires) || l.dayStart != dayStart || l.monthStart != monthStart || !l.planAt.Equal(p.UpdatedAt) {
		return l, false
	}
	l.n--
	return l, true
}

// leaseSize is how many calls to take: LeaseMax while plenty is left
// (according to the last take), else one, so that the last calls of a
// window are taken one by one, exactly.
func (g *Gateway) leaseSize(l *lease, p store.APIPlan) int64 {
	if g.opts.LeaseMax <= 1 || l == nil || !l.planAt.Equal(p.UpdatedAt) {
		return 1
	}
	if l.remaining >= 4*g.opts.LeaseMax {
		return g.opts.LeaseMax
	}
	return 1
}

// giveBack returns the unused calls of l to the database.
func (g *Gateway) giveBack(subject string, l *lease) {
	if l == nil || l.n <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.st.ReturnAPILimit(ctx, subject, l.n, l.burst, l.rateLimited, l.dayStart, l.monthStart); err != nil {
		g.log.Warn("public API: unused calls not given back", "subject", subject, "calls", l.n, "err", err)
	}
}

// sweep gives back expired leases every quarter of LeaseTTL, and every
// lease when the gateway closes.
func (g *Gateway) sweep() {
	defer close(g.swept)
	t := time.NewTicker(g.opts.LeaseTTL / 4)
	defer t.Stop()
	for {
		closing := false
		select {
		case <-g.stop:
			closing = true
		case <-t.C:
		}
		now := g.now()
		back := map[string]*lease{}
		g.mu.Lock()
		for subject, l := range g.leases {
			if closing || !now.Before(l.expires) {
				if l.n > 0 {
					back[subject] = l
				}
				delete(g.leases, subject)
			}
		}
		g.mu.Unlock()
		for subject, l := range back {
			g.giveBack(subject, l)
		}
		if closing {
			return
		}
	}
}
