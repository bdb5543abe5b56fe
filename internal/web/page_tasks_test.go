package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/tableschema"
	"github.com/civicflow/civicflow/internal/web"
)

// pageReviewForm is the form of the review task of the fixtures.
const pageReviewForm = `{"components":[
 {"id":"Field_decision","key":"decision","type":"radio","label":"Décision","validate":{"required":true},
  "values":[{"value":"approve","label":"Approuver"},{"value":"reject","label":"Refuser"}]},
 {"id":"Field_comment","key":"comment","type":"textarea","label":"Commentaire","validate":{"maxLength":20}}]}`

// taskPagesSetup signs nobody in; it records a voirie request whose
// quality report (2 errors) was made on a staged CSV, its review task
// (overdue, offered to voirie stewards), 30 more voirie review tasks
// (pagination) and a finances task.
func taskPagesSetup(t *testing.T) peopleBundle { return taskPagesSetupWith(t, nil) }

// taskPagesSetupWith is taskPagesSetup with a workflow engine made over
// the store (nil: none).
func taskPagesSetupWith(t *testing.T, engine func(*store.Store) client.Client) peopleBundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, storetest.SQLiteURL(t))
	require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	var tc client.Client
	if engine != nil {
		tc = engine(st)
	}
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Temporal: tc, TuneAuth: func(o *auth.Options) {
		o.Sleep = func(context.Context, time.Duration) error { return nil }
	}})
	require.NoError(t, err)

	_, _, err = st.DeployFlow(ctx, "publication", "Publication", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
	require.NoError(t, err)
	ds := store.Dataset{ID: "subventions", Title: "Subventions", Department: "voirie", Licence: store.DefaultLicence, Frequency: "annual", Visibility: store.VisibilityPrivate}
	require.NoError(t, st.CreateDataset(ctx, &ds))
	csv := "nom,montant\nAssociation A,1200\nAssociation B,douze\n,300\n"
	sha, size, err := ingest.Blobs{Dir: web.BlobDir(cfg.DataDir)}.Put(ctx, strings.NewReader(csv))
	require.NoError(t, err)
	f := store.DataFile{ID: "f1", DatasetID: ds.ID, Kind: store.FileUpload, Name: "subventions.csv", Format: "csv", SHA256: sha, Size: size}
	require.NoError(t, st.CreateDataFile(ctx, &f))
	doc := tableschema.Report{Valid: false, Header: []string{"nom", "montant"},
		Stats: tableschema.Stats{Rows: 3, ValidRows: 1, Errors: 2, ErrorsByType: map[string]int64{"type-error": 1, "constraint-error": 1}},
		Errors: []tableschema.Issue{
			{Type: "type-error", Row: 3, Field: "montant", Column: 2, Value: "douze", Message: "« douze » n'est pas un nombre"},
			{Type: "constraint-error", Row: 4, Field: "nom", Column: 1, Value: "", Message: "valeur obligatoire"},
		}, Warnings: []tableschema.Issue{}}
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	dsID := ds.ID
	rep := store.QualityReport{DatasetID: &dsID, FileID: f.ID, BlobSHA: sha, SchemaName: "scdl-subventions", SchemaVersion: "2.1.0",
		Rows: 3, Errors: 2, Report: store.JSONText(raw)}
	require.NoError(t, st.SaveQualityReport(ctx, &rep))

	vars := map[string]any{"dataset": ds.ID, "file": f.ID, "report": map[string]any{"reportId": rep.ID}}
	require.NoError(t, st.CreateInstance(ctx, store.Instance{ID: "iv", FlowKey: "publication", Version: 1, Department: "voirie", Status: "running", StartedBy: "agent.voirie"}, vars))
	require.NoError(t, st.CreateInstance(ctx, store.Instance{ID: "if", FlowKey: "publication", Version: 1, Department: "finances", Status: "running", StartedBy: "agent.finances"}, nil))
	form, err := designer.ParseForm([]byte(pageReviewForm))
	require.NoError(t, err)
	past := time.Now().Add(-48 * time.Hour)
	now := time.Now().UTC()
	require.NoError(t, st.OpenTask(ctx, store.Task{ID: "iv.review.1", InstanceID: "iv", Node: "review", Name: "Relecture du jeu de données", FlowKey: "publication",
		Department: "voirie", Role: "steward", Due: &past, CreatedAt: now.Add(-time.Hour), Seq: 1}, []string{"steward@voirie"}, nil, nil, form, vars))
	for i := range 30 {
		due := now.Add(time.Duration(24+i) * time.Hour)
		require.NoError(t, st.OpenTask(ctx, store.Task{ID: fmt.Sprintf("iv.other.%d", i), InstanceID: "iv", Node: "other", Name: fmt.Sprintf("Autre %02d", i), FlowKey: "publication",
			Department: "voirie", Role: "steward", Due: &due, CreatedAt: now, Seq: int64(i + 2)}, []string{"steward@voirie"}, nil, nil, nil, nil))
	}
	require.NoError(t, st.OpenTask(ctx, store.Task{ID: "if.correction.1", InstanceID: "if", Node: "correction", Name: "Correction", FlowKey: "publication",
		Department: "finances", Role: "agent", CreatedAt: now, Seq: 1}, []string{"agent@finances"}, nil, nil, nil, nil))
	return peopleBundle{srv: srv, st: st}
}

