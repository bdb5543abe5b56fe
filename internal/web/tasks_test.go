package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// inboxNodes are the user tasks of the voirie instances: node → candidate group.
var inboxNodes = []struct{ node, group string }{
	{"approval", "approver@voirie"},
	{"review", "steward@voirie"},
	{"correction", "agent@voirie"},
}

// seedInbox records 600 open voirie tasks (200 per node above, the first
// 10 corrections overdue) and one open finances task offered to agents.
func seedInbox(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	_, _, err := st.DeployFlow(ctx, "publication", "Publication", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
	require.NoError(t, err)
	for _, in := range []struct{ id, dept string }{{"iv", "voirie"}, {"if", "finances"}} {
		require.NoError(t, st.CreateInstance(ctx, store.Instance{ID: in.id, FlowKey: "publication", Version: 1, Department: in.dept, Status: "running", StartedBy: "agent"}, nil))
	}
	now := time.Now().UTC()
	for i := range 600 {
		n := inboxNodes[i%3]
		var due *time.Time
		if n.node == "correction" {
			d := now.Add(time.Duration(i-30) * time.Hour) // i < 30: overdue
			due = &d
		}
		role, _, _ := strings.Cut(n.group, "@")
		require.NoError(t, st.OpenTask(ctx, store.Task{ID: fmt.Sprintf("iv.%s.%d", n.node, i), InstanceID: "iv", Node: n.node, FlowKey: "publication",
			Department: "voirie", Role: role, Due: due, CreatedAt: now.Add(time.Duration(i) * time.Second), Seq: int64(i + 1)},
			[]string{n.group}, nil, nil, nil, nil))
	}
	require.NoError(t, st.OpenTask(ctx, store.Task{ID: "if.correction.1", InstanceID: "if", Node: "correction", FlowKey: "publication",
		Department: "finances", Role: "agent", CreatedAt: now, Seq: 1}, []string{"agent@finances"}, nil, nil, nil, nil))
}

type inboxPage struct {
	Tasks []struct {
		ID, Node, Department string
		Overdue              bool
	}
	Total, Limit, Offset int
}

// Every demo user's inbox over HTTP, on both dialects: 600 open tasks in
// voirie must not hide the one of finances, each user sees exactly the tasks
// offered to them, and paging returns each of them exactly once.
func TestInboxOverHTTP(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			st := storetest.Open(t, d.URL(t))
			ctx := context.Background()
			require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
			seedInbox(t, st)
			// A délégation de signature: the DGS lends approver in voirie to steward.finances.
			dgs, err := st.UserByUsername(ctx, "dgs")
			require.NoError(t, err)
			sf, err := st.UserByUsername(ctx, "steward.finances")
			require.NoError(t, err)
			require.NoError(t, st.CreateDelegation(ctx, &store.Delegation{DelegatorID: dgs.ID, DelegateID: sf.ID, Role: "approver", Department: "voirie",
				ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour), Reason: "congés"}))
			srv, err := web.New(web.Deps{Config: config.Default(), Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			require.NoError(t, err)
			get := func(token, path string) (int, string) {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				rec := httptest.NewRecorder()
				srv.Handler().ServeHTTP(rec, req)
				return rec.Code, rec.Body.String()
			}
			page := func(token, query string) inboxPage {
				t.Helper()
				code, body := get(token, "/api/v1/tasks?"+query)
				require.Equal(t, http.StatusOK, code, body)
				var p inboxPage
				require.NoError(t, json.Unmarshal([]byte(body), &p))
				return p
			}
			tokens := map[string]string{}
			for _, u := range auth.DemoUsers {
				b := peopleBundle{srv: srv, st: st}
				tokens[u.Username] = b.login(t, u.Username)
			}

			want := map[string]int{ // open tasks offered to each demo user
				"agent.voirie":     200,
				"steward.voirie":   200,
				"agent.finances":   1,
				"steward.finances": 200, // through the delegation
				"dgs":              200, // approver in every department
				"designer":         0,
				"admin":            0,
			}
			for _, u := range auth.DemoUsers {
				t.Run(u.Username, func(t *testing.T) {
					token := tokens[u.Username]
					first := page(token, "")
					require.Equal(t, want[u.Username], first.Total)
					require.Equal(t, min(want[u.Username], 100), len(first.Tasks), "default page of 100")
					seen := map[string]int{}
					for off := 0; off < first.Total+37; off += 37 {
						p := page(token, fmt.Sprintf("limit=37&offset=%d", off))
						require.Equal(t, first.Total, p.Total)
						require.Equal(t, 37, p.Limit)
						require.Equal(t, off, p.Offset)
						who := principalOf(u)
						for _, task := range p.Tasks {
							seen[task.ID]++
							offered := slices.ContainsFunc(inboxNodes, func(n struct{ node, group string }) bool {
								return n.node == task.Node && task.Department == "voirie" && who.holds(n.group)
							}) || (task.ID == "if.correction.1" && who.holds("agent@finances"))
							require.True(t, offered, "%s sees %s", u.Username, task.ID)
						}
					}
					require.Len(t, seen, want[u.Username])
					for id, n := range seen {
						require.Equal(t, 1, n, "%s: %s seen %d times", u.Username, id, n)
					}
				})
			}

			// Filters.
			require.Equal(t, 0, page(tokens["dgs"], "department=finances").Total)
			require.Equal(t, 1, page(tokens["agent.finances"], "department=finances&role=agent&flow=publication").Total)
			require.Equal(t, 0, page(tokens["agent.finances"], "flow=other").Total)
			overdue := page(tokens["agent.voirie"], "overdue=true&limit=500")
			require.Equal(t, 10, overdue.Total, "corrections 2, 5, …, 29 are past due")
			for _, task := range overdue.Tasks {
				require.True(t, task.Overdue, task.ID)
			}
			require.Equal(t, "iv.correction.2", overdue.Tasks[0].ID, "most overdue first")
			soon := page(tokens["agent.voirie"], "dueBefore="+url.QueryEscape(time.Now().Add(24*time.Hour).Format(time.RFC3339)))
			require.Equal(t, 18, soon.Total, "due in less than a day: i < 54")
			require.Equal(t, 200, page(tokens["agent.voirie"], "dueBefore=2100-01-01").Total)
			// status=all adds the tasks of the departments whose instances one may read.
			require.Equal(t, 600, page(tokens["steward.voirie"], "status=all").Total)
			require.Equal(t, 601, page(tokens["admin"], "status=all").Total)

			// Bad parameters are 400s, never 500s.
			for _, q := range []string{"limit=0", "limit=501", "limit=x", "offset=-1", "status=closed", "overdue=yes", "dueBefore=tomorrow"} {
				code, body := get(tokens["agent.voirie"], "/api/v1/tasks?"+q)
				require.Equal(t, http.StatusBadRequest, code, "%s: %s", q, body)
			}
		})
	}
}

type demoPrincipal struct{ groups []string }

func principalOf(u auth.DemoUser) demoPrincipal {
	var gs []string
	for _, m := range u.Memberships {
		gs = append(gs, m.Group())
	}
	if u.Username == "steward.finances" {
		gs = append(gs, "approver@voirie")
	}
	return demoPrincipal{gs}
}

// holds applies the demo users' rights by hand: a role held in "*" holds in
// every department.
func (p demoPrincipal) holds(group string) bool {
	role, dept, _ := strings.Cut(group, "@")
	return slices.Contains(p.groups, group) || slices.Contains(p.groups, role+"@*") && dept != ""
}
