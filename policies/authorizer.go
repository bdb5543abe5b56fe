package policies

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicflow/civicflow/internal/store"
)

// Source is what an Authorizer reads to build its index (the store).
type Source interface {
	AuthzVersion(ctx context.Context) (int64, error)
	CasbinRules(ctx context.Context) ([]store.CasbinRule, error)
	Memberships(ctx context.Context) ([]store.Membership, error)
	CurrentDelegations(ctx context.Context, delegateID int64, t time.Time) ([]store.Delegation, error)
}

// Authorizer answers "may user U do ACT on OBJ in DEPT" from an in-memory
// index precomputed from the same rules and memberships the Casbin
// enforcer loads, with the same meaning (see model.conf), plus the active
// delegations. It is safe for concurrent use; decisions take no lock.
//
// Freshness: Invalidate (called by this process after a change) makes the
// next decision rebuild the index; other processes' changes are seen
// through the authz_version setting, polled at most once per CheckEvery by
// whichever request comes first.
type Authorizer struct {
	src        Source
	log        *slog.Logger
	now        func() time.Time
	checkEvery time.Duration

	idx       atomic.Pointer[index]
	stale     atomic.Bool
	lastCheck atomic.Int64 // unix nanoseconds of the last version check
	mu        sync.Mutex   // one rebuild or version check at a time
}

// AuthorizerOptions tune an Authorizer; zero values take defaults.
type AuthorizerOptions struct {
	CheckEvery time.Duration    // version poll interval (default 1s)
	Now        func() time.Time // clock for delegations (default time.Now)
	Logger     *slog.Logger
}

