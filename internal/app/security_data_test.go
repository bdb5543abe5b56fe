package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/app"
	"github.com/civicflow/civicflow/internal/config"
)

// startAppWith is startApp with a configuration change, in dataDir (a new
// temporary directory when empty).
func startAppWith(t *testing.T, dataDir string, change func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.TemporalPort = 0
	cfg.Demo = true
	if change != nil {
		change(&cfg)
	}
	require.NoError(t, cfg.Validate(config.FlagsCommon|config.FlagsTemporal|config.FlagsHTTP))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("CIVICFLOW_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := app.Start(context.Background(), cfg, log, app.Mode{HTTP: true, Worker: true})
	require.NoError(t, err)
	t.Cleanup(a.Stop)
	return &env{t: t, app: a, base: "http://" + a.Addr()}
}

// httpFlow is a flow whose only step POSTs to url with civicflow.http.
func httpFlow(key, url string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d" targetNamespace="t">
  <bpmn:process id="` + key + `" name="Appel ` + key + `" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="call" name="Appeler le service" civicflow:activity="civicflow.http">
      <bpmn:extensionElements><civicflow:param name="url" value="` + url + `"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>`
}

// internalService serves JSON on ip (or redirects to redirect) and counts
// the requests that reached it.
func internalService(t *testing.T, ip, redirect string, hits *atomic.Int32) string {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if redirect != "" {
			http.Redirect(w, r, redirect, http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"secret":"internal data"}`)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// runFlow deploys a flow calling url, starts it in voirie as starter and
// returns the instance id.
func runFlow(t *testing.T, e *env, starter *user, key, url string) string {
	t.Helper()
	designer := e.login("designer")
	var dep map[string]any
	require.Equal(t, 201, e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(httpFlow(key, url)), &dep), "%v", dep)
	var started map[string]any
	require.Equal(t, 201, starter.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": key, "department": "voirie"}, &started), "%v", started)
	return fmt.Sprint(started["id"])
}

// waitIncident waits until the instance is in incident and returns its
// first incident's message as u reads it (the live state's; the read
// model's message may lag behind).
func waitIncident(u *user, id string) string {
	u.e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var inst map[string]any
	for time.Now().Before(deadline) {
		inst = map[string]any{}
		require.Equal(u.e.t, 200, u.json(http.MethodGet, "/api/v1/instances/"+id, nil, &inst))
		if list, _ := inst["incidents"].([]any); inst["status"] == "incident" && len(list) > 0 {
			return fmt.Sprint(list[0].(map[string]any)["message"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	u.e.t.Fatalf("instance %s never reached an incident: %v", id, inst)
	return ""
}

// TestSecurityHTTPActivitySSRF (issue 8, point 6): in a running flow,
// civicflow.http reaches an internal service only when --http-allow lists
// it, and a redirect from an allowed service to another internal address
// is refused; a refusal is an incident that names the address and the
// setting. (A call to 127.0.0.1 without the setting is refused in
// TestSecurityIncidentMessagesForReaders.)
func TestSecurityHTTPActivitySSRF(t *testing.T) {
	var allowed, other, hop atomic.Int32
	allowedURL := internalService(t, "127.0.0.1", "", &allowed)
	otherURL := internalService(t, "127.0.0.2", "", &other)
	hopURL := internalService(t, "127.0.0.1", otherURL+"/admin", &hop)
	e := startAppWith(t, "", func(c *config.Config) { c.HTTPAllow = "127.0.0.1/32" })
	steward := e.login("steward.voirie")

	id := runFlow(t, e, steward, "call-allowed", allowedURL+"/api")
	inst := steward.waitStatus(id, "completed")
	vars := inst["variables"].(map[string]any)
	require.Equal(t, map[string]any{"secret": "internal data"}, vars["response"], "the allow-listed service answered")
	require.EqualValues(t, 1, allowed.Load())

	id = runFlow(t, e, steward, "call-other", otherURL+"/admin")
	msg := waitIncident(steward, id)
	require.Contains(t, msg, "address 127.0.0.2 not allowed")
	require.Contains(t, msg, "--http-allow")

	id = runFlow(t, e, steward, "call-redirect", hopURL+"/start")
	msg = waitIncident(steward, id)
	require.Contains(t, msg, "redirected to "+otherURL+"/admin")
	require.Contains(t, msg, "address 127.0.0.2 not allowed")
	require.EqualValues(t, 1, hop.Load())
	require.Zero(t, other.Load(), "nothing reached the service that is not allowed")
}

// TestSecurityIncidentMessagesForReaders (issue 8, point 10): an incident's
// message (here the SSRF guard refusing 127.0.0.1, with the address) is
// shown to those who may resolve incidents in the department (steward,
// designer, admin); the other readers (the agent who started the instance,
// the DGS) read a plain sentence, in the instance, its incidents, its
// history and the instance list.
func TestSecurityIncidentMessagesForReaders(t *testing.T) {
	var hits atomic.Int32
	url := internalService(t, "127.0.0.1", "", &hits)
	e := startAppWith(t, "", nil)
	agent, steward, dgs, admin := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs"), e.login("admin")

	id := runFlow(t, e, agent, "call-loopback", url+"/internal")
	msg := waitIncident(steward, id)
	require.Contains(t, msg, "address 127.0.0.1 not allowed")
	require.Zero(t, hits.Load(), "the guard refused 127.0.0.1 without --http-allow")

	raw := func(u *user) string {
		var doc map[string]any
		require.Equal(t, 200, u.json(http.MethodGet, "/api/v1/instances/"+id, nil, &doc))
		var list struct{ Instances []map[string]any }
		require.Equal(t, 200, u.json(http.MethodGet, "/api/v1/instances?status=incident", nil, &list))
		b, _ := json.Marshal(map[string]any{"instance": doc, "list": list.Instances})
		return string(b)
	}
	for _, op := range []*user{steward, admin} {
		got := raw(op)
		require.Contains(t, got, "address 127.0.0.1 not allowed", op.name)
		require.Contains(t, got, "--http-allow", op.name)
	}

	for _, reader := range []*user{agent, dgs} {
		got := raw(reader)
		require.NotContains(t, got, "127.0.0.1", reader.name)
		require.NotContains(t, got, "not allowed", reader.name)
		require.Contains(t, got, "an automatic step stopped on an error", reader.name)
		var doc map[string]any
		require.Equal(t, 200, reader.json(http.MethodGet, "/api/v1/instances/"+id, nil, &doc))
		require.Equal(t, "incident", doc["status"])
		for _, inc := range doc["incidents"].([]any) {
			require.Equal(t, "call", inc.(map[string]any)["node"], "which step stopped stays visible")
		}
	}
	// The reader may not resolve it; the operator may.
	require.Equal(t, 403, agent.json(http.MethodPost, "/api/v1/instances/"+id+"/resolve", map[string]any{"action": "skip"}, nil))
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/instances/"+id+"/resolve", map[string]any{"action": "skip"}, nil))
	steward.waitStatus(id, "completed")
}

// TestSecurityDataDirPrivate (issue 8, point 10): the data directory of an
// install made before (0750, databases and uploads 0644, blobs/ 0755)
// becomes private at start, and everything civicflow writes there while
// it runs (both SQLite databases with their -wal and -shm, blobs, the
// ports file) is 0600 in 0700 directories, whatever the umask.
func TestSecurityDataDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	old := filepath.Join(dir, "blobs", "ab", strings.Repeat("c", 62))
	require.NoError(t, os.MkdirAll(filepath.Dir(old), 0o755))
	require.NoError(t, os.WriteFile(old, []byte("nom;nir\nDupont;180017512345678\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o664))
	require.NoError(t, os.Chmod(dir, 0o750))

	e := startAppWith(t, dir, nil)
	agent := e.login("agent.voirie")
	var ds map[string]any
	require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/datasets", map[string]any{
		"title": "Subventions", "department": "voirie", "schema": "scdl-subventions"}, &ds), "%v", ds)
	st, f := agent.upload("/api/v1/datasets/"+fmt.Sprint(ds["id"])+"/files", filepath.Join("testdata", "scdl-subventions.valid.csv"))
	require.Equal(t, 201, st, "%v", f)

	seen := map[string]bool{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := d.Info()
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, path)
		seen[rel] = true
		if d.IsDir() {
			require.Equal(t, fs.FileMode(0o700), info.Mode().Perm(), "directory %s", rel)
		} else {
			require.Zero(t, info.Mode().Perm()&0o077, "file %s is %04o", rel, info.Mode().Perm())
		}
		return nil
	}))
	for _, want := range []string{"civicflow.db", "civicflow.db-wal", "civicflow.db-shm", "temporal.db",
		"temporal.db.ports.json", "blobs", filepath.Join("blobs", "tmp"), filepath.Join("blobs", "ab")} {
		require.True(t, seen[want], "%s was checked (%v)", want, seen)
	}
	blobs := 0
	for p := range seen {
		if strings.HasPrefix(p, "blobs"+string(filepath.Separator)) && len(filepath.Base(p)) == 62 {
			blobs++
		}
	}
	require.GreaterOrEqual(t, blobs, 2, "the old blob and the new upload")
}