func pageSignIn(t *testing.T, b peopleBundle, username string) *browser {
	t.Helper()
	br := &browser{t: t, b: b}
	rec := br.do(http.MethodPost, "/login", url.Values{"username": {username}, "password": {"demo"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	return br
}

func TestTasksInboxPage(t *testing.T) {
	b := taskPagesSetup(t)
	br := pageSignIn(t, b, "steward.voirie")

	rec := br.do(http.MethodGet, "/tasks", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	page := rec.Body.String()
	for _, want := range []string{
		`<html lang="fr">`, "Mes tâches", "31\u00a0tâches", "1 à 25 affichées",
		`<tr class="overdue" id="tache-iv.review.1">`, "en retard", // the most urgent first, highlighted
		`href="/tasks/iv.review.1"`, `action="/tasks/iv.review.1/claim"`, `name="_csrf"`,
		`<label for="f-department">Direction</label>`, `<label for="f-due">`, "Page 1 sur 2", `href="/tasks?page=2"`,
	} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, "if.correction.1", "another department's task")

	rec = br.do(http.MethodGet, "/tasks?page=2", nil)
	require.Contains(t, rec.Body.String(), "26 à 31 affichées")
	require.Contains(t, rec.Body.String(), `href="/tasks"`)

	rec = br.do(http.MethodGet, "/tasks?overdue=1", nil)
	require.Contains(t, rec.Body.String(), "1\u00a0tâche —")
	rec = br.do(http.MethodGet, "/tasks?department=finances", nil)
	require.Contains(t, rec.Body.String(), "Aucune tâche ne correspond")
	rec = br.do(http.MethodGet, "/tasks?dueBefore=demain", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "n&#39;est pas une date valide")
}

func TestTaskPage(t *testing.T) {
	b := taskPagesSetup(t)
	br := pageSignIn(t, b, "steward.voirie")
	rec := br.do(http.MethodGet, "/tasks/iv.review.1", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	page := rec.Body.String()
	for _, want := range []string{
		"<h1>Relecture du jeu de données</h1>", "en retard",
		// the form: form-js schema for the viewer, plain labelled fields without JavaScript
		`id="task-form"`, `data-schema="{`, `vendor/form-js/form-viewer.umd.js`, `tasks.js`,
		`<label for="champ-1">Décision <span class="required">(obligatoire)</span></label>`, `<option value="approve">approve</option>`,
		`<label for="champ-2">Commentaire`, `<textarea id="champ-2" name="comment"`,
		// the quality report: charts, errors by row and column, a preview with the cells in error
		"Rapport de qualité", "non conforme", `role="img"`, "Erreurs par type", "type incorrect", "Erreurs par colonne",
		"<td>montant</td><td><code>douze</code></td>", `<td class="cell-error">`, "Association A",
		// the timeline
		"Historique de la demande", "Demande lancée par agent.voirie", "Tâche « Relecture du jeu de données » ouverte",
	} {
		require.Contains(t, page, want)
	}

	// Invalid data: 422, the page again with the French error next to the field.
	tok := br.csrf("/tasks/iv.review.1")
	rec = br.do(http.MethodPost, "/tasks/iv.review.1/complete", url.Values{"_csrf": {tok}, "comment": {"beaucoup trop long pour ce champ"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	page = rec.Body.String()
	require.Contains(t, page, `role="alert"`)
	require.Contains(t, page, `<p class="error-text" id="champ-1-error">Ce champ est obligatoire.</p>`)
	require.Contains(t, page, `<p class="error-text" id="champ-2-error">Au plus 20 caractères.</p>`)
	require.Contains(t, page, `aria-invalid="true"`)
	require.Contains(t, page, "beaucoup trop long pour ce champ", "the values typed are kept")

	// The viewer's JSON: the same checks.
	rec = br.do(http.MethodPost, "/tasks/iv.review.1/complete", url.Values{"_csrf": {tok}, "data": {`{"decision":"peut-être"}`}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, rec.Body.String(), "Choisissez une des valeurs proposées.")
	rec = br.do(http.MethodPost, "/tasks/iv.review.1/complete", url.Values{"_csrf": {tok}, "data": {`{"decision":`}})
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "Les données du formulaire ne peuvent pas être lues.")

	// Without CSRF proof: refused.
	rec = br.do(http.MethodPost, "/tasks/iv.review.1/complete", url.Values{"decision": {"approve"}})
	require.Equal(t, http.StatusForbidden, rec.Code)
}

// Another department's task: refused in French, whoever asks.
func TestTaskPageOtherDepartment(t *testing.T) {
	b := taskPagesSetup(t)
	for _, user := range []string{"steward.finances", "agent.finances"} {
		br := pageSignIn(t, b, user)
		rec := br.do(http.MethodGet, "/tasks/iv.review.1", nil)
		require.Equal(t, http.StatusForbidden, rec.Code, user)
		page := rec.Body.String()
		require.Contains(t, page, "Accès refusé")
		require.Contains(t, page, "Cette tâche relève d&#39;un autre service")
		require.NotContains(t, page, "Relecture du jeu de données")
		require.NotContains(t, page, "douze", "nothing of the report leaks")

		tok := br.csrf("/tasks")
		rec = br.do(http.MethodPost, "/tasks/iv.review.1/claim", url.Values{"_csrf": {tok}})
		require.Equal(t, http.StatusForbidden, rec.Code, user)
	}
	// Seen by an agent of voirie (who reads its requests), offered to stewards: read only.
	br := pageSignIn(t, b, "agent.voirie")
	rec := br.do(http.MethodGet, "/tasks/iv.review.1", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "vous la voyez en lecture seule")
	require.NotContains(t, rec.Body.String(), `id="task-form"`)
	rec = br.do(http.MethodGet, "/tasks/nope", nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "Cette tâche n&#39;existe pas.")
}

// A task reached through a délégation de signature says for whom the
// person acts, in the inbox and on the task.
func TestTaskPagesDelegation(t *testing.T) {
	b := taskPagesSetup(t)
	ctx := context.Background()
	dgs, err := b.st.UserByUsername(ctx, "dgs")
	require.NoError(t, err)
	sf, err := b.st.UserByUsername(ctx, "steward.finances")
	require.NoError(t, err)
	require.NoError(t, b.st.CreateDelegation(ctx, &store.Delegation{DelegatorID: dgs.ID, DelegateID: sf.ID, Role: "approver", Department: "voirie",
		ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour), Reason: "congés"}))
	require.NoError(t, b.st.OpenTask(ctx, store.Task{ID: "iv.approval.1", InstanceID: "iv", Node: "approval", Name: "Signature", FlowKey: "publication",
		Department: "voirie", Role: "approver", Seq: 50}, []string{"approver@voirie"}, nil, nil, nil, nil))

	br := pageSignIn(t, b, "steward.finances")
	rec := br.do(http.MethodGet, "/tasks", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `href="/tasks/iv.approval.1"`)
	require.Contains(t, rec.Body.String(), "pour le compte de dgs")
	require.NotContains(t, rec.Body.String(), "iv.review.1")

	rec = br.do(http.MethodGet, "/tasks/iv.approval.1", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "Vous agissez pour le compte de <strong>dgs</strong>")
	require.Contains(t, rec.Body.String(), `action="/tasks/iv.approval.1/claim"`)
}

// Claiming from the inbox comes back to it (never to another site) with
// a French message.
func TestTaskPageClaim(t *testing.T) {
	engine := &fakeEngine{}
	b := taskPagesSetupWith(t, func(st *store.Store) client.Client { engine.st = st; return engine })
	br := pageSignIn(t, b, "steward.voirie")
	tok := br.csrf("/tasks")
	rec := br.do(http.MethodPost, "/tasks/iv.review.1/claim", url.Values{"_csrf": {tok}, "next": {"/tasks?page=2"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Equal(t, "/tasks?page=2", rec.Header().Get("Location"))
	rec = br.do(http.MethodGet, "/tasks?page=2", nil)
	require.Contains(t, rec.Body.String(), "Vous avez pris en charge la tâche « Relecture du jeu de données ».")

	rec = br.do(http.MethodPost, "/tasks/iv.review.1/unclaim", url.Values{"_csrf": {tok}, "next": {"//evil.example/x"}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/tasks/iv.review.1", rec.Header().Get("Location"))

	// Offered to stewards: an agent of voirie may not take it.
	br = pageSignIn(t, b, "agent.voirie")
	tok = br.csrf("/tasks")
	rec = br.do(http.MethodPost, "/tasks/iv.review.1/claim", url.Values{"_csrf": {tok}})
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Contains(t, rec.Body.String(), "Cette tâche est proposée à steward@voirie et non à vous.")
}

// htmx claims get the row back, in its new state, and the message in an
// ASCII-safe HX-Trigger header.
func TestTaskPageClaimHTMX(t *testing.T) {
	engine := &fakeEngine{}
	b := taskPagesSetupWith(t, func(st *store.Store) client.Client { engine.st = st; return engine })
	br := pageSignIn(t, b, "steward.voirie")
	tok := br.csrf("/tasks")
	hx := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(url.Values{"_csrf": {tok}, "next": {"/tasks"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: br.cookie})
		rec := httptest.NewRecorder()
		b.srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	rec := hx("/tasks/iv.review.1/claim")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := rec.Body.String()
	require.True(t, strings.HasPrefix(strings.TrimSpace(body), `<tr class="overdue" id="tache-iv.review.1">`), body)
	require.Contains(t, body, "prise par steward.voirie")
	require.Contains(t, body, `action="/tasks/iv.review.1/unclaim"`)
	require.NotContains(t, body, "<html")
	trig := rec.Header().Get("HX-Trigger")
	require.Equal(t, `{"inboxStatus":"Vous avez pris en charge la t\u00e2che \u00ab Relecture du jeu de donn\u00e9es \u00bb."}`, trig)
	var ev map[string]string
	require.NoError(t, json.Unmarshal([]byte(trig), &ev))
	require.Equal(t, "Vous avez pris en charge la tâche « Relecture du jeu de données ».", ev["inboxStatus"])

	// Refused under htmx: a whole page with the French message.
	br2 := pageSignIn(t, b, "agent.voirie")
	tok, br = br2.csrf("/tasks"), br2
	rec = hx("/tasks/iv.review.1/claim")
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, "/tasks", rec.Header().Get("HX-Redirect"))
}
