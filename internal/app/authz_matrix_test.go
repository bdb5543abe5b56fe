package app_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// The authorization matrix is the specification of who may call what,
// written by hand (never read from policy.csv or the route table): every
// route × every demo user, against real objects that belong to the voirie
// department. agent.finances and steward.finances hold the same roles as
// their voirie colleagues in another department, so every department check
// inside a handler is exercised: they must be refused where their voirie
// twins are allowed.

// access says who may call a route.
type access struct {
	public   bool     // anyone, signed in or not
	signedIn bool     // any signed-in user
	roles    []string // holders of one of these roles…
	scoped   bool     // …in the object's department (voirie) or in every department ("*")
	owners   []string // these users as well (the object is theirs)
	apiKey   bool     // public, but only with a public API key: staff credentials get 401
}

func anyone() access                      { return access{public: true} }
func apiKeyOnly() access                  { return access{public: true, apiKey: true} }
func signedIn() access                    { return access{signedIn: true} }
func inAnyDept(roles ...string) access    { return access{roles: roles} }
func inObjectDept(roles ...string) access { return access{roles: roles, scoped: true} }

// matrix is route → who may call it. A route of the server missing here
// fails the test, and so does an entry for a route that does not exist.
var matrix = map[string]access{
	"GET /healthz":                       anyone(),
	"GET /metrics":                       anyone(),
	"POST /api/v1/login":                 anyone(),
	"POST /api/v1/logout":                anyone(),
	"GET /auth/oidc/login":               anyone(),
	"GET /auth/oidc/callback":            anyone(),
	"GET /api/v1/schemas":                anyone(),
	"GET /api/v1/schemas/:name":          anyone(),
	"POST /api/v1/validate":              anyone(),
	"GET /static/*":                      anyone(),
	"GET /login":                         anyone(),
	"POST /login":                        anyone(),
	"POST /logout":                       anyone(),
	"GET /":                              signedIn(),
	"GET /password":                      signedIn(),
	"POST /password":                     signedIn(),
	"GET /admin":                         inAnyDept("admin"),
	"POST /admin/users":                  inAnyDept("admin"),
	"GET /admin/users/:id":               inAnyDept("admin"),
	"POST /admin/users/:id":              inAnyDept("admin"),
	"POST /admin/users/:id/roles":        inAnyDept("admin"),
	"POST /admin/users/:id/roles/delete": inAnyDept("admin"),
	"GET /admin/departments":             inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"POST /admin/departments":            inAnyDept("admin"),
	"GET /admin/delegations":             signedIn(),
	"POST /admin/delegations":            inAnyDept("approver", "admin"),
	// The route lets any signed-in user in; the auth service then lets only
	// the delegator, the delegate or an administrator end the delegation
	// (as for DELETE /api/v1/delegations/:id; see the web package's tests).
	"POST /admin/delegations/:id/revoke":               {roles: []string{"admin"}, owners: []string{"dgs", "steward.voirie"}}, // the delegator and the delegate
	"GET /admin/policies":                              inAnyDept("admin"),
	"POST /admin/policies":                             inAnyDept("admin"),
	"POST /admin/policies/delete":                      inAnyDept("admin"),
	"GET /audit":                                       inAnyDept("admin"),
	"GET /audit/export":                                inAnyDept("admin"),
	"GET /audit/verify":                                inAnyDept("admin"),
	"GET /api/v1/me":                                   signedIn(),
	"POST /api/v1/me/password":                         signedIn(),
	"GET /api/v1/me/tokens":                            signedIn(),
	"POST /api/v1/me/tokens":                           signedIn(),
	"DELETE /api/v1/me/tokens/:id":                     signedIn(),
	"GET /api/v1/delegations":                          signedIn(),
	"POST /api/v1/delegations":                         inAnyDept("approver", "admin"),
	"DELETE /api/v1/delegations/:id":                   {roles: []string{"admin"}, owners: []string{"dgs", "steward.voirie"}}, // the delegator and the delegate
	"GET /api/v1/users":                                inAnyDept("admin"),
	"POST /api/v1/users":                               inAnyDept("admin"),
	"GET /api/v1/users/:id":                            inAnyDept("admin"),
	"PATCH /api/v1/users/:id":                          inAnyDept("admin"),
	"POST /api/v1/users/:id/memberships":               inAnyDept("admin"),
	"DELETE /api/v1/users/:id/memberships/:role/:dept": inAnyDept("admin"),
	"GET /api/v1/departments":                          inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"POST /api/v1/departments":                         inAnyDept("admin"),
	"GET /api/v1/policies":                             inAnyDept("admin"),
	"POST /api/v1/policies":                            inAnyDept("admin"),
	"DELETE /api/v1/policies":                          inAnyDept("admin"),
	"GET /api/v1/audit":                                inAnyDept("admin"),
	"GET /api/v1/audit/verify":                         inAnyDept("admin"),
	"POST /api/v1/schemas":                             inAnyDept("steward", "designer", "admin"),
	"GET /api/v1/datasets":                             inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"POST /api/v1/datasets":                            inAnyDept("agent", "steward", "admin"),
	"GET /api/v1/datasets/:id":                         inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"PATCH /api/v1/datasets/:id":                       inObjectDept("agent", "steward", "admin"),
	"GET /api/v1/datasets/:id/files":                   inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"POST /api/v1/datasets/:id/files":                  inObjectDept("agent", "steward", "admin"),
	"GET /api/v1/datasets/:id/releases/:n":             inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"GET /api/v1/reports/:id":                          inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"POST /api/v1/flows":                               inAnyDept("designer", "admin"),
	"GET /api/v1/flows":                                inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"GET /api/v1/flows/:key":                           inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"GET /api/v1/flows/:key/schedule":                  inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"PUT /api/v1/flows/:key/schedule":                  inAnyDept("designer", "admin"),
	"DELETE /api/v1/flows/:key/schedule":               inAnyDept("designer", "admin"),
	"POST /api/v1/forms":                               inAnyDept("designer", "admin"),
	"GET /api/v1/forms":                                inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"GET /api/v1/forms/:id":                            inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"POST /api/v1/instances":                           inAnyDept("agent", "steward", "designer", "admin"),
	"GET /api/v1/instances":                            inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"GET /api/v1/instances/:id":                        inObjectDept("agent", "steward", "approver", "designer", "admin"),
	// Who may cancel requests in the department, and the initiator.
	"POST /api/v1/instances/:id/cancel":  {roles: []string{"steward", "designer", "admin"}, scoped: true, owners: []string{"agent.voirie"}},
	"POST /api/v1/instances/:id/resolve": inObjectDept("steward", "designer", "admin"),
	"GET /api/v1/tasks":                  inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"GET /api/v1/tasks/:id":              inObjectDept("agent", "steward", "approver", "designer", "admin"),
	// The review task is offered to the voirie steward only.
	"POST /api/v1/tasks/:id/claim":    {roles: []string{"steward"}, scoped: true},
	"POST /api/v1/tasks/:id/unclaim":  {roles: []string{"steward"}, scoped: true},
	"POST /api/v1/tasks/:id/complete": {roles: []string{"steward"}, scoped: true},

	// Staff pages: the faces of the routes above, with the same rules.
	"GET /requests":                 inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"GET /requests/:id":             inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"GET /requests/:id/diagram":     inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"POST /requests/:id/cancel":     {roles: []string{"steward", "designer", "admin"}, scoped: true, owners: []string{"agent.voirie"}},
	"POST /requests/:id/resolve":    inObjectDept("steward", "designer", "admin"),
	"GET /datasets":                 inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"GET /datasets/new":             inAnyDept("agent", "steward", "admin"),
	"POST /datasets":                inAnyDept("agent", "steward", "admin"),
	"GET /datasets/:id":             inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"POST /datasets/:id":            inObjectDept("agent", "steward", "admin"),
	"POST /datasets/:id/files":      inObjectDept("agent", "steward", "admin"),
	"POST /datasets/:id/publish":    inObjectDept("agent", "steward", "designer", "admin"),
	"GET /datasets/:id/releases/:n": inObjectDept("agent", "steward", "approver", "designer", "admin"),
	// The task pages: the same rights as the JSON routes they are the face of.
	"GET /tasks":               inAnyDept("agent", "steward", "approver", "designer", "admin"),
	"GET /tasks/:id":           inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"GET /tasks/:id/diff":      inObjectDept("agent", "steward", "approver", "designer", "admin"),
	"POST /tasks/:id/claim":    {roles: []string{"steward"}, scoped: true},
	"POST /tasks/:id/unclaim":  {roles: []string{"steward"}, scoped: true},
	"POST /tasks/:id/complete": {roles: []string{"steward"}, scoped: true},
	// The designer's lint and form editor: those who may deploy flows (POST /api/v1/flows).
	"POST /designer/lint":      inAnyDept("designer", "admin"),
	"GET /designer/forms":      inAnyDept("designer", "admin"),
	"GET /designer/forms/new":  inAnyDept("designer", "admin"),
	"GET /designer/forms/:id":  inAnyDept("designer", "admin"),
	"POST /designer/forms/:id": inAnyDept("designer", "admin"),

	// The designer's pages (h/designer): the face of POST /api/v1/flows,
	// with its right (flows deploy: designer and admin).
	"GET /designer":                             inAnyDept("designer", "admin"),
	"GET /designer/new":                         inAnyDept("designer", "admin"),
	"GET /designer/element-templates.json":      inAnyDept("designer", "admin"),
	"GET /designer/flows/:key":                  inAnyDept("designer", "admin"),
	"GET /designer/flows/:key/versions/:n":      inAnyDept("designer", "admin"),
	"GET /designer/flows/:key/versions/:n/bpmn": inAnyDept("designer", "admin"),
	"POST /designer/deploy":                     inAnyDept("designer", "admin"),

	// The designer's sandbox, "Essayer" (h/sandbox): the same right.
	"POST /designer/try":                                      inAnyDept("designer", "admin"),
	"GET /designer/try/:id":                                   inAnyDept("designer", "admin"),
	"POST /designer/try/:id/tasks/:task/complete":             inAnyDept("designer", "admin"),
	"POST /designer/try/:id/cancel":                           inAnyDept("designer", "admin"),
	"POST /designer/try/:id/services/:node/answer":            inAnyDept("designer", "admin"),
	"POST /designer/try/:id/timers/:node/fire":                inAnyDept("designer", "admin"),
	"POST /designer/try/:id/incidents/:node/resolve":          inAnyDept("designer", "admin"),
	"GET /api/explore/v2.1/openapi.json":                      anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id/openapi.json": anyone(),
	"GET /developers":                                         anyone(),
	"GET /developers/api/:id":                                 anyone(),
	// The public records API (Opendatasoft Explore v2.1): read-only, open to anyone.
	// The DCAT-AP catalog and the catalog exports (h/portal).
	"GET /catalog":                               anyone(),
	"GET /catalog/:id":                           anyone(),
	"GET /reutiliser":                            anyone(),
	"GET /catalog.jsonld":                        anyone(),
	"GET /catalog.ttl":                           anyone(),
	"GET /api/explore/v2.1/catalog/exports/csv":  anyone(),
	"GET /api/explore/v2.1/catalog/exports/json": anyone(),
	"GET /api/explore/v2.1/catalog/exports/dcat": anyone(),
	// The public API's gateway (h/apigw): staff JSON API, the reuser's own usage.
	"GET /api/v1/apikeys":             inAnyDept("steward", "admin"),
	"POST /api/v1/apikeys":            inAnyDept("admin"),
	"POST /api/v1/apikeys/:id/rotate": inAnyDept("admin"),
	"POST /api/v1/apikeys/:id/revoke": inAnyDept("admin"),
	"PUT /api/v1/apikeys/:id/expiry":  inAnyDept("admin"),
	"GET /api/v1/apiplans":            inAnyDept("steward", "admin"),
	"POST /api/v1/apiplans":           inAnyDept("admin"),
	"PUT /api/v1/apiplans/:id":        inAnyDept("admin"),
	"DELETE /api/v1/apiplans/:id":     inAnyDept("admin"),
	"GET /api/v1/apiconsumers":        inAnyDept("steward", "admin"),
	"POST /api/v1/apiconsumers":       inAnyDept("admin"),
	"GET /api/v1/apiusage":            inAnyDept("steward", "admin"),
	"GET /api/v1/apiusage/export.csv": inAnyDept("admin"),
	"GET /api/explore/v2.1/usage":     apiKeyOnly(),
	// The reusers' self-service (h/devpages): public routes; the reuser's own
	// session (not a staff one) is checked by the handlers, which send a
	// caller without it to /developers/connexion.
	"GET /developers/inscription":                 anyone(),
	"POST /developers/inscription":                anyone(),
	"GET /developers/verification":                anyone(),
	"POST /developers/verification":               anyone(),
	"GET /developers/connexion":                   anyone(),
	"POST /developers/connexion":                  anyone(),
	"GET /developers/connexion/lien":              anyone(),
	"POST /developers/connexion/lien":             anyone(),
	"POST /developers/deconnexion":                anyone(),
	"GET /developers/compte":                      anyone(),
	"POST /developers/compte/cles":                anyone(),
	"POST /developers/compte/cles/:id/renouveler": anyone(),
	"POST /developers/compte/cles/:id/revoquer":   anyone(),
	"GET /developers/compte/usage.csv":            anyone(),
	"GET /developers/limites":                     anyone(),
	"GET /developers/statut":                      anyone(),
	// The public API's staff pages (h/devpages): the admin role.
	"GET /admin/api":                                                inAnyDept("admin"),
	"GET /admin/api/reutilisateurs/:id":                             inAnyDept("admin"),
	"POST /admin/api/reutilisateurs/:id/verifier":                   inAnyDept("admin"),
	"POST /admin/api/reutilisateurs/:id/suspendre":                  inAnyDept("admin"),
	"POST /admin/api/reutilisateurs/:id/retablir":                   inAnyDept("admin"),
	"POST /admin/api/cles/:id/revoquer":                             inAnyDept("admin"),
	"GET /admin/api/offres":                                         inAnyDept("admin"),
	"GET /admin/api/offres/:id":                                     inAnyDept("admin"),
	"POST /admin/api/offres/:id":                                    inAnyDept("admin"),
	"GET /admin/api/usage":                                          inAnyDept("admin"),
	"GET /api/explore/v2.1/catalog/datasets":                        anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id":                    anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id/records":            anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id/records/:record_id": anyone(), // explore (issue #12)
	"GET /api/explore/v2.1/catalog/datasets/:id/exports/csv":        anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id/exports/json":       anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id/facets":             anyone(),
	// explore exports (issue #12)
	"GET /api/explore/v2.1/catalog/datasets/:id/exports/jsonl":   anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id/exports/geojson": anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id/exports/xlsx":    anyone(),
	"GET /api/explore/v2.1/catalog/datasets/:id/exports/parquet": anyone(),
}

