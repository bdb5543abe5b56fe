package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type httpUser struct {
	t     *testing.T
	base  string
	token string
}

func loginAs(t *testing.T, base, name string) *httpUser {
	t.Helper()
	u := &httpUser{t: t, base: base}
	var out struct{ Token string }
	require.Equal(t, 200, u.call("POST", "/api/v1/login", "application/json", bytes.NewBufferString(`{"username":"`+name+`","password":"demo"}`), &out))
	u.token = out.Token
	return u
}

func (u *httpUser) call(method, path, ct string, body io.Reader, out any) int {
	u.t.Helper()
	req, err := http.NewRequest(method, u.base+path, body)
	require.NoError(u.t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(u.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	return resp.StatusCode
}

func (u *httpUser) post(path string, in, out any) int {
	b, _ := json.Marshal(in)
	return u.call("POST", path, "application/json", bytes.NewReader(b), out)
}

func (u *httpUser) waitTask(instance, node string) string {
	u.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var out struct {
			Tasks []struct{ ID, Instance, Node string }
		}
		u.call("GET", "/api/v1/tasks", "", nil, &out)
		for _, t := range out.Tasks {
			if t.Instance == instance && t.Node == node {
				return t.ID
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	u.t.Fatalf("task %s of %s never appeared", node, instance)
	return ""
}

// The publication flow survives a SIGKILL between two human tasks: after a
// restart on the same data directory the inbox, the instance and its
// timers are intact and the flow completes.
func TestKill9InTheMiddleOfThePublicationFlow(t *testing.T) {
	data := t.TempDir()
	hport, tport := freePort(t), freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", hport)
	base := "http://" + addr
	args := []string{"serve", "--demo", "--data", data, "--http", addr, "--temporal-port", fmt.Sprint(tport)}
	p := start(t, args...)
	waitHealth(t, p, addr, 200, 60*time.Second)

	agent := loginAs(t, base, "agent.voirie")
	var ds struct{ ID string }
	require.Equal(t, 201, agent.post("/api/v1/datasets", map[string]any{"title": "Subventions 2024", "department": "voirie", "schema": "scdl-subventions"}, &ds))
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "subventions.csv")
	csv, err := os.ReadFile("testdata/scdl-subventions.valid.csv")
	require.NoError(t, err)
	fw.Write(csv)
	mw.Close()
	var file struct{ ID any }
	require.Equal(t, 201, agent.call("POST", "/api/v1/datasets/"+ds.ID+"/files", mw.FormDataContentType(), &buf, &file))
	var started struct{ ID string }
	require.Equal(t, 201, agent.post("/api/v1/instances", map[string]any{"flow": "publication", "department": "voirie",
		"variables": map[string]any{"dataset": ds.ID, "file": file.ID}}, &started))

	steward := loginAs(t, base, "steward.voirie")
	review := steward.waitTask(started.ID, "review")
	p.kill()

	p2 := start(t, args...)
	waitHealth(t, p2, addr, 200, 60*time.Second)
	// Sessions live in the database: the same tokens still work.
	var prob map[string]any
	require.Equal(t, 200, steward.post("/api/v1/tasks/"+review+"/complete", map[string]any{"data": map[string]any{"decision": "approve"}}, &prob), "%v", prob)
	dgs := loginAs(t, base, "dgs")
	approval := dgs.waitTask(started.ID, "approval")
	require.Equal(t, 200, dgs.post("/api/v1/tasks/"+approval+"/complete", map[string]any{"data": map[string]any{"decision": "approve"}}, nil))

	deadline := time.Now().Add(60 * time.Second)
	var inst struct {
		Status string
	}
	for time.Now().Before(deadline) {
		agent.call("GET", "/api/v1/instances/"+started.ID, "", nil, &inst)
		if inst.Status == "completed" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, "completed", inst.Status)
	var got struct {
		Releases []any
	}
	require.Equal(t, 200, agent.call("GET", "/api/v1/datasets/"+ds.ID, "", nil, &got))
	require.Len(t, got.Releases, 1)
}
