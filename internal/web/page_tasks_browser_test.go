package web_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/civicflow/civicflow/internal/browsertest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// fakeEngine stands for Temporal in the browser test of the task page: a
// completion closes the task in the read model, as the workflow's
// bookkeeping activity would; state queries fail (the pages answer from
// the read model). Any other call panics (embedded nil client).
type fakeEngine struct {
	client.Client
	st        *store.Store
	mu        sync.Mutex
	completed []workflows.CompleteRequest
	seq       int64
}

func (f *fakeEngine) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if o.UpdateName == workflows.UpdateComplete {
		req := o.Args[0].(workflows.CompleteRequest)
		t, err := f.st.Task(ctx, req.TaskID)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.completed = append(f.completed, req)
		f.mu.Unlock()
		if err := f.st.CloseTask(ctx, store.TaskClosing{ID: t.ID, InstanceID: t.InstanceID, Node: t.Node, Status: workflows.TaskCompleted,
			By: req.Actor.Username, OnBehalfOf: req.Actor.OnBehalfOf, Data: req.Data, At: time.Now(), Seq: 1000}); err != nil {
			return nil, err
		}
	}
	if o.UpdateName == workflows.UpdateClaim || o.UpdateName == workflows.UpdateUnclaim {
		req := o.Args[0].(workflows.ClaimRequest)
		who := req.Actor.Username
		if o.UpdateName == workflows.UpdateUnclaim {
			who = ""
		}
		f.mu.Lock()
		f.seq++
		seq := f.seq
		f.mu.Unlock()
		if err := f.st.AssignTask(ctx, req.TaskID, who, time.Now(), 100+seq); err != nil {
			return nil, err
		}
	}
	return doneUpdate{o.WorkflowID}, nil
}

func (f *fakeEngine) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	return nil, errors.New("no workflow engine in this test")
}

type doneUpdate struct{ id string }

func (u doneUpdate) WorkflowID() string             { return u.id }
func (u doneUpdate) RunID() string                  { return "" }
func (u doneUpdate) UpdateID() string               { return "u" }
func (u doneUpdate) Get(context.Context, any) error { return nil }

// A steward opens the review task from the inbox, reads the quality
// report, sends the form empty (French errors next to the fields of the
// form-js viewer), then approves it through the form.
func TestBrowserReviewTask(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	b := browsertest.Start(t)
	engine := &fakeEngine{}
	pb := taskPagesSetupWith(t, func(st *store.Store) client.Client { engine.st = st; return engine })
	ts := httptest.NewServer(pb.srv.Handler())
	t.Cleanup(ts.Close)
	tab := b.NewTab()
	signIn(t, tab, ts.URL, "steward.voirie", "demo")

	tab.Navigate(ts.URL + "/tasks")
	require.Contains(t, tab.Text("h1"), "Mes tâches")
	require.Contains(t, tab.Text("tr.overdue"), "en retard")
	tab.Screenshot("tasks-inbox")
	tab.RequireAccessible("the inbox")

	// Taking the task from the inbox: htmx swaps its row, the focus goes
	// to the row's new button, the status line says what happened.
	tab.Click(`#tache-iv\.review\.1 form[action$="/claim"] button`)
	tab.WaitVisible(`#tache-iv\.review\.1 form[action$="/unclaim"] button`)
	require.Contains(t, tab.Text(`#tache-iv\.review\.1`), "prise par steward.voirie")
	require.Equal(t, "button", tab.Focus().Tag)
	require.Contains(t, browsertest.Eval[string](tab, `document.getElementById('inbox-status').textContent`), "Vous avez pris en charge la tâche")
	tab.Screenshot("tasks-inbox-claimed")
	tab.RequireAccessible("the inbox after a claim")

	tab.ClickAndWait(`tr.overdue a[href="/tasks/iv.review.1"]`)
	tab.WaitVisible(`#task-form[data-viewer="ready"]`)
	tab.WaitVisible(`#form-viewer .fjs-form`)
	require.Contains(t, tab.Text("h1"), "Relecture du jeu de données")
	require.Contains(t, tab.Text(`section[aria-labelledby="rapport"]`), "non conforme")
	require.Contains(t, tab.Text("#erreurs-rapport"), "douze")
	tab.Screenshot("task-review")
	tab.RequireAccessible("the review task")

	// Sent empty: the server's French errors, next to the viewer's field.
	tab.ClickAndWait(`#task-form button[type=submit]`)
	tab.WaitVisible(`#task-form[data-viewer="ready"]`)
	require.Contains(t, tab.Text("#erreurs"), "Ce champ est obligatoire.")
	require.Contains(t, tab.Text("#form-viewer"), "Ce champ est obligatoire.")
	tab.Screenshot("task-review-errors")
	tab.RequireAccessible("the review task with errors")

	tab.Click(`#form-viewer input[type=radio]`) // the first choice: Approuver
	tab.Click(`#form-viewer textarea`)
	tab.Type("Rien à signaler")
	tab.ClickAndWait(`#task-form button[type=submit]`)
	require.True(t, strings.HasSuffix(tab.Location(), "/tasks"), tab.Location())
	require.Contains(t, tab.Text(".alert"), "La tâche « Relecture du jeu de données » est validée.")
	tab.Screenshot("task-review-done")
	require.Empty(t, tab.ConsoleErrors())

	// The task, closed, shows who validated it and what was entered.
	tab.Navigate(ts.URL + "/tasks/iv.review.1")
	require.Contains(t, tab.Text("dl.facts"), "validée par steward.voirie")
	require.Contains(t, tab.Text(`section[aria-labelledby="donnees"]`), "Rien à signaler")
	tab.Screenshot("task-review-closed")
	tab.RequireAccessible("the closed review task")

	engine.mu.Lock()
	defer engine.mu.Unlock()
	require.Len(t, engine.completed, 1)
	req := engine.completed[0]
	require.Equal(t, "steward.voirie", req.Actor.Username)
	require.Equal(t, map[string]any{"decision": "approve", "comment": "Rien à signaler"}, req.Data)
}

