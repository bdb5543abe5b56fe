package policies_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/policies"
)

// memSource is an in-memory policies.Source.
type memSource struct {
	version int64
	rules   []store.CasbinRule
	ms      []store.Membership
	ds      []store.Delegation
}

func (m *memSource) AuthzVersion(context.Context) (int64, error)             { return m.version, nil }
func (m *memSource) CasbinRules(context.Context) ([]store.CasbinRule, error) { return m.rules, nil }
func (m *memSource) Memberships(context.Context) ([]store.Membership, error) { return m.ms, nil }
func (m *memSource) CurrentDelegations(context.Context, int64, time.Time) ([]store.Delegation, error) {
	return m.ds, nil
}

func mb(user, role, dept string) store.Membership {
	return store.Membership{Username: user, Role: role, Department: dept}
}

func rule(v ...string) store.CasbinRule { return store.NewCasbinRule("p", v) }

func TestDefaultRulesParse(t *testing.T) {
	rules, err := policies.DefaultRules()
	require.NoError(t, err)
	require.Greater(t, len(rules), 40)
	_, err = policies.Model()
	require.NoError(t, err)
}

func TestAuthorizerAgreesWithCasbin(t *testing.T) {
	rules, err := policies.DefaultRules()
	require.NoError(t, err)
	rules = append(rules, rule("steward", "culture", "audit", "read")) // a department-specific rule
	ms := []store.Membership{
		mb("agent.voirie", "agent", "voirie"),
		mb("steward.voirie", "steward", "voirie"),
		mb("steward.culture", "steward", "culture"),
		mb("dgs", "approver", "*"),
		mb("designer", "designer", "*"),
		mb("admin", "admin", "*"),
		mb("multi", "agent", "finances"),
		mb("multi", "steward", "culture"),
	}
	e, err := policies.NewMemoryEnforcer(rules, ms)
	require.NoError(t, err)
	az, err := policies.NewAuthorizer(context.Background(), &memSource{rules: rules, ms: ms}, policies.AuthorizerOptions{})
	require.NoError(t, err)

	objs := map[string]bool{}
	acts := map[string]bool{}
	for _, r := range rules {
		objs[r.V2], acts[r.V3] = true, true
	}
	users := []string{"agent.voirie", "steward.voirie", "steward.culture", "dgs", "designer", "admin", "multi", "nobody"}
	depts := []string{"voirie", "finances", "culture"}
	n := 0
	for _, u := range users {
		for _, d := range depts {
			for o := range objs {
				for a := range acts {
					want, err := e.Enforce(u, d, o, a)
					require.NoError(t, err)
					require.Equal(t, want, az.Decide(u, d, o, a), "%s %s %s %s", u, d, o, a)
					n++
				}
			}
		}
		// "*" = in some department: the OR over the departments.
		for o := range objs {
			for a := range acts {
				want := false
				for _, d := range depts {
					ok, _ := e.Enforce(u, d, o, a)
					want = want || ok
				}
				require.Equal(t, want, az.Decide(u, "*", o, a), "%s * %s %s", u, o, a)
			}
		}
	}
	require.Greater(t, n, 1000)
}

func TestAuthorizerCases(t *testing.T) {
	rules := []store.CasbinRule{
		rule("agent", "*", "tasks", "complete"),
		rule("steward", "voirie", "datasets", "publish"),
		rule("approver", "*", "tasks", "complete"),
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	src := &memSource{rules: rules, ms: []store.Membership{
		mb("a", "agent", "voirie"),
		mb("s", "steward", "*"),
		mb("dgs", "approver", "*"),
	}, ds: []store.Delegation{
		{Delegator: "dgs", Delegate: "deputy", Role: "approver", Department: "*", ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)},
		{Delegator: "dgs", Delegate: "late", Role: "approver", Department: "*", ValidFrom: now.Add(-2 * time.Hour), ValidUntil: now.Add(-time.Hour)},
		{Delegator: "dgs", Delegate: "early", Role: "approver", Department: "*", ValidFrom: now.Add(time.Hour), ValidUntil: now.Add(2 * time.Hour)},
		{Delegator: "a", Delegate: "usurper", Role: "approver", Department: "*", ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)},
	}}
	az, err := policies.NewAuthorizer(context.Background(), src, policies.AuthorizerOptions{Now: func() time.Time { return now }})
	require.NoError(t, err)
	for _, c := range []struct {
		user, dept, obj, act string
		want                 bool
	}{
		{"a", "voirie", "tasks", "complete", true},
		{"a", "finances", "tasks", "complete", false},
		{"a", "*", "tasks", "complete", true},
		{"a", "voirie", "tasks", "read", false},
		{"s", "voirie", "datasets", "publish", true},
		{"s", "culture", "datasets", "publish", false},
		{"s", "*", "datasets", "publish", true},
		{"dgs", "culture", "tasks", "complete", true},
		{"deputy", "culture", "tasks", "complete", true},
		{"late", "culture", "tasks", "complete", false},
		{"early", "culture", "tasks", "complete", false},
		{"usurper", "culture", "tasks", "complete", false}, // the delegator does not hold the role
		{"nobody", "*", "tasks", "complete", false},
		{"a", "voirie", "", "", false},
	} {
		require.Equal(t, c.want, az.Decide(c.user, c.dept, c.obj, c.act), "%+v", c)
	}
	require.Equal(t, []string{"*"}, az.Departments(context.Background(), "deputy", "tasks", "complete"))
	require.Equal(t, []string{"voirie"}, az.Departments(context.Background(), "s", "datasets", "publish"))
}

// TestAuthorizerSeesChanges: in-process changes are seen at once after
// Invalidate; another process's changes within the poll interval.
func TestAuthorizerSeesChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		_, err := policies.Seed(ctx, st)
		require.NoError(t, err)
		u := &store.User{Username: "zoe"}
		require.NoError(t, st.CreateUser(ctx, u))
		az, err := policies.NewAuthorizer(ctx, st, policies.AuthorizerOptions{CheckEvery: 50 * time.Millisecond})
		require.NoError(t, err)
		require.False(t, az.Allowed(ctx, "zoe", "voirie", "tasks", "complete"))

		require.NoError(t, st.GrantMembership(ctx, u.ID, "agent", "voirie"))
		az.Invalidate()
		require.True(t, az.Allowed(ctx, "zoe", "voirie", "tasks", "complete"), "seen at once after Invalidate")

		// Another process: no Invalidate, only the version in settings.
		require.NoError(t, st.RevokeMembership(ctx, u.ID, "agent", "voirie"))
		require.Eventually(t, func() bool { return !az.Allowed(ctx, "zoe", "voirie", "tasks", "complete") }, 2*time.Second, 10*time.Millisecond)

		// Editing rules through Casbin's API (the adapter) is seen too.
		e, err := policies.NewEnforcer(ctx, st)
		require.NoError(t, err)
		ok, err := e.AddPolicy("auditor", "*", "audit", "read")
		require.NoError(t, err)
		require.True(t, ok)
		_, err = e.AddGroupingPolicy("zoe", "auditor", "*")
		require.NoError(t, err)
		require.Eventually(t, func() bool { return az.Allowed(ctx, "zoe", "finances", "audit", "read") }, 2*time.Second, 10*time.Millisecond)
		ms, err := st.MembershipsOf(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, ms, 1, "a g rule through Casbin is a membership row")
		require.NoError(t, st.SetUserDisabled(ctx, u.ID, true))
		az.Invalidate()
		require.False(t, az.Allowed(ctx, "zoe", "finances", "audit", "read"), "disabled users lose every permission")
	})
}
