package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

// seedTasks opens a review task in voirie (offered to stewards), a
// correction in finances (offered to agents) and a closed review in voirie.
func seedTasks(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	_, _, err := st.DeployFlow(ctx, "publication", "Publication", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
	require.NoError(t, err)
	for _, in := range []struct{ id, dept string }{{"iv", "voirie"}, {"if", "finances"}} {
		require.NoError(t, st.CreateInstance(ctx, store.Instance{ID: in.id, FlowKey: "publication", Version: 1, Department: in.dept, Status: "running", StartedBy: "agent.voirie"}, nil))
	}
	now := time.Now().UTC()
	open := func(id, inst, node, dept, group string, seq int64) {
		role := group[:len(group)-len("@"+dept)]
		require.NoError(t, st.OpenTask(ctx, store.Task{ID: id, InstanceID: inst, Node: node, FlowKey: "publication", Department: dept,
			Role: role, CreatedAt: now, Seq: seq}, []string{group}, nil, nil, nil, nil))
	}
	open("iv.review", "iv", "review", "voirie", "steward@voirie", 1)
	open("if.correction", "if", "correction", "finances", "agent@finances", 1)
	open("iv.closed", "iv", "review2", "voirie", "steward@voirie", 2)
	require.NoError(t, st.CloseTask(ctx, store.TaskClosing{ID: "iv.closed", InstanceID: "iv", Node: "review2", Status: workflows.TaskCompleted,
		By: "steward.voirie", At: now, Seq: 3}))
}

// The one decision on tasks, as each demo user meets it: who sees a task
// (offered to them, or a task of a department whose requests they read),
// who may act on it, and the refusals (kind and French sentence) before
// the workflow is asked anything.
func TestTaskAuthorization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
		seedTasks(t, st)
		az, err := auth.New(ctx, st, auth.Options{})
		require.NoError(t, err)
		svc := service.New(service.Deps{Store: st, Auth: az})
		callerOf := func(username string) service.Caller {
			if username == "" {
				return service.Caller{}
			}
			u, err := st.UserByUsername(ctx, username)
			require.NoError(t, err)
			p, err := az.PrincipalFor(ctx, u)
			require.NoError(t, err)
			return service.Caller{Principal: p, IP: "192.0.2.1"}
		}
		for _, tc := range []struct {
			user, task string
			see        service.Kind // 0: Task answers
			mayAct     bool
			complete   service.Kind // CompleteTask's refusal when it does not reach the workflow
			fr         string       // its French sentence
		}{
			{user: "steward.voirie", task: "iv.review", mayAct: true},
			{user: "agent.voirie", task: "iv.review", complete: service.Forbidden, fr: "Cette tâche est proposée à steward@voirie et non à vous."},
			{user: "dgs", task: "iv.review", complete: service.Forbidden, fr: "Cette tâche est proposée à steward@voirie et non à vous."},
			{user: "agent.finances", task: "iv.review", see: service.Forbidden, complete: service.Forbidden,
				fr: "Cette tâche relève d'un autre service : elle ne vous est pas proposée."},
			{user: "steward.finances", task: "iv.review", see: service.Forbidden, complete: service.Forbidden,
				fr: "Cette tâche relève d'un autre service : elle ne vous est pas proposée."},
			{user: "agent.finances", task: "if.correction", mayAct: true},
			{user: "agent.voirie", task: "if.correction", see: service.Forbidden, complete: service.Forbidden,
				fr: "Cette tâche relève d'un autre service : elle ne vous est pas proposée."},
			{user: "admin", task: "if.correction", complete: service.Forbidden, fr: "Cette tâche est proposée à agent@finances et non à vous."},
			{user: "", task: "iv.review", see: service.Forbidden, complete: service.Forbidden},
			{user: "steward.voirie", task: "iv.closed", mayAct: true, complete: service.Conflict, fr: "Cette tâche est déjà close."},
			{user: "steward.voirie", task: "nope", see: service.NotFound, complete: service.NotFound, fr: "Cette tâche n'existe pas."},
		} {
			t.Run(tc.user+"/"+tc.task, func(t *testing.T) {
				c := callerOf(tc.user)
				v, err := svc.Task(ctx, c, tc.task)
				require.Equal(t, tc.see, service.KindOf(err), "Task: %v", err)
				if tc.see == 0 {
					require.Equal(t, tc.mayAct, v.MayAct)
				}
				if tc.complete == 0 {
					return // would ask the workflow
				}
				_, err = svc.CompleteTask(ctx, c, tc.task, map[string]any{"ok": true})
				var e *service.Error
				require.True(t, errors.As(err, &e), "CompleteTask: %v", err)
				require.Equal(t, tc.complete, e.Kind, e.Msg)
				if tc.fr != "" {
					require.Equal(t, tc.fr, e.Fr)
				}
				if tc.complete == service.Forbidden && tc.see == 0 {
					_, err = svc.ClaimTask(ctx, c, tc.task)
					require.Equal(t, service.Forbidden, service.KindOf(err), "ClaimTask: %v", err)
				}
			})
		}
	})
}

// The inbox applies the same rule in SQL: each user's open tasks are
// those Task says they may act on.
func TestListTasksMatchesTask(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
		seedTasks(t, st)
		az, err := auth.New(ctx, st, auth.Options{})
		require.NoError(t, err)
		svc := service.New(service.Deps{Store: st, Auth: az})
		for _, du := range auth.DemoUsers {
			u, err := st.UserByUsername(ctx, du.Username)
			require.NoError(t, err)
			p, err := az.PrincipalFor(ctx, u)
			require.NoError(t, err)
			c := service.Caller{Principal: p}
			page, err := svc.ListTasks(ctx, c, service.TaskFilter{})
			require.NoError(t, err)
			require.Equal(t, len(page.Tasks), page.Total)
			for _, tk := range page.Tasks {
				v, err := svc.Task(ctx, c, tk.ID)
				require.NoError(t, err, du.Username)
				require.True(t, v.MayAct, "%s sees %s in the inbox", du.Username, tk.ID)
			}
		}
		_, err = svc.ListTasks(ctx, service.Caller{}, service.TaskFilter{Status: "done"})
		require.Equal(t, service.BadRequest, service.KindOf(err))
	})
}
