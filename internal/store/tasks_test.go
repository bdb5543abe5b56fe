package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/migrations"
)

// seedInstance deploys a flow (once) and records a running instance.
func seedInstance(t testing.TB, s *store.Store, id, dept string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.FlowVersion(ctx, "p", 1); errors.Is(err, store.ErrNotFound) {
		_, _, err := s.DeployFlow(ctx, "p", "P", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
		require.NoError(t, err)
	}
	require.NoError(t, s.CreateInstance(ctx, store.Instance{ID: id, FlowKey: "p", Version: 1, Department: dept, Status: "running", StartedBy: "agent"}, nil))
}

func openTask(t testing.TB, s *store.Store, task store.Task, candidates, users []string) {
	t.Helper()
	if task.FlowKey == "" {
		task.FlowKey = "p"
	}
	require.NoError(t, s.OpenTask(context.Background(), task, candidates, users, nil, nil, nil))
}

func inbox(t *testing.T, s *store.Store, f store.TaskFilter) (ids []string, total int) {
	t.Helper()
	page, err := s.Tasks(context.Background(), f)
	require.NoError(t, err)
	for _, task := range page.Tasks {
		ids = append(ids, task.ID)
	}
	return ids, page.Total
}

// Inboxes are filtered in SQL: whoever the tasks of other departments are
// offered to, each offeree gets exactly the tasks offered to them.
func TestTasksOfferedTo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seedInstance(t, s, "v", "voirie")
		seedInstance(t, s, "f", "finances")
		base := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		for i := range 30 {
			due := base.Add(time.Duration(30-i) * time.Hour)
			openTask(t, s, store.Task{ID: fmt.Sprintf("v.check.%02d", i), InstanceID: "v", Node: "check", Department: "voirie", Role: "agent", Due: &due,
				CreatedAt: base}, []string{"agent@voirie"}, nil)
		}
		openTask(t, s, store.Task{ID: "f.check.1", InstanceID: "f", Node: "check", Department: "finances", Role: "agent", CreatedAt: base}, []string{"agent@finances"}, nil)
		openTask(t, s, store.Task{ID: "v.approve.1", InstanceID: "v", Node: "approve", Department: "voirie", Role: "approver", CreatedAt: base}, []string{"approver@voirie"}, nil)
		openTask(t, s, store.Task{ID: "f.legacy.1", InstanceID: "f", Node: "legacy", Department: "finances", Role: "steward", CreatedAt: base}, []string{"steward"}, nil)
		openTask(t, s, store.Task{ID: "f.named.1", InstanceID: "f", Node: "named", Department: "finances", CreatedAt: base}, nil, []string{"agent.voirie"})
		openTask(t, s, store.Task{ID: "v.assigned.1", InstanceID: "v", Node: "assigned", Department: "voirie", Assignee: "steward.voirie", CreatedAt: base}, nil, nil)
		openTask(t, s, store.Task{ID: "v.closed.1", InstanceID: "v", Node: "closed", Department: "voirie", Role: "agent", CreatedAt: base}, []string{"agent@voirie"}, nil)
		require.NoError(t, s.CloseTask(ctx, store.TaskClosing{ID: "v.closed.1", Status: "completed", By: "agent.voirie", At: base, Seq: 9}))

		agentVoirie := &store.Offeree{Username: "agent.voirie", Groups: []string{"agent@voirie"}}
		for _, c := range []struct {
			name  string
			o     store.Offeree
			total int
			first string
		}{
			{"agent of voirie: its 30 tasks, most urgent first, and the one naming it", *agentVoirie, 31, "v.check.29"},
			{"agent of finances", store.Offeree{Username: "agent.finances", Groups: []string{"agent@finances"}}, 1, "f.check.1"},
			{"approver in every department", store.Offeree{Username: "dgs", Groups: []string{"approver@*"}}, 1, "v.approve.1"},
			{"delegate of the approver, and steward of finances (bare role = the task's department)",
				store.Offeree{Username: "deputy", Groups: []string{"approver@voirie", "steward@finances"}}, 2, "f.legacy.1"},
			{"approver of another department", store.Offeree{Username: "x", Groups: []string{"approver@culture"}}, 0, ""},
			{"assignee", store.Offeree{Username: "steward.voirie", Groups: []string{"steward@voirie"}}, 1, "v.assigned.1"},
			{"nobody", store.Offeree{}, 0, ""},
			{"a role in every department is not a candidate group of department *", store.Offeree{Username: "y", Groups: []string{"agent@*"}}, 31, "v.check.29"},
		} {
			t.Run(c.name, func(t *testing.T) {
				o := c.o
				ids, total := inbox(t, s, store.TaskFilter{Open: true, OfferedTo: &o})
				require.Equal(t, c.total, total)
				require.Len(t, ids, c.total)
				if c.total > 0 {
					require.Equal(t, c.first, ids[0])
				}
			})
		}

		// Paging returns every task once.
		seen := map[string]int{}
		for off := 0; off < 40; off += 7 {
			ids, total := inbox(t, s, store.TaskFilter{Open: true, OfferedTo: agentVoirie, Limit: 7, Offset: off})
			require.Equal(t, 31, total)
			for _, id := range ids {
				seen[id]++
			}
		}
		require.Len(t, seen, 31)
		for id, n := range seen {
			require.Equal(t, 1, n, id)
		}

		// Filters.
		_, total := inbox(t, s, store.TaskFilter{Open: true, OfferedTo: agentVoirie, Department: "finances"})
		require.Equal(t, 1, total)
		_, total = inbox(t, s, store.TaskFilter{Open: true, OfferedTo: agentVoirie, Role: "agent"})
		require.Equal(t, 30, total)
		_, total = inbox(t, s, store.TaskFilter{Open: true, OfferedTo: agentVoirie, Flow: "other"})
		require.Equal(t, 0, total)
		ids, total := inbox(t, s, store.TaskFilter{Open: true, OfferedTo: agentVoirie, DueBefore: base.Add(3 * time.Hour)})
		require.Equal(t, 2, total, "due at +1h and +2h")
		require.Equal(t, []string{"v.check.29", "v.check.28"}, ids)
		_, total = inbox(t, s, store.TaskFilter{Open: true, OfferedTo: agentVoirie, Instance: "f"})
		require.Equal(t, 1, total)

		// status=all: closed tasks offered to the caller, and every task of
		// the departments given.
		_, total = inbox(t, s, store.TaskFilter{OfferedTo: agentVoirie})
		require.Equal(t, 32, total)
		_, total = inbox(t, s, store.TaskFilter{OfferedTo: &store.Offeree{Username: "reader"}, AlsoDepartments: []string{"finances"}})
		require.Equal(t, 3, total)
		_, total = inbox(t, s, store.TaskFilter{OfferedTo: &store.Offeree{Username: "reader"}, AlsoDepartments: []string{store.AllDepartments}})
		require.Equal(t, 36, total)
		_, total = inbox(t, s, store.TaskFilter{})
		require.Equal(t, 36, total)

		// Claimed tasks stay in the candidates' inboxes; closing a task
		// takes it out of every inbox.
		require.NoError(t, s.AssignTask(ctx, "f.check.1", "agent.finances", base, 10))
		_, total = inbox(t, s, store.TaskFilter{Open: true, OfferedTo: &store.Offeree{Username: "other", Groups: []string{"agent@finances"}}})
		require.Equal(t, 1, total)
		require.NoError(t, s.CloseTask(ctx, store.TaskClosing{ID: "f.check.1", Status: "completed", By: "agent.finances", At: base, Seq: 11}))
		_, total = inbox(t, s, store.TaskFilter{Open: true, OfferedTo: &store.Offeree{Username: "agent.finances", Groups: []string{"agent@finances"}}})
		require.Equal(t, 0, total)
	})
}