// lastRoutes change the objects the other routes use: they run at the end,
// in this order.
var lastRoutes = []string{
	"POST /api/v1/tasks/:id/claim",
	"POST /api/v1/tasks/:id/unclaim",
	"POST /api/v1/tasks/:id/complete",
	"POST /tasks/:id/claim",
	"POST /tasks/:id/unclaim",
	"POST /tasks/:id/complete",
	"POST /api/v1/instances/:id/resolve",
	"POST /requests/:id/resolve",
	"POST /api/v1/instances/:id/cancel",
	"POST /requests/:id/cancel",
	"DELETE /api/v1/users/:id/memberships/:role/:dept",
	"POST /admin/delegations/:id/revoke",
	"DELETE /api/v1/delegations/:id",
}

// skipped end the caller's session or change the password the test uses;
// their own tests cover them.
var skipped = map[string]bool{"POST /api/v1/logout": true, "POST /logout": true, "POST /api/v1/me/password": true}

func (a access) allows(u auth.DemoUser) bool {
	if a.public || a.signedIn || slices.Contains(a.owners, u.Username) {
		return true
	}
	for _, m := range u.Memberships {
		if slices.Contains(a.roles, m.Role) && (!a.scoped || m.Department == "voirie" || m.Department == auth.AllDepartments) {
			return true
		}
	}
	return false
}

