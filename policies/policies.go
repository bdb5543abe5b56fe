// Package policies holds civicflow's access model (model.conf: Casbin RBAC
// with domains, the domain being a department), the default permissions
// (policy.csv), a Casbin adapter over the store, and Authorizer, the fast
// in-memory decision index the HTTP middleware asks on every request.
//
// Where the rules live: "p" rules in the casbin_rule table (seeded from
// policy.csv on the first start, edited by administrators afterwards);
// "g" rules (user, role, department) are the memberships table itself, so
// that roles are never stored twice and cannot drift.
package policies

import (
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/util"

	"github.com/civicflow/civicflow/internal/store"
)

//go:embed model.conf
var modelText string

//go:embed policy.csv
var policyCSV string

// Wildcard is the department meaning "every department" (in a membership or
// a rule) or "some department" (in a question).
const Wildcard = store.AllDepartments

// Model returns a fresh copy of the Casbin model.
func Model() (model.Model, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("policies/model.conf: %w", err)
	}
	return m, nil
}

// ModelText is model.conf.
func ModelText() string { return modelText }

// DefaultRules parses policy.csv.
func DefaultRules() ([]store.CasbinRule, error) {
	r := csv.NewReader(strings.NewReader(policyCSV))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("policies/policy.csv: %w", err)
	}
	rules := make([]store.CasbinRule, 0, len(recs))
	for i, rec := range recs {
		if len(rec) != 5 || rec[0] != "p" {
			return nil, fmt.Errorf("policies/policy.csv: record %d: want \"p, role, department, object, action\", got %q", i+1, rec)
		}
		rules = append(rules, store.NewCasbinRule(rec[0], rec[1:]))
	}
	return rules, nil
}

// Seed loads the default rules into the database on its first start (once
// in its life: rules an administrator removed stay removed).
func Seed(ctx context.Context, st *store.Store) (bool, error) {
	rules, err := DefaultRules()
	if err != nil {
		return false, err
	}
	return st.SeedCasbinRules(ctx, rules)
}

// NewEnforcer returns a Casbin enforcer on model.conf whose policy comes
// from the store through Adapter (p rules from casbin_rule, g rules from
// memberships). The HTTP layer does not use it (see Authorizer); it serves
// the policy admin endpoints, tools, and as the reference the Authorizer is
// tested and benchmarked against.
func NewEnforcer(ctx context.Context, st *store.Store) (*casbin.Enforcer, error) {
	return newEnforcer(&Adapter{st: st, ctx: ctx})
}

func newEnforcer(a interface {
	LoadPolicy(model.Model) error
	SavePolicy(model.Model) error
	AddPolicy(string, string, []string) error
	RemovePolicy(string, string, []string) error
	RemoveFilteredPolicy(string, string, int, ...string) error
}) (*casbin.Enforcer, error) {
	m, err := Model()
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("casbin: %w", err)
	}
	// A role held in "*" holds in every department.
	e.AddNamedDomainMatchingFunc("g", "keyMatch", util.KeyMatch)
	e.SetAdapter(a)
	if err := e.LoadPolicy(); err != nil {
		return nil, fmt.Errorf("casbin: load policy: %w", err)
	}
	return e, nil
}

// NewMemoryEnforcer returns an enforcer on model.conf holding rules and
// memberships given in memory (benchmarks, tests, checks of a policy file).
func NewMemoryEnforcer(rules []store.CasbinRule, memberships []store.Membership) (*casbin.Enforcer, error) {
	return newEnforcer(&memAdapter{rules: rules, ms: memberships})
}

type memAdapter struct {
	rules []store.CasbinRule
	ms    []store.Membership
}

func (a *memAdapter) LoadPolicy(m model.Model) error { return loadInto(m, a.rules, a.ms) }
func (a *memAdapter) SavePolicy(model.Model) error   { return nil }
func (a *memAdapter) AddPolicy(string, string, []string) error {
	return nil
}
func (a *memAdapter) RemovePolicy(string, string, []string) error { return nil }
func (a *memAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return nil
}

func loadInto(m model.Model, rules []store.CasbinRule, ms []store.Membership) error {
	for _, r := range rules {
		if r.PType != "p" {
			continue
		}
		if err := m.AddPolicy("p", "p", r.Values()); err != nil {
			return err
		}
	}
	for _, mb := range ms {
		if err := m.AddPolicy("g", "g", []string{mb.Username, mb.Role, mb.Department}); err != nil {
			return err
		}
	}
	return nil
}
