package policies

import (
	"context"
	"errors"
	"fmt"

	"github.com/casbin/casbin/v2/model"

	"github.com/civicflow/civicflow/internal/store"
)

// Adapter is a Casbin persist.Adapter over the store: "p" rules are rows of
// casbin_rule; "g" rules (user, role, department) are memberships, so that
// a grant through Casbin's API and a grant through the admin endpoints are
// the same row. Every change bumps the authorisation version, which the
// Authorizers of every process watch.
type Adapter struct {
	st  *store.Store
	ctx context.Context
}

// NewAdapter returns an adapter over st; ctx bounds its queries.
func NewAdapter(ctx context.Context, st *store.Store) *Adapter { return &Adapter{st: st, ctx: ctx} }

// LoadPolicy loads every p rule and every membership of enabled users.
func (a *Adapter) LoadPolicy(m model.Model) error {
	rules, err := a.st.CasbinRules(a.ctx)
	if err != nil {
		return err
	}
	ms, err := a.st.Memberships(a.ctx)
	if err != nil {
		return err
	}
	return loadInto(m, rules, ms)
}

// SavePolicy replaces the p rules with the model's (g rules are memberships,
// managed through AddPolicy/RemovePolicy or the admin endpoints).
func (a *Adapter) SavePolicy(m model.Model) error {
	var rules []store.CasbinRule
	if ast, ok := m["p"]["p"]; ok {
		for _, r := range ast.Policy {
			rules = append(rules, store.NewCasbinRule("p", r))
		}
	}
	return a.st.ReplaceCasbinRules(a.ctx, rules)
}

// AddPolicy adds a p rule, or grants a membership for a g rule.
func (a *Adapter) AddPolicy(sec, ptype string, rule []string) error {
	switch ptype {
	case "p":
		_, err := a.st.AddCasbinRules(a.ctx, []store.CasbinRule{store.NewCasbinRule(ptype, rule)})
		return err
	case "g":
		u, role, dept, err := a.membership(rule)
		if err != nil {
			return err
		}
		return a.st.GrantMembership(a.ctx, u.ID, role, dept)
	}
	return fmt.Errorf("policy type %q is not used by civicflow's model", ptype)
}

// RemovePolicy removes a p rule, or revokes a membership for a g rule.
func (a *Adapter) RemovePolicy(sec, ptype string, rule []string) error {
	switch ptype {
	case "p":
		return a.st.RemoveCasbinRule(a.ctx, store.NewCasbinRule(ptype, rule))
	case "g":
		u, role, dept, err := a.membership(rule)
		if err != nil {
			return err
		}
		return a.st.RevokeMembership(a.ctx, u.ID, role, dept)
	}
	return fmt.Errorf("policy type %q is not used by civicflow's model", ptype)
}

// RemoveFilteredPolicy removes the matching p rules (g rules: revoke the
// memberships one by one through the admin endpoints instead).
func (a *Adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	if ptype != "p" {
		return errors.New("filtered removal of role links is not supported: revoke memberships instead")
	}
	return a.st.RemoveFilteredCasbinRules(a.ctx, ptype, fieldIndex, fieldValues...)
}

func (a *Adapter) membership(rule []string) (store.User, string, string, error) {
	if len(rule) != 3 {
		return store.User{}, "", "", fmt.Errorf("a role link is (user, role, department), got %q", rule)
	}
	u, err := a.st.UserByUsername(a.ctx, rule[0])
	return u, rule[1], rule[2], err
}