// holdsRole: u holds a role of a in some department (a refusal then comes
// from the department check: 403 or 404 are both acceptable).
func (a access) holdsRole(u auth.DemoUser) bool {
	for _, m := range u.Memberships {
		if slices.Contains(a.roles, m.Role) {
			return true
		}
	}
	return false
}

func TestRouteAuthorizationMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two whole processes")
	}
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			dbURL := ""
			if d.Name != "sqlite" {
				dbURL = d.URL(t)
			}
			runMatrix(t, startAppOn(t, dbURL))
		})
	}
}

// fixtures are real objects of the voirie department.
type fixtures struct {
	dataset, report, instance, task, delegation, user string
}

func makeFixtures(t *testing.T, e *env) fixtures {
	t.Helper()
	agent, steward, dgs, admin := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs"), e.login("admin")
	valid := filepath.Join("testdata", "scdl-subventions.valid.csv")

	// A dataset with a release (a whole publication)…
	dataset, first := newSubmission(t, agent, "voirie", valid)
	review := steward.waitTask(first, "review")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
	approval := dgs.waitTask(first, "approval")
	require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
	agent.waitStatus(first, "completed")

	// …and a second request waiting for the steward's review.
	f := fixtures{dataset: dataset}
	var started map[string]any
	var ds struct {
		Files []struct {
			ID string `json:"id"`
		} `json:"files"`
		QualityReport *struct {
			ID int64 `json:"id"`
		} `json:"qualityReport"`
	}
	require.Equal(t, 200, agent.json(http.MethodGet, "/api/v1/datasets/"+dataset, nil, &ds))
	require.NotEmpty(t, ds.Files)
	require.NotNil(t, ds.QualityReport)
	f.report = fmt.Sprint(ds.QualityReport.ID)
	require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/instances", map[string]any{
		"flow": "publication", "department": "voirie", "variables": map[string]any{"dataset": dataset, "file": ds.Files[0].ID},
	}, &started))
	f.instance = fmt.Sprint(started["id"])
	f.task = steward.waitTask(f.instance, "review").ID

	// A future delegation given by the DGS, and a user the admin routes may change.
	var del map[string]any
	require.Equal(t, 201, dgs.json(http.MethodPost, "/api/v1/delegations", map[string]any{
		"delegate": "steward.voirie", "role": "approver", // not active yet: it must not widen anyone's rights here
		"valid_from":  time.Now().Add(24 * time.Hour).Format(time.RFC3339),
		"valid_until": time.Now().Add(48 * time.Hour).Format(time.RFC3339),
	}, &del), "delegation: %v", del)
	f.delegation = fmt.Sprint(del["id"])
	var u map[string]any
	st := admin.json(http.MethodPost, "/api/v1/users", map[string]any{
		"username": "matrix.target", "display_name": "Cible", "email": "matrix.target@demo.civicflow.fr",
		"memberships": []map[string]string{{"role": "agent", "department": "voirie"}},
	}, &u)
	require.Equal(t, 201, st, "create user: %v", u)
	f.user = fmt.Sprint(u["id"])
	return f
}