// The engine's bookkeeping writes may land out of order: an older one
// (lower seq) never overwrites a newer one.
func TestReadModelWritesAreOrdered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seedInstance(t, s, "i", "voirie")
		at := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		upd := func(status string, seq int64) {
			t.Helper()
			require.NoError(t, s.UpdateInstance(ctx, store.InstanceUpdate{ID: "i", Status: status, Current: []string{status}, At: at.Add(time.Duration(seq) * time.Second), Seq: seq}))
		}
		status := func() store.Instance {
			t.Helper()
			in, err := s.Instance(ctx, "i")
			require.NoError(t, err)
			return in
		}
		upd("incident", 2)
		upd("running", 1) // older: ignored
		require.Equal(t, "incident", status().Status)
		require.Equal(t, []string{"incident"}, status().Current())
		upd("incident", 2) // the same write again (retried activity): same row
		upd("completed", 4)
		upd("running", 3) // a retried older update must not revive an ended instance
		in := status()
		require.Equal(t, "completed", in.Status)
		require.NotNil(t, in.EndedAt)
		require.EqualValues(t, 4, in.Seq)
		err := s.UpdateInstance(ctx, store.InstanceUpdate{ID: "absent", Status: "running", Seq: 1})
		require.ErrorIs(t, err, store.ErrNotFound)

		// Tasks: a claim older than the close is ignored.
		openTask(t, s, store.Task{ID: "i.a.1", InstanceID: "i", Node: "a", Name: "A", Department: "voirie", Role: "agent", Seq: 5}, []string{"agent@voirie"}, nil)
		require.NoError(t, s.AssignTask(ctx, "i.a.1", "agent.voirie", at, 7))
		require.NoError(t, s.AssignTask(ctx, "i.a.1", "", at, 6)) // unclaim older than the claim
		task, err := s.Task(ctx, "i.a.1")
		require.NoError(t, err)
		require.Equal(t, "claimed", task.Status)
		require.Equal(t, "agent.voirie", task.Assignee)
		require.NoError(t, s.CloseTask(ctx, store.TaskClosing{ID: "i.a.1", InstanceID: "i", Node: "a", Status: "completed", By: "agent.voirie", At: at, Seq: 9}))
		require.NoError(t, s.AssignTask(ctx, "i.a.1", "", at, 8))
		task, err = s.Task(ctx, "i.a.1")
		require.NoError(t, err)
		require.Equal(t, "completed", task.Status)
		require.Equal(t, "agent.voirie", task.Assignee)

		// A close that overtakes the open of its task: the task is recorded
		// closed, the open fills in its description without reopening it.
		require.NoError(t, s.CloseTask(ctx, store.TaskClosing{ID: "i.b.1", InstanceID: "i", Node: "b", Status: "cancelled", At: at, Message: "interrupted", Seq: 12}))
		openTask(t, s, store.Task{ID: "i.b.1", InstanceID: "i", Node: "b", Name: "B", Department: "voirie", Role: "agent", Seq: 11}, []string{"agent@voirie"}, nil)
		openTask(t, s, store.Task{ID: "i.b.1", InstanceID: "i", Node: "b", Name: "B", Department: "voirie", Role: "agent", Seq: 11}, []string{"agent@voirie"}, nil) // retried
		task, err = s.Task(ctx, "i.b.1")
		require.NoError(t, err)
		require.Equal(t, "cancelled", task.Status)
		require.Equal(t, "B", task.Name)
		require.Equal(t, []string{"agent@voirie"}, task.Candidates())
		require.Equal(t, "interrupted", task.Message)
		agent := &store.Offeree{Username: "agent.voirie", Groups: []string{"agent@voirie"}}
		ids, _ := inbox(t, s, store.TaskFilter{Open: true, OfferedTo: agent})
		require.NotContains(t, ids, "i.b.1")
		ids, _ = inbox(t, s, store.TaskFilter{OfferedTo: agent})
		require.Contains(t, ids, "i.b.1", "offered, closed")
	})
}

