package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/web"
)

// expected is the specification of who may call what, written by hand
// (not read from policy.csv): obj:act → roles allowed (in some department).
var expected = map[string][]string{
	"flows:read":         {"agent", "steward", "approver", "designer", "admin"},
	"flows:deploy":       {"designer", "admin"},
	"instances:read":     {"agent", "steward", "approver", "designer", "admin"},
	"instances:create":   {"agent", "steward", "designer", "admin"},
	"instances:cancel":   {"steward", "designer", "admin"},
	"tasks:read":         {"agent", "steward", "approver", "designer", "admin"},
	"tasks:claim":        {"agent", "steward", "approver"},
	"tasks:complete":     {"agent", "steward", "approver"},
	"datasets:read":      {"agent", "steward", "approver", "designer", "admin"},
	"datasets:create":    {"agent", "steward", "admin"},
	"datasets:write":     {"agent", "steward", "admin"},
	"datasets:publish":   {"steward", "admin"},
	"schemas:read":       {"agent", "steward", "approver", "designer", "admin"},
	"schemas:write":      {"steward", "designer", "admin"},
	"departments:read":   {"agent", "steward", "approver", "designer", "admin"},
	"departments:admin":  {"admin"},
	"users:read":         {"admin"},
	"users:admin":        {"admin"},
	"policies:read":      {"admin"},
	"policies:admin":     {"admin"},
	"audit:read":         {"admin"},
	"delegations:create": {"approver", "admin"},
	"delegations:read":   {"approver", "admin"},
	"delegations:admin":  {"admin"},
	"apikeys:read":       {"steward", "admin"},
	"apikeys:write":      {"admin"},
	"pages:read":         {"agent", "steward", "approver", "designer", "admin"},
}

// Every route × every demo user (role level only; internal/app's
// TestRouteAuthorizationMatrix checks department scoping on real objects):
// allowed routes never answer 401/403 (nor
// 5xx), refused ones answer 403. A route without an entry in the permission
// table, or whose permission is not in the specification above, fails.
func TestRouteTableCoversEveryRoute(t *testing.T) {
	b := peopleSetup(t)
	table := map[string]web.RoutePerm{}
	for _, r := range web.RouteTable() {
		table[r.Method+" "+r.Path] = r
	}
	var routes []web.RoutePerm
	for _, r := range b.srv.Echo().Routes() {
		if r.Method == "HEAD" || strings.HasPrefix(r.Method, "echo_") || r.Path == "" {
			continue
		}
		p, ok := table[r.Method+" "+r.Path]
		require.True(t, ok, "route %s %s has no entry in the permission table", r.Method, r.Path)
		routes = append(routes, p)
	}
	slices.SortFunc(routes, func(a, b web.RoutePerm) int { return strings.Compare(a.Method+a.Path, b.Method+b.Path) })
	require.NotEmpty(t, routes)

	tokens := map[string]string{}
	for _, u := range auth.DemoUsers {
		tokens[u.Username] = b.login(t, u.Username)
	}
	for _, r := range routes {
		if r.Public {
			continue
		}
		if r.Method == http.MethodPost && (r.Path == "/api/v1/logout" || r.Path == "/api/v1/me/password") {
			continue // would end the session or change the password used below
		}
		path := fillParams(r.Path)
		// Anonymous callers are refused with 401.
		anon := b.do(r.Method, path, "", "", "")
		require.Equal(t, http.StatusUnauthorized, anon.status, "anonymous %s %s: %s", r.Method, r.Path, anon.body)
		for _, u := range auth.DemoUsers {
			allowed := r.Obj == auth.Authenticated
			if !allowed {
				roles, ok := expected[r.Obj+":"+r.Act]
				require.True(t, ok, "permission %s:%s of %s %s is not in the specification", r.Obj, r.Act, r.Method, r.Path)
				for _, m := range u.Memberships {
					allowed = allowed || slices.Contains(roles, m.Role)
				}
			}
			body := ""
			if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
				body = "{}"
			}
			got := b.do(r.Method, path, body, "Bearer "+tokens[u.Username], "")
			require.Less(t, got.status, 500, "%s %s as %s: %s", r.Method, r.Path, u.Username, got.body)
			if allowed {
				require.NotContains(t, []int{401, 403}, got.status, "%s %s as %s should be allowed: %s", r.Method, r.Path, u.Username, got.body)
			} else {
				require.Equal(t, http.StatusForbidden, got.status, "%s %s as %s should be refused: %s", r.Method, r.Path, u.Username, got.body)
			}
		}
	}
}

func fillParams(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			switch p {
			case ":dept", ":department":
				parts[i] = "voirie"
			case ":role":
				parts[i] = "agent"
			default:
				parts[i] = "999999"
			}
		}
	}
	return strings.Join(parts, "/")
}
