package auth_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestCanActOnTask(t *testing.T) {
	agent := auth.Principal{UserID: 1, Username: "agent.voirie", Memberships: []auth.Membership{{"agent", "voirie"}}}
	dgs := auth.Principal{UserID: 2, Username: "dgs", Memberships: []auth.Membership{{"approver", "*"}}}
	deputy := auth.Principal{UserID: 3, Username: "deputy", Memberships: []auth.Membership{{"agent", "finances"}},
		Delegations: []auth.Delegation{{Delegator: "dgs", Role: "approver", Department: "*"}}}
	cultureDeputy := auth.Principal{UserID: 4, Username: "cd",
		Delegations: []auth.Delegation{{Delegator: "steward.culture", Role: "steward", Department: "culture"}}}
	for _, c := range []struct {
		name       string
		p          auth.Principal
		candidate  string
		dept       string
		ok         bool
		onBehalfOf string
	}{
		{"role in the instance's department", agent, "agent", "voirie", true, ""},
		{"role in another department", agent, "agent", "finances", false, ""},
		{"fixed department", agent, "agent@voirie", "finances", true, ""},
		{"fixed other department", agent, "agent@finances", "voirie", false, ""},
		{"other role", agent, "approver", "voirie", false, ""},
		{"wildcard approver", dgs, "approver", "culture", true, ""},
		{"wildcard approver, fixed department", dgs, "approver@finances", "", true, ""},
		{"delegated approver", deputy, "approver", "voirie", true, "dgs"},
		{"own role first", deputy, "agent", "finances", true, ""},
		{"delegation limited to a department", cultureDeputy, "steward", "culture", true, "steward.culture"},
		{"delegation outside its department", cultureDeputy, "steward", "voirie", false, ""},
		{"anonymous", auth.Principal{}, "agent", "voirie", false, ""},
		{"empty candidate", agent, "", "voirie", false, ""},
		{"no department", agent, "agent", "", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			who, ok := auth.CanActOnTask(c.p, c.candidate, c.dept)
			require.Equal(t, c.ok, ok)
			require.Equal(t, c.onBehalfOf, who)
		})
	}
}

func TestFourEyes(t *testing.T) {
	for _, c := range []struct {
		actor, onBehalfOf, partner string
		ok                         bool
	}{
		{"dgs", "", "agent.voirie", true},
		{"agent.voirie", "", "agent.voirie", false},
		{"Agent.Voirie", "", "agent.voirie", false},
		{"deputy", "dgs", "agent.voirie", true},
		{"deputy", "dgs", "dgs", false},    // the delegator submitted: the delegate may not approve for them
		{"deputy", "dgs", "deputy", false}, // the delegate submitted
		{"dgs", "", "", true},              // nobody recorded
	} {
		require.Equal(t, c.ok, auth.FourEyesOK(c.actor, c.onBehalfOf, c.partner), "%+v", c)
	}
}

func TestPrincipalGroupsAndDelegations(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	ds := []store.Delegation{
		{ID: 1, Delegator: "dgs", Role: "approver", Department: "*", ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)},
		{ID: 2, Delegator: "dgs", Role: "approver", Department: "voirie", ValidFrom: now.Add(-48 * time.Hour), ValidUntil: now.Add(-24 * time.Hour)}, // expired
		{ID: 3, Delegator: "dgs", Role: "admin", Department: "*", ValidFrom: now.Add(time.Hour), ValidUntil: now.Add(48 * time.Hour)},                // not yet valid
		{ID: 4, Delegator: "dgs", Role: "steward", Department: "*", ValidFrom: now.Add(-time.Hour), ValidUntil: now},                                 // ends exactly now
		{ID: 5, Delegator: "x", Role: "designer", Department: "*", ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour), RevokedAt: &now},  // revoked
	}
	active := auth.ActiveDelegations(ds, now)
	require.Len(t, active, 1)
	require.EqualValues(t, 1, active[0].ID)

	p := auth.Principal{UserID: 9, Username: "deputy", Memberships: []auth.Membership{{"agent", "finances"}}, Delegations: active}
	require.Equal(t, []string{"agent@finances", "approver@*"}, p.Groups())
	require.Equal(t, "dgs", p.OnBehalfOf("approver@voirie"))
	require.Equal(t, "dgs", p.OnBehalfOf("approver@*"))
	require.Equal(t, "", p.OnBehalfOf("agent@finances"))
	require.Equal(t, "", p.OnBehalfOf("admin@*"), "not-yet-valid delegation gives nothing")
	_, ok := p.HasRole("approver", "voirie")
	require.True(t, ok)
	_, ok = p.HasRole("admin", "voirie")
	require.False(t, ok)
	_, ok = p.HasRole("steward", "voirie")
	require.False(t, ok, "a delegation ending now gives nothing")
}

