package activities_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/workflows"
)

// serveOn starts a server on ip (127.0.0.1, 127.0.0.2…) answering JSON, or
// redirecting to redirect when set; hits counts the requests it served.
func serveOn(t *testing.T, ip, redirect string, hits *int) string {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*hits++
		if redirect != "" {
			http.Redirect(w, r, redirect, http.StatusTemporaryRedirect)
			return
		}
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"instance":"`+in["instance"].(string)+`"}`)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func runHTTP(t *testing.T, g *ingest.Guard, url string) (workflows.ActivityResult, error) {
	t.Helper()
	d := &activities.Data{Guard: g}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	d.Register(env)
	v, err := env.ExecuteActivity(activities.ActHTTP, workflows.ActivityInput{InstanceID: "i1", Flow: "f", NodeID: "call",
		Params: map[string]string{"url": url}, Variables: map[string]any{"dataset": "d"}})
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	var res workflows.ActivityResult
	require.NoError(t, v.Get(&res))
	return res, nil
}

// TestSecurityHTTPActivitySSRF (issue 8, point 6), at the activity level:
// civicflow.http refuses internal addresses — directly, by name, through
// a redirect — with a non-retryable business error (an incident naming
// the address and --http-allow), and the allow-list lets a chosen service
// through. internal/app's TestSecurityHTTPActivitySSRF runs it in a flow.
func TestSecurityHTTPActivitySSRF(t *testing.T) {
	var internal, hop int
	target := serveOn(t, "127.0.0.1", "", &internal)
	other := serveOn(t, "127.0.0.2", "", &internal)
	redirect := serveOn(t, "127.0.0.1", other+"/x", &hop)
	_, port, _ := net.SplitHostPort(target[len("http://"):])

	for _, url := range []string{target, "http://localhost:" + port + "/", "http://[::ffff:127.0.0.1]:" + port, redirect} {
		_, err := runHTTP(t, nil, url)
		requireInvalidInput(t, err)
		var ae *temporal.ApplicationError
		require.True(t, errors.As(err, &ae))
		require.Contains(t, ae.Message(), "refused")
		require.Contains(t, ae.Message(), "not allowed")
		require.Contains(t, ae.Message(), "--http-allow")
	}
	require.Zero(t, internal, "no request reached an internal service")
	require.Zero(t, hop)

	allow := ingest.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, nil)
	res, err := runHTTP(t, allow, target)
	require.NoError(t, err)
	require.EqualValues(t, 200, res.Variables["httpStatus"])
	require.Equal(t, map[string]any{"ok": true, "instance": "i1"}, res.Variables["response"])
	require.Equal(t, 1, internal)

	_, err = runHTTP(t, allow, redirect) // the hop is allowed, its redirect to 127.0.0.2 is not
	requireInvalidInput(t, err)
	require.ErrorContains(t, err, "(redirected to http://127.0.0.2:")
	require.ErrorContains(t, err, "address 127.0.0.2 not allowed")
	require.Equal(t, 1, hop)
	require.Equal(t, 1, internal)

	byName := ingest.NewGuard(nil, []string{"localhost"})
	_, err = runHTTP(t, byName, "http://localhost:"+port+"/")
	require.NoError(t, err)
}
