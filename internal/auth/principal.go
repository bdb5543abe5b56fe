package auth

import (
	"slices"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/store"
)

// Roles known to the default policy.
const (
	RoleAgent    = "agent"
	RoleSteward  = "steward"
	RoleApprover = "approver"
	RoleDesigner = "designer"
	RoleAdmin    = "admin"
)

// Roles lists the roles in the order pages show them.
var Roles = []string{RoleAgent, RoleSteward, RoleApprover, RoleDesigner, RoleAdmin}

// AllDepartments ("*") in a membership means every department.
const AllDepartments = store.AllDepartments

// Membership is a role in a department (or AllDepartments).
type Membership struct {
	Role       string `json:"role"`
	Department string `json:"department"`
}

// Group is "role@department".
func (m Membership) Group() string { return m.Role + "@" + m.Department }

// Delegation is a role the principal holds in someone else's name.
type Delegation struct {
	ID         int64     `json:"id"`
	Delegator  string    `json:"delegator"`
	Role       string    `json:"role"`
	Department string    `json:"department"`
	From       time.Time `json:"valid_from"`
	Until      time.Time `json:"valid_until"`
}

// Principal is who makes a request. The zero Principal is anonymous.
type Principal struct {
	UserID      int64        `json:"id"`
	Username    string       `json:"username"`
	DisplayName string       `json:"display_name"`
	Email       string       `json:"email,omitempty"`
	Memberships []Membership `json:"memberships"`
	// Delegations are the delegations active at authentication time where
	// this user is the delegate.
	Delegations []Delegation `json:"delegations"`
	// Via says how the request was authenticated: "session", "token" or "".
	Via string `json:"-"`
}

// Anonymous reports whether nobody is signed in.
func (p Principal) Anonymous() bool { return p.UserID == 0 }

// Name is the username, or "anonymous".
func (p Principal) Name() string {
	if p.Anonymous() {
		return "anonymous"
	}
	return p.Username
}

// Groups lists "role@department" for the principal's memberships and the
// roles received by delegation (department "*" = every department), sorted.
func (p Principal) Groups() []string {
	var gs []string
	for _, m := range p.Memberships {
		gs = append(gs, m.Group())
	}
	for _, d := range p.Delegations {
		gs = append(gs, d.Role+"@"+d.Department)
	}
	slices.Sort(gs)
	return slices.Compact(gs)
}

// Departments lists the departments where the principal holds some role
// (AllDepartments included as "*"), sorted.
func (p Principal) Departments() []string {
	var ds []string
	for _, m := range p.Memberships {
		ds = append(ds, m.Department)
	}
	slices.Sort(ds)
	return slices.Compact(ds)
}

// HasRole reports whether the principal holds role in dept — its own
// membership first (onBehalfOf ""), else through a delegation (onBehalfOf
// is the delegator). A role held in "*" holds in every department; asking
// for dept "*" needs a role held in "*".
func (p Principal) HasRole(role, dept string) (onBehalfOf string, ok bool) {
	if role == "" || dept == "" {
		return "", false
	}
	for _, m := range p.Memberships {
		if m.Role == role && covers(m.Department, dept) {
			return "", true
		}
	}
	for _, d := range p.Delegations {
		if d.Role == role && covers(d.Department, dept) {
			return d.Delegator, true
		}
	}
	return "", false
}

// OnBehalfOf tells whose delegation gives the principal group
// ("role@department"): "" if the principal holds it in their own right or
// not at all.
func (p Principal) OnBehalfOf(group string) string {
	role, dept, ok := strings.Cut(group, "@")
	if !ok {
		return ""
	}
	who, _ := p.HasRole(role, dept)
	return who
}

func covers(held, want string) bool { return held == AllDepartments || held == want }

// ActiveDelegations keeps the delegations valid at now (from ≤ now < until,
// not revoked) and converts them.
func ActiveDelegations(ds []store.Delegation, now time.Time) []Delegation {
	out := []Delegation{}
	for _, d := range ds {
		if d.ActiveAt(now) {
			out = append(out, Delegation{ID: d.ID, Delegator: d.Delegator, Role: d.Role, Department: d.Department, From: d.ValidFrom, Until: d.ValidUntil})
		}
	}
	return out
}