func TestPasswords(t *testing.T) {
	fast := auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, err := auth.HashPassword("s3cret", fast)
	require.NoError(t, err)
	require.Regexp(t, `^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, h)
	h2, _ := auth.HashPassword("s3cret", fast)
	require.NotEqual(t, h, h2, "salted")
	ok, rehash, err := auth.VerifyPassword("s3cret", h, fast)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
	ok, _, err = auth.VerifyPassword("S3cret", h, fast)
	require.NoError(t, err)
	require.False(t, ok)
	stronger := fast
	stronger.Time = 2
	ok, rehash, err = auth.VerifyPassword("s3cret", h, stronger)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, rehash, "parameters changed")
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA"} {
		_, _, err = auth.VerifyPassword("x", bad, fast)
		require.Error(t, err, bad)
	}
}

// The inbox (store.Tasks with auth.OfferedTo, in SQL) shows a principal
// exactly the tasks MayActOnTask lets them act on: one rule, two places
// where it runs, and this test keeps them in agreement on both dialects.
func TestInboxAgreesWithMayActOnTask(t *testing.T) {
	principals := []auth.Principal{
		{UserID: 1, Username: "agent.voirie", Memberships: []auth.Membership{{"agent", "voirie"}}},
		{UserID: 2, Username: "dgs", Memberships: []auth.Membership{{"approver", "*"}}},
		{UserID: 3, Username: "deputy", Memberships: []auth.Membership{{"agent", "finances"}},
			Delegations: []auth.Delegation{{Delegator: "dgs", Role: "approver", Department: "*"}}},
		{UserID: 4, Username: "cd", Delegations: []auth.Delegation{{Delegator: "steward.culture", Role: "steward", Department: "culture"}}},
		{UserID: 5, Username: "multi", Memberships: []auth.Membership{{"agent", "voirie"}, {"steward", "finances"}, {"steward", "culture"}}},
		{UserID: 6, Username: "nobody"},
	}
	tasks := []struct {
		candidates, users []string
		assignee, dept    string
	}{
		{[]string{"agent@voirie"}, nil, "", "voirie"},
		{[]string{"agent"}, nil, "", "finances"},
		{[]string{"agent@finances", "approver@voirie"}, nil, "", "voirie"},
		{[]string{"approver@*"}, nil, "", "voirie"},
		{[]string{"steward@culture"}, nil, "", "culture"},
		{[]string{"steward"}, nil, "", "voirie"},
		{nil, []string{"nobody", "cd"}, "", "voirie"},
		{nil, nil, "multi", "voirie"},
		{[]string{"designer@voirie"}, nil, "agent.voirie", "voirie"},
		{nil, nil, "", "voirie"},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, err := s.DeployFlow(ctx, "p", "P", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "d"})
		require.NoError(t, err)
		require.NoError(t, s.CreateInstance(ctx, store.Instance{ID: "i", FlowKey: "p", Version: 1, Department: "voirie", Status: "running", StartedBy: "a"}, nil))
		for i, task := range tasks {
			require.NoError(t, s.OpenTask(ctx, store.Task{ID: fmt.Sprintf("i.t.%d", i), InstanceID: "i", Node: "t", FlowKey: "p",
				Department: task.dept, Assignee: task.assignee}, task.candidates, task.users, nil, nil, nil))
		}
		for _, p := range principals {
			var want []string
			for i, task := range tasks {
				if _, ok := auth.MayActOnTask(p, task.assignee, task.users, task.candidates, task.dept); ok {
					want = append(want, fmt.Sprintf("i.t.%d", i))
				}
			}
			o := auth.OfferedTo(p)
			page, err := s.Tasks(ctx, store.TaskFilter{Open: true, OfferedTo: &o})
			require.NoError(t, err)
			var got []string
			for _, task := range page.Tasks {
				got = append(got, task.ID)
			}
			slices.Sort(got)
			require.Equal(t, want, got, p.Username)
		}
	})
}

func TestMayActOnTask(t *testing.T) {
	deputy := auth.Principal{UserID: 3, Username: "deputy", Memberships: []auth.Membership{{"agent", "finances"}},
		Delegations: []auth.Delegation{{Delegator: "dgs", Role: "approver", Department: "*"}}}
	who, ok := auth.MayActOnTask(deputy, "", nil, []string{"approver@voirie", "agent@finances"}, "voirie")
	require.True(t, ok)
	require.Equal(t, "", who, "own right before a delegation, whatever the order of the candidates")
	who, ok = auth.MayActOnTask(deputy, "", nil, []string{"approver@voirie"}, "voirie")
	require.True(t, ok)
	require.Equal(t, "dgs", who)
	_, ok = auth.MayActOnTask(deputy, "", []string{"deputy"}, nil, "voirie")
	require.True(t, ok)
	_, ok = auth.MayActOnTask(deputy, "deputy", nil, nil, "voirie")
	require.True(t, ok)
	_, ok = auth.MayActOnTask(auth.Principal{}, "", []string{""}, []string{"agent@voirie"}, "voirie")
	require.False(t, ok, "anonymous")
}