// Migration 00005 backfills the offers of the tasks already in the inbox.
func TestInboxMigrationBackfillsOffers(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, store.Options{URL: d.URL(t)})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			require.NoError(t, migrations.UpTo(ctx, s.DB().DB, s.Dialect(), 4))
			now := time.Now().UTC()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO flows (key, name, latest_version, created_at, updated_at) VALUES ('p', 'P', 1, ?, ?)`, []any{now, now}},
				{`INSERT INTO flow_versions (flow_key, version, checksum, bpmn, graph, deployed_by, deployed_at) VALUES ('p', 1, 'c', '', '{}', 'd', ?)`, []any{now}},
				{`INSERT INTO instances (id, flow_key, version, department, status, started_by, started_at, updated_at) VALUES ('i', 'p', 1, 'voirie', 'running', 'a', ?, ?)`, []any{now, now}},
			} {
				_, err := s.DB().ExecContext(ctx, s.DB().Rebind(q.sql), q.args...)
				require.NoError(t, err)
			}
			for _, task := range []struct{ id, status, candidates, users string }{
				{"i.a.1", "open", `["agent@voirie","approver@*"]`, `[]`},
				{"i.b.1", "claimed", `["steward"]`, `["someone"]`},
				{"i.c.1", "completed", `["agent@voirie"]`, `[]`},
				{"i.d.1", "open", `{}`, `[42, ""]`},
			} {
				_, err := s.DB().ExecContext(ctx, s.DB().Rebind(`INSERT INTO tasks (id, instance_id, node, flow_key, department, candidates, candidate_users, status, created_at, updated_at)
					VALUES (?, 'i', 'n', 'p', 'voirie', ?, ?, ?, ?, ?)`), task.id, task.candidates, task.users, task.status, now, now)
				require.NoError(t, err)
			}
			_, err = s.Migrate(ctx)
			require.NoError(t, err)
			for _, c := range []struct {
				o    store.Offeree
				open []string
				all  int
			}{
				{store.Offeree{Username: "agent.voirie", Groups: []string{"agent@voirie"}}, []string{"i.a.1"}, 2},
				{store.Offeree{Username: "dgs", Groups: []string{"approver@*"}}, []string{"i.a.1"}, 1},
				{store.Offeree{Username: "sv", Groups: []string{"steward@voirie"}}, []string{"i.b.1"}, 1},
				{store.Offeree{Username: "someone"}, []string{"i.b.1"}, 1},
			} {
				ids, _ := inbox(t, s, store.TaskFilter{Open: true, OfferedTo: &c.o})
				require.Equal(t, c.open, ids, "%+v", c.o)
				_, total := inbox(t, s, store.TaskFilter{OfferedTo: &c.o})
				require.Equal(t, c.all, total, "%+v", c.o)
			}
		})
	}
}