func (f fixtures) fill(t *testing.T, path string) string {
	r := strings.NewReplacer(
		"/datasets/:id/releases/:n", "/datasets/"+f.dataset+"/releases/1",
		"/datasets/:id", "/datasets/"+f.dataset,
		"/reports/:id", "/reports/"+f.report,
		"/instances/:id", "/instances/"+f.instance,
		"/requests/:id", "/requests/"+f.instance,
		"/tasks/:id", "/tasks/"+f.task,
		"/delegations/:id", "/delegations/"+f.delegation,
		"/users/:id/memberships/:role/:dept", "/users/"+f.user+"/memberships/agent/voirie",
		"/users/:id", "/users/"+f.user,
		"/flows/:key/versions/:n", "/flows/publication/versions/1", // designer (before /flows/:key)
		"/flows/:key", "/flows/publication",
		"/schemas/:name", "/schemas/scdl-subventions",
		"/me/tokens/:id", "/me/tokens/999999",
		"/apikeys/:id", "/apikeys/999999", // the gateway (h/apigw): no such key or plan
		"/apiplans/:id", "/apiplans/no-such-plan",
		"/reutilisateurs/:id", "/reutilisateurs/999999", // the API's staff and reuser pages (h/devpages): no such reuser, key or plan
		"/cles/:id", "/cles/999999",
		"/offres/:id", "/offres/no-such-plan",
		"/forms/:id", "/forms/unknown-form",
		"/try/:id", "/try/sandbox-matrix", // the designer's sandbox (h/sandbox): no such run
		"/tasks/:task/", "/tasks/x/",
		"/catalog/:id", "/catalog/"+f.dataset, // the public portal (h/portal)
		"/:node/", "/x/", // the sandbox's service tasks, timers and incidents (h/try)
		"/developers/api/:id", "/developers/api/"+f.dataset, // the try-it view (h/try)
		"/records/:record_id", "/records/00000000000000000000000000000000000000001", // explore (issue #12): no such record
	)
	out := r.Replace(path)
	require.NotContains(t, out, ":", "no fixture for %s", path)
	return out
}