// A steward completes the review task with the keyboard only: from the
// inbox link to the decision, the comment and the submit button, every
// control is reached with Tab, shows its focus and has a label.
func TestBrowserKeyboardCompletesATask(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	b := browsertest.Start(t)
	engine := &fakeEngine{}
	pb := taskPagesSetupWith(t, func(st *store.Store) client.Client { engine.st = st; return engine })
	ts := httptest.NewServer(pb.srv.Handler())
	t.Cleanup(ts.Close)
	tab := b.NewTab()
	signIn(t, tab, ts.URL, "steward.voirie", "demo")

	tab.Navigate(ts.URL + "/tasks")
	tab.TabTo(func(f browsertest.Focused) bool { return f.Href == "/tasks/iv.review.1" }, 80)
	tab.PressAndWait(kb.Enter)
	require.True(t, strings.HasSuffix(tab.Location(), "/tasks/iv.review.1"), tab.Location())
	tab.WaitVisible(`#task-form[data-viewer="ready"]`)

	// Every input of the form has a label.
	unlabelled := browsertest.Eval[[]string](tab, `Array.from(document.querySelectorAll('#task-form input:not([type=hidden]), #task-form textarea, #task-form select'))
		.filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
		.map(el => el.outerHTML.slice(0, 120))`)
	require.Empty(t, unlabelled, "inputs without a label")

	// The decision: Tab to the first radio button (Approuver), Space.
	tab.TabTo(func(f browsertest.Focused) bool { return f.Tag == "input" && f.Type == "radio" }, 60)
	tab.Press(" ")
	require.True(t, browsertest.Eval[bool](tab, `document.activeElement.checked`), "Space ticks the focused choice")
	tab.TabTo(func(f browsertest.Focused) bool { return f.Tag == "textarea" }, 10)
	tab.Type("Vu au clavier")
	tab.TabTo(func(f browsertest.Focused) bool { return f.Tag == "button" && f.Type == "submit" }, 10)
	tab.Screenshot("keyboard-task-submit-focused")
	tab.PressAndWait(kb.Enter)
	require.Contains(t, tab.Text(".alert"), "est validée.")

	engine.mu.Lock()
	defer engine.mu.Unlock()
	require.Len(t, engine.completed, 1)
	require.Equal(t, map[string]any{"decision": "approve", "comment": "Vu au clavier"}, engine.completed[0].Data)
}