// NewAuthorizer builds the index once and returns the authorizer.
func NewAuthorizer(ctx context.Context, src Source, o AuthorizerOptions) (*Authorizer, error) {
	a := &Authorizer{src: src, log: o.Logger, now: o.Now, checkEvery: o.CheckEvery}
	if a.now == nil {
		a.now = time.Now
	}
	if a.checkEvery <= 0 {
		a.checkEvery = time.Second
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if err := a.Rebuild(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Invalidate makes the next decision rebuild the index (call it after
// changing rules, memberships, delegations or users in this process).
func (a *Authorizer) Invalidate() { a.stale.Store(true) }

// Version is the authorisation version the index was built from.
func (a *Authorizer) Version() int64 { return a.idx.Load().version }

// Rebuild reads the source and swaps in a new index.
func (a *Authorizer) Rebuild(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rebuildLocked(ctx)
}

func (a *Authorizer) rebuildLocked(ctx context.Context) error {
	a.stale.Store(false)
	v, err := a.src.AuthzVersion(ctx)
	if err != nil {
		a.stale.Store(true)
		return err
	}
	rules, err := a.src.CasbinRules(ctx)
	if err != nil {
		a.stale.Store(true)
		return err
	}
	ms, err := a.src.Memberships(ctx)
	if err != nil {
		a.stale.Store(true)
		return err
	}
	ds, err := a.src.CurrentDelegations(ctx, 0, a.now())
	if err != nil {
		a.stale.Store(true)
		return err
	}
	idx := buildIndex(v, rules, ms, ds)
	a.idx.Store(idx)
	a.lastCheck.Store(time.Now().UnixNano())
	return nil
}

// refresh keeps the index current; decisions never wait for a version
// check another goroutine is already doing.
func (a *Authorizer) refresh(ctx context.Context) {
	if a.stale.Load() {
		a.mu.Lock()
		if a.stale.Load() {
			if err := a.rebuildLocked(ctx); err != nil {
				a.log.Error("authorizer: rebuild failed; deciding on the previous index", "err", err)
			}
		}
		a.mu.Unlock()
		return
	}
	now := time.Now().UnixNano()
	if now-a.lastCheck.Load() < int64(a.checkEvery) || !a.mu.TryLock() {
		return
	}
	defer a.mu.Unlock()
	a.lastCheck.Store(now)
	v, err := a.src.AuthzVersion(ctx)
	if err != nil {
		a.log.Error("authorizer: cannot read the authorisation version", "err", err)
		return
	}
	if v != a.idx.Load().version || a.idx.Load().delegationChangeDue(a.now()) {
		if err := a.rebuildLocked(ctx); err != nil {
			a.log.Error("authorizer: rebuild failed; deciding on the previous index", "err", err)
		}
	}
}

// Allowed reports whether username may do act on obj in dept. dept may be
// Wildcard, meaning "in at least one department" (for routes that name no
// department). Unknown users, objects and actions are denied.
func (a *Authorizer) Allowed(ctx context.Context, username, dept, obj, act string) bool {
	a.refresh(ctx)
	return a.idx.Load().allowed(username, dept, perm{obj, act}, a.now())
}

// Decide is Allowed on the current index without any freshness check (for
// benchmarks and callers that refresh themselves).
func (a *Authorizer) Decide(username, dept, obj, act string) bool {
	return a.idx.Load().allowed(username, dept, perm{obj, act}, a.now())
}

// Departments lists the departments where username may do act on obj
// (Wildcard first if the permission holds everywhere).
func (a *Authorizer) Departments(ctx context.Context, username, obj, act string) []string {
	a.refresh(ctx)
	return a.idx.Load().departments(username, perm{obj, act}, a.now())
}

type perm struct{ obj, act string }

type permSet map[perm]struct{}

type roleIdx struct {
	byDept map[string]permSet // department (or "*") → permissions
	any    permSet            // union over every department
}

type delegated struct {
	role, dept  string
	from, until time.Time
}

type userIdx struct {
	depts     map[string][]string // department (or "*") → roles held there
	delegated []delegated
}

type index struct {
	version int64
	roles   map[string]*roleIdx
	users   map[string]*userIdx
	// nextChange is the earliest future start or end of a delegation: the
	// index is rebuilt then so that expired ones leave it.
	nextChange time.Time
}

func buildIndex(version int64, rules []store.CasbinRule, ms []store.Membership, ds []store.Delegation) *index {
	idx := &index{version: version, roles: map[string]*roleIdx{}, users: map[string]*userIdx{}}
	for _, r := range rules {
		if r.PType != "p" {
			continue
		}
		ri := idx.roles[r.V0]
		if ri == nil {
			ri = &roleIdx{byDept: map[string]permSet{}, any: permSet{}}
			idx.roles[r.V0] = ri
		}
		ps := ri.byDept[r.V1]
		if ps == nil {
			ps = permSet{}
			ri.byDept[r.V1] = ps
		}
		p := perm{r.V2, r.V3}
		ps[p] = struct{}{}
		ri.any[p] = struct{}{}
	}
	user := func(name string) *userIdx {
		u := idx.users[name]
		if u == nil {
			u = &userIdx{depts: map[string][]string{}}
			idx.users[name] = u
		}
		return u
	}
	for _, m := range ms {
		u := user(m.Username)
		u.depts[m.Department] = append(u.depts[m.Department], m.Role)
	}
	// A delegation gives a role only while the delegator still holds it.
	for _, d := range ds {
		from := idx.users[d.Delegator]
		if d.RevokedAt != nil || from == nil || !holds(from, d.Role, d.Department) {
			continue
		}
		u := user(d.Delegate)
		u.delegated = append(u.delegated, delegated{d.Role, d.Department, d.ValidFrom, d.ValidUntil})
		for _, t := range []time.Time{d.ValidFrom, d.ValidUntil} {
			if idx.nextChange.IsZero() || t.Before(idx.nextChange) {
				idx.nextChange = t
			}
		}
	}
	return idx
}

func holds(u *userIdx, role, dept string) bool {
	for _, d := range []string{dept, Wildcard} {
		for _, r := range u.depts[d] {
			if r == role {
				return true
			}
		}
	}
	return false
}

func (idx *index) delegationChangeDue(now time.Time) bool {
	return !idx.nextChange.IsZero() && !now.Before(idx.nextChange)
}

// roleAllows: may role, held in heldIn, do p in dept (dept may be "*" = some department)?
func (idx *index) roleAllows(role, heldIn, dept string, p perm) bool {
	ri := idx.roles[role]
	if ri == nil {
		return false
	}
	if dept == Wildcard {
		if heldIn == Wildcard {
			_, ok := ri.any[p]
			return ok
		}
		if _, ok := ri.byDept[heldIn][p]; ok {
			return true
		}
		_, ok := ri.byDept[Wildcard][p]
		return ok
	}
	if heldIn != Wildcard && heldIn != dept {
		return false
	}
	if _, ok := ri.byDept[Wildcard][p]; ok {
		return true
	}
	_, ok := ri.byDept[dept][p]
	return ok
}

func (idx *index) allowed(username, dept string, p perm, now time.Time) bool {
	u := idx.users[username]
	if u == nil {
		return false
	}
	if dept == Wildcard {
		for heldIn, roles := range u.depts {
			for _, r := range roles {
				if idx.roleAllows(r, heldIn, dept, p) {
					return true
				}
			}
		}
	} else {
		for _, heldIn := range [2]string{dept, Wildcard} {
			for _, r := range u.depts[heldIn] {
				if idx.roleAllows(r, heldIn, dept, p) {
					return true
				}
			}
		}
	}
	for _, d := range u.delegated {
		if !now.Before(d.from) && now.Before(d.until) && idx.roleAllows(d.role, d.dept, dept, p) {
			return true
		}
	}
	return false
}

func (idx *index) departments(username string, p perm, now time.Time) []string {
	u := idx.users[username]
	if u == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(role, heldIn string) {
		ri := idx.roles[role]
		if ri == nil {
			return
		}
		if _, ok := ri.byDept[Wildcard][p]; ok {
			if !seen[heldIn] {
				seen[heldIn] = true
				out = append(out, heldIn)
			}
			return
		}
		for d, ps := range ri.byDept {
			if _, ok := ps[p]; ok && (heldIn == Wildcard || heldIn == d) && !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	for heldIn, roles := range u.depts {
		for _, r := range roles {
			add(r, heldIn)
		}
	}
	for _, d := range u.delegated {
		if !now.Before(d.from) && now.Before(d.until) {
			add(d.role, d.dept)
		}
	}
	if seen[Wildcard] {
		return []string{Wildcard}
	}
	return out
}

// String describes the index (debugging).
func (idx *index) String() string {
	return fmt.Sprintf("authz index v%d: %d roles, %d users", idx.version, len(idx.roles), len(idx.users))
}