func runMatrix(t *testing.T, e *env) {
	f := makeFixtures(t, e)

	// Every route of the server is specified, and every specification is a route.
	var routes []string
	for _, r := range web.RouteTable() {
		key := r.Method + " " + r.Path
		_, ok := matrix[key]
		require.True(t, ok, "route %s is not in the authorization matrix", key)
		routes = append(routes, key)
	}
	for key := range matrix {
		require.Contains(t, routes, key, "the matrix names a route the server does not have")
	}
	slices.SortFunc(routes, func(a, b string) int {
		ia, ib := slices.Index(lastRoutes, a), slices.Index(lastRoutes, b)
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})

	tokens := map[string]string{}
	for _, u := range auth.DemoUsers {
		tokens[u.Username] = e.login(u.Username).token
	}
	for _, key := range routes {
		if skipped[key] {
			continue
		}
		method, path, _ := strings.Cut(key, " ")
		spec := matrix[key]
		url := f.fill(t, path)
		body, ct := "", ""
		if method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut || method == http.MethodDelete {
			switch {
			case strings.HasPrefix(path, "/api/"):
				body, ct = "{}", "application/json"
			case path == "/designer/lint": // BPMN XML, as the modeler sends it
				body, ct = "<x/>", "application/xml"
			case strings.HasPrefix(path, "/designer/forms/"): // the form editor's JSON
				body, ct = "{}", "application/json"
			case strings.HasPrefix(path, "/designer/try"): // the sandbox's JSON (h/sandbox)
				body, ct = "{}", "application/json"
			case strings.HasSuffix(path, "/files"): // a page's upload: multipart, no file
				body, ct = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n", "multipart/form-data; boundary=b"
			default: // a page's form
				body, ct = "x=1", "application/x-www-form-urlencoded"
			}
		}
		if !spec.public {
			st := e.do("", method, url, ct, strings.NewReader(body), nil)
			require.Equal(t, http.StatusUnauthorized, st, "anonymous %s", key)
		}
		for _, u := range auth.DemoUsers {
			st := e.do(tokens[u.Username], method, url, ct, strings.NewReader(body), nil)
			require.Less(t, st, 500, "%s as %s", key, u.Username)
			switch {
			case spec.apiKey:
				require.Equal(t, http.StatusUnauthorized, st, "%s as %s: a public API key is needed", key, u.Username)
			case spec.allows(u):
				require.NotContains(t, []int{401, 403}, st, "%s as %s should be allowed", key, u.Username)
			case spec.scoped && spec.holdsRole(u), len(spec.owners) > 0:
				require.Contains(t, []int{403, 404}, st, "%s as %s (another department's object) should be refused", key, u.Username)
			default:
				require.Equal(t, http.StatusForbidden, st, "%s as %s should be refused", key, u.Username)
			}
		}
	}

	// Lists never show another department's objects.
	for _, name := range []string{"agent.finances", "steward.finances"} {
		for _, list := range []string{"/api/v1/datasets", "/api/v1/instances", "/api/v1/tasks"} {
			req, _ := http.NewRequest(http.MethodGet, e.base+list, nil)
			req.Header.Set("Authorization", "Bearer "+tokens[name])
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode, "%s as %s", list, name)
			for _, id := range []string{f.dataset, f.instance, f.task} {
				require.NotContains(t, string(b), `"`+id+`"`, "%s as %s lists a voirie object", list, name)
			}
		}
	}
}
