package app_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/store"
)

// sandboxState is what GET /designer/try/{id} answers (the fields read here).
type sandboxState struct {
	ID      string   `json:"id"`
	Status  string   `json:"status"`
	Current []string `json:"current"`
	Done    []string `json:"done"`
	Tasks   []struct {
		ID   string         `json:"id"`
		Node string         `json:"node"`
		Form map[string]any `json:"form"`
	} `json:"tasks"`
}

type tryAnswer struct {
	OK       bool   `json:"ok"`
	ID       string `json:"id"`
	Message  string `json:"message"`
	Problems []struct {
		Element string `json:"element"`
		Message string `json:"message"`
	} `json:"problems"`
}

func (u *user) waitSandbox(id string, ok func(sandboxState) bool) sandboxState {
	u.e.t.Helper()
	var st sandboxState
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st = sandboxState{}
		code := u.json(http.MethodGet, "/designer/try/"+id, nil, &st)
		if code == 200 && ok(st) {
			return st
		}
		time.Sleep(200 * time.Millisecond)
	}
	u.e.t.Fatalf("sandbox %s: condition not reached, last state %+v", id, st)
	return st
}

// TestSandboxPublication tries the publication flow in the designer's
// sandbox on the real embedded Temporal: the stubs answer the service
// tasks, the designer completes the review and the approval, the run ends;
// nothing of it is in the store (no instance, no task row), the inboxes and
// request lists do not show it; and the routes refuse what is not theirs.
func TestSandboxPublication(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application")
	}
	e := startApp(t)
	des, admin, steward := e.login("designer"), e.login("admin"), e.login("steward.voirie")

	var started tryAnswer
	require.Equal(t, 201, des.json(http.MethodPost, "/designer/try", map[string]any{
		"xml": string(designer.PublicationBPMN), "variables": map[string]any{"dataset": "essai"},
	}, &started), "%+v", started)
	require.True(t, started.OK)
	require.True(t, strings.HasPrefix(started.ID, "sandbox-"), started.ID)
	id := started.ID

	// The stubs answered ingest and validate (valid: true): the review is open, with its form.
	st := des.waitSandbox(id, func(s sandboxState) bool { return len(s.Tasks) == 1 && s.Tasks[0].Node == "review" })
	require.Contains(t, st.Done, "validate")
	require.Contains(t, st.Current, "review")
	require.NotEmpty(t, st.Tasks[0].Form["components"], "the review's real form")

	// Refusals: someone else's run, a non-sandbox id, a non-designer.
	var refusal tryAnswer
	require.Equal(t, 403, admin.json(http.MethodGet, "/designer/try/"+id, nil, &refusal))
	require.Contains(t, refusal.Message, "autre personne")
	require.Equal(t, 403, admin.json(http.MethodPost, "/designer/try/"+id+"/tasks/"+st.Tasks[0].ID+"/complete", map[string]any{"data": map[string]any{"decision": "approve"}}, nil))
	require.Equal(t, 403, admin.json(http.MethodPost, "/designer/try/"+id+"/cancel", nil, nil))
	require.Equal(t, 403, steward.json(http.MethodGet, "/designer/try/"+id, nil, nil))
	require.Equal(t, 403, steward.json(http.MethodPost, "/designer/try", map[string]any{"xml": string(designer.PublicationBPMN)}, nil))
	refusal = tryAnswer{}
	require.Equal(t, 404, des.json(http.MethodGet, "/designer/try/not-a-sandbox", nil, &refusal))
	require.Contains(t, refusal.Message, "n'existe pas")
	require.Equal(t, 404, des.json(http.MethodGet, "/designer/try/sandbox-0000", nil, nil))
	require.Equal(t, 404, des.json(http.MethodPost, "/designer/try/not-a-sandbox/cancel", nil, nil))

	// An invalid draft: a French 422 naming the element.
	refusal = tryAnswer{}
	bad := strings.Replace(string(designer.PublicationBPMN), `civicflow:activity="civicflow.validate"`, `civicflow:activity="civicflow.inconnue"`, 1)
	require.Equal(t, 422, des.json(http.MethodPost, "/designer/try", map[string]any{"xml": bad}, &refusal))
	require.Contains(t, refusal.Message, "L'essai est impossible")
	require.True(t, slices.ContainsFunc(refusal.Problems, func(p struct {
		Element string `json:"element"`
		Message string `json:"message"`
	}) bool {
		return p.Element == "validate"
	}), "%+v", refusal)
	refusal = tryAnswer{}
	require.Equal(t, 422, des.json(http.MethodPost, "/designer/try", map[string]any{"xml": "<pas du bpmn"}, &refusal))
	require.Contains(t, refusal.Message, "BPMN")
	// Start variables have a real start's bounds (they travel in every event).
	deep := map[string]any{"v": 1}
	for range 40 {
		deep = map[string]any{"n": deep}
	}
	require.Equal(t, 422, des.json(http.MethodPost, "/designer/try", map[string]any{
		"xml": string(designer.PublicationBPMN), "variables": map[string]any{"x": deep}}, nil))

	// Invalid form data is refused in French; then the review, the approval.
	refusal = tryAnswer{}
	require.Equal(t, 422, des.json(http.MethodPost, "/designer/try/"+id+"/tasks/"+st.Tasks[0].ID+"/complete",
		map[string]any{"data": map[string]any{"decision": "peut-être"}}, &refusal))
	require.Contains(t, refusal.Message, "formulaire")
	require.Equal(t, 200, des.json(http.MethodPost, "/designer/try/"+id+"/tasks/"+st.Tasks[0].ID+"/complete",
		map[string]any{"data": map[string]any{"decision": "approve"}}, nil))
	st = des.waitSandbox(id, func(s sandboxState) bool { return len(s.Tasks) == 1 && s.Tasks[0].Node == "approval" })
	require.Contains(t, st.Done, "review")
	require.Equal(t, 200, des.json(http.MethodPost, "/designer/try/"+id+"/tasks/"+st.Tasks[0].ID+"/complete",
		map[string]any{"data": map[string]any{"decision": "approve"}}, nil))
	st = des.waitSandbox(id, func(s sandboxState) bool { return s.Status == "completed" })
	require.Subset(t, st.Done, []string{"publish", "expose", "published"})

	// Nothing in the store, the inboxes or the request lists.
	ctx := context.Background()
	_, err := e.app.Store.Instance(ctx, id)
	require.True(t, errors.Is(err, store.ErrNotFound), "instance row: %v", err)
	page, err := e.app.Store.Tasks(ctx, store.TaskFilter{Instance: id})
	require.NoError(t, err)
	require.Empty(t, page.Tasks)
	var insts struct {
		Instances []struct {
			ID string `json:"id"`
		} `json:"instances"`
	}
	require.Equal(t, 200, admin.json(http.MethodGet, "/api/v1/instances", nil, &insts))
	for _, in := range insts.Instances {
		require.False(t, strings.HasPrefix(in.ID, "sandbox-"), "a sandbox run in the request list: %s", in.ID)
	}
	require.Equal(t, 404, admin.json(http.MethodGet, "/api/v1/instances/"+id, nil, nil))

	// A second run, cancelled by its starter.
	started = tryAnswer{}
	require.Equal(t, 201, des.json(http.MethodPost, "/designer/try", map[string]any{"xml": string(designer.PublicationBPMN)}, &started))
	des.waitSandbox(started.ID, func(s sandboxState) bool { return len(s.Tasks) == 1 })
	require.Equal(t, 200, des.json(http.MethodPost, "/designer/try/"+started.ID+"/cancel", nil, nil))
	des.waitSandbox(started.ID, func(s sandboxState) bool { return s.Status == "cancelled" })
}
