package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/civicflow/civicflow/internal/app"
	"github.com/civicflow/civicflow/internal/config"
)

// These tests run a whole civicflow process in the test (embedded Temporal
// server, worker, HTTP on a free port) and drive it through HTTP as the
// demo users would.

type env struct {
	t    *testing.T
	app  *app.App
	base string
}

func startApp(t *testing.T) *env { return startAppOn(t, "") }

// startAppOn starts the whole application on the database dbURL ("" for
// the data directory's SQLite file).
func startAppOn(t *testing.T, dbURL string) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DB = dbURL
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.TemporalPort = 0
	cfg.Demo = true
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("CIVICFLOW_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := app.Start(context.Background(), cfg, log, app.Mode{HTTP: true, Worker: true})
	require.NoError(t, err)
	t.Cleanup(a.Stop)
	return &env{t: t, app: a, base: "http://" + a.Addr()}
}

type user struct {
	e     *env
	name  string
	token string
}

func (e *env) login(name string) *user {
	e.t.Helper()
	var out struct{ Token string }
	st := e.do("", http.MethodPost, "/api/v1/login", "application/json", strings.NewReader(`{"username":"`+name+`","password":"demo"}`), &out)
	require.Equal(e.t, 200, st, "login %s", name)
	require.NotEmpty(e.t, out.Token)
	return &user{e: e, name: name, token: out.Token}
}

func (e *env) do(token, method, path, ct string, body io.Reader, out any) int {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	require.NoError(e.t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		_ = json.Unmarshal(b, out)
	}
	if resp.StatusCode >= 500 {
		e.t.Errorf("%s %s → %d: %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

func (u *user) json(method, path string, in, out any) int {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	return u.e.do(u.token, method, path, "application/json", body, out)
}

func (u *user) upload(path, file string) (int, map[string]any) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", filepath.Base(file))
	data, err := os.ReadFile(file)
	require.NoError(u.e.t, err)
	fw.Write(data)
	mw.Close()
	out := map[string]any{}
	st := u.e.do(u.token, http.MethodPost, path, mw.FormDataContentType(), &buf, &out)
	return st, out
}

type task struct {
	ID, Instance, Node, Status, Assignee, Department string
}

// waitTask polls u's inbox until a task of node for instance shows up.
func (u *user) waitTask(instance, node string) task {
	u.e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var out struct{ Tasks []task }
		require.Equal(u.e.t, 200, u.json(http.MethodGet, "/api/v1/tasks", nil, &out))
		for _, t := range out.Tasks {
			if t.Instance == instance && t.Node == node {
				return t
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	var inst map[string]any
	u.json(http.MethodGet, "/api/v1/instances/"+instance, nil, &inst)
	u.e.t.Fatalf("%s never saw task %q of %s; instance: %v", u.name, node, instance, inst)
	return task{}
}

func (u *user) waitStatus(instance, want string) map[string]any {
	u.e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var inst map[string]any
	for time.Now().Before(deadline) {
		inst = map[string]any{}
		require.Equal(u.e.t, 200, u.json(http.MethodGet, "/api/v1/instances/"+instance, nil, &inst))
		if inst["status"] == want {
			return inst
		}
		time.Sleep(100 * time.Millisecond)
	}
	u.e.t.Fatalf("instance %s never reached %q: %v", instance, want, inst)
	return nil
}

func decide(decision string) map[string]any {
	return map[string]any{"data": map[string]any{"decision": decision, "comment": "test " + decision}}
}

// newSubmission creates a dataset, uploads file and starts the publication flow.
func newSubmission(t *testing.T, agent *user, dept, file string) (dataset, instance string) {
	t.Helper()
	var ds map[string]any
	st := agent.json(http.MethodPost, "/api/v1/datasets", map[string]any{
		"title": "Subventions " + dept, "description": "Subventions attribuées", "department": dept, "schema": "scdl-subventions",
	}, &ds)
	require.Equal(t, 201, st, "create dataset: %v", ds)
	dataset = fmt.Sprint(ds["id"])
	st, f := agent.upload("/api/v1/datasets/"+dataset+"/files", file)
	require.Equal(t, 201, st, "upload: %v", f)
	var started map[string]any
	st = agent.json(http.MethodPost, "/api/v1/instances", map[string]any{
		"flow": "publication", "department": dept, "variables": map[string]any{"dataset": dataset, "file": f["id"]},
	}, &started)
	require.Equal(t, 201, st, "start: %v", started)
	return dataset, fmt.Sprint(started["id"])
}

func TestPublicationFlowOverHTTP(t *testing.T) {
	e := startApp(t)
	agent, steward, dgs := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs")
	admin := e.login("admin")
	valid := filepath.Join("testdata", "scdl-subventions.valid.csv")

	t.Run("happy path publishes a release", func(t *testing.T) {
		dataset, id := newSubmission(t, agent, "voirie", valid)
		review := steward.waitTask(id, "review")
		require.Equal(t, "voirie", review.Department)

		// Another department's steward is not offered the task.
		other := e.login("steward.finances")
		require.Equal(t, 403, other.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
		// Invalid form data: 422, the task stays open.
		require.Equal(t, 422, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("maybe"), nil))
		require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
		// Double completion: 409.
		require.Equal(t, 409, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))

		approval := dgs.waitTask(id, "approval")
		require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
		inst := agent.waitStatus(id, "completed")
		require.Equal(t, "publication", inst["flow"])
		recordHistory(t, e, id, "publication-happy")

		var ds map[string]any
		require.Equal(t, 200, agent.json(http.MethodGet, "/api/v1/datasets/"+dataset, nil, &ds))
		releases, _ := ds["releases"].([]any)
		require.Len(t, releases, 1, "dataset after approval: %v", ds)
	})

	t.Run("changes requested loop back to the agent", func(t *testing.T) {
		_, id := newSubmission(t, agent, "voirie", valid)
		review := steward.waitTask(id, "review")
		require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("changes"), nil))
		corr := agent.waitTask(id, "correction")
		require.Equal(t, 200, agent.json(http.MethodPost, "/api/v1/tasks/"+corr.ID+"/complete", map[string]any{"data": map[string]any{"comment": "corrigé"}}, nil))
		review2 := steward.waitTask(id, "review")
		require.NotEqual(t, review.ID, review2.ID)
		require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review2.ID+"/complete", decide("approve"), nil))
		approval := dgs.waitTask(id, "approval")
		require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("reject"), nil))
		agent.waitStatus(id, "completed")
		recordHistory(t, e, id, "publication-changes-reject")
	})

	t.Run("four eyes: the submitter cannot approve", func(t *testing.T) {
		// Give the agent the approver role in voirie: still refused on
		// their own submission.
		var users []struct {
			ID       int64
			Username string
		}
		require.Equal(t, 200, admin.json(http.MethodGet, "/api/v1/users", nil, &users))
		var agentID int64
		for _, u := range users {
			if u.Username == "agent.voirie" {
				agentID = u.ID
			}
		}
		require.NotZero(t, agentID)
		st := admin.json(http.MethodPost, fmt.Sprintf("/api/v1/users/%d/memberships", agentID), map[string]any{"role": "approver", "department": "voirie"}, nil)
		require.Contains(t, []int{200, 201, 204}, st)
		agent2 := e.login("agent.voirie") // fresh principal with the new role

		_, id := newSubmission(t, agent2, "voirie", valid)
		review := steward.waitTask(id, "review")
		require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
		approval := agent2.waitTask(id, "approval")
		var prob map[string]any
		require.Equal(t, 403, agent2.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), &prob))
		require.Contains(t, fmt.Sprint(prob["detail"]), "")
		require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
		agent2.waitStatus(id, "completed")
	})

	t.Run("metrics expose HTTP and worker metrics", func(t *testing.T) {
		resp, err := http.Get(e.base + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, string(b), "civicflow_http_requests_total")
		require.Contains(t, string(b), "temporal_")
	})

	t.Run("unknown flow and foreign department are refused", func(t *testing.T) {
		require.Equal(t, 422, agent.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "nope", "department": "voirie"}, nil))
		require.Equal(t, 403, agent.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "publication", "department": "finances"}, nil))
		require.Equal(t, 400, agent.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "publication", "department": "voirie", "bogus": 1}, nil))
	})
}

const escalationBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d" targetNamespace="t">
  <bpmn:process id="escalation" name="Escalade" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Vérifier" civicflow:role="steward"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="late" attachedToRef="check" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="remind" name="Relancer" civicflow:activity="civicflow.notify">
      <bpmn:extensionElements><civicflow:param name="to" value="steward"/><civicflow:param name="template" value="task-overdue"/></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="reminded"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="done"/>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="remind"/>
    <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="reminded"/>
  </bpmn:process>
</bpmn:definitions>`

func TestDeployAndEscalation(t *testing.T) {
	e := startApp(t)
	designer, steward := e.login("designer"), e.login("steward.voirie")
	var dep map[string]any
	st := e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(escalationBPMN), &dep)
	require.Equal(t, 201, st, "%v", dep)
	require.Equal(t, "escalation", dep["key"])
	require.EqualValues(t, 1, dep["version"])
	// Identical XML: same version.
	st = e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(escalationBPMN), &dep)
	require.Equal(t, 200, st)
	require.EqualValues(t, 1, dep["version"])
	// A steward may not deploy.
	require.Equal(t, 403, e.do(steward.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(escalationBPMN), nil))
	// Broken flows: 422 with element-level problems.
	var prob struct {
		Problems []struct{ Element, Message string }
	}
	broken := strings.Replace(escalationBPMN, `<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="done"/>`, "", 1)
	require.Equal(t, 422, e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(broken), &prob))
	require.NotEmpty(t, prob.Problems)
	require.Equal(t, 422, e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(`<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>`), nil))
	require.Equal(t, 422, e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(`not xml at all`), nil))

	var started map[string]any
	require.Equal(t, 201, steward.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "escalation", "department": "voirie"}, &started))
	id := fmt.Sprint(started["id"])
	check := steward.waitTask(id, "check")
	// The reminder fires after 1 s while the task stays open.
	deadline := time.Now().Add(30 * time.Second)
	reminded := false
	for time.Now().Before(deadline) && !reminded {
		var inst map[string]any
		steward.json(http.MethodGet, "/api/v1/instances/"+id, nil, &inst)
		b, _ := json.Marshal(inst["history"])
		reminded = strings.Contains(string(b), `"remind"`)
		time.Sleep(200 * time.Millisecond)
	}
	require.True(t, reminded, "the escalation reminder ran")
	var tk map[string]any
	require.Equal(t, 200, steward.json(http.MethodGet, "/api/v1/tasks/"+check.ID, nil, &tk))
	require.Contains(t, []any{"open", "claimed"}, tk["status"])
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+check.ID+"/claim", nil, nil))
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+check.ID+"/complete", map[string]any{"data": map[string]any{}}, nil))
	steward.waitStatus(id, "completed")
}

// recordHistory writes the instance's event history to
// workflows/testdata/replay/NAME.json when CIVICFLOW_RECORD_HISTORY=1, so
// that replay tests check each released interpreter against real runs.
func recordHistory(t *testing.T, e *env, id, name string) {
	t.Helper()
	if os.Getenv("CIVICFLOW_RECORD_HISTORY") != "1" {
		return
	}
	ctx := context.Background()
	it := e.app.Temporal.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	require.NoError(t, err)
	dir := filepath.Join("..", "..", "workflows", "testdata", "replay")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644))
	t.Logf("recorded %d events into %s", len(h.Events), name)
}

// Hostile and broken BPMN gets a 4xx with a reason, fast.
func TestHostileBPMNOverHTTP(t *testing.T) {
	e := startApp(t)
	designer := e.login("designer")
	deep := strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000)
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol3;</bpmn:definitions>`
	xxe := `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>`
	big := bytes.Repeat([]byte("<!-- padding padding padding padding -->"), 50<<20/40)
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"billion laughs", []byte(laughs), 422},
		{"external entity", []byte(xxe), 422},
		{"10,000-deep nesting", []byte(deep), 422},
		{"truncated", []byte(escalationBPMN[:len(escalationBPMN)/2]), 422},
		{"not XML", []byte("PK\x03\x04 this is a zip"), 422},
		{"empty", nil, 400},
		{"50 MB", big, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prob map[string]any
			start := time.Now()
			st := e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", bytes.NewReader(tt.body), &prob)
			require.Equal(t, tt.want, st, "%v", prob)
			require.NotEmpty(t, prob["detail"])
			require.Less(t, time.Since(start), 2*time.Second)
		})
	}
}

// A business error in a service task puts the instance into "incident";
// an operator resolves it (skip) and the flow goes on.
func TestIncidentResolvedByOperator(t *testing.T) {
	e := startApp(t)
	designer, steward := e.login("designer"), e.login("steward.voirie")
	flow := strings.NewReplacer(`id="escalation" name="Escalade"`, `id="incident" name="Incident"`,
		`<bpmn:extensionElements><civicflow:param name="to" value="steward"/><civicflow:param name="template" value="task-overdue"/></bpmn:extensionElements>`, "",
		`<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>`, `<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="remind"/><bpmn:sequenceFlow id="f5" sourceRef="remind" targetRef="check"/>`,
		`<bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="reminded"/>`, ``,
		`<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>`, `<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>`,
		`<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>`, `<bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>`,
	).Replace(escalationBPMN)
	// Keep it simple: no boundary in this flow.
	flow = strings.NewReplacer(`<bpmn:boundaryEvent id="late" attachedToRef="check" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>`, "", `<bpmn:endEvent id="reminded"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>`, "",
		`<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="remind"/>`, "").Replace(flow)
	var dep map[string]any
	require.Equal(t, 201, e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(flow), &dep), "%v\n%s", dep, flow)

	var started map[string]any
	require.Equal(t, 201, steward.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "incident", "department": "voirie"}, &started))
	id := fmt.Sprint(started["id"])
	inst := steward.waitStatus(id, "incident")
	require.Contains(t, fmt.Sprint(inst["message"]), "civicflow.notify")
	// The list reads the read model, which follows the live state shortly.
	require.Eventually(t, func() bool {
		var list struct{ Instances []map[string]any }
		return steward.json(http.MethodGet, "/api/v1/instances?status=incident", nil, &list) == 200 && len(list.Instances) > 0
	}, 30*time.Second, 100*time.Millisecond, "the instance never listed as in incident")
	require.Equal(t, 422, steward.json(http.MethodPost, "/api/v1/instances/"+id+"/resolve", map[string]any{"action": "ignore"}, nil))
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/instances/"+id+"/resolve", map[string]any{"action": "skip"}, nil))
	check := steward.waitTask(id, "check")
	// No incident left: resolving is a conflict (409), not a server error.
	var prob map[string]any
	require.Equal(t, 409, steward.json(http.MethodPost, "/api/v1/instances/"+id+"/resolve", map[string]any{"action": "retry"}, &prob))
	require.Contains(t, fmt.Sprint(prob["detail"]), "no open incident")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+check.ID+"/complete", map[string]any{"data": map[string]any{}}, nil))
	steward.waitStatus(id, "completed")

	// Cancelling a running instance closes its open tasks.
	require.Equal(t, 201, steward.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "incident", "department": "voirie"}, &started))
	id2 := fmt.Sprint(started["id"])
	steward.waitStatus(id2, "incident")
	require.Equal(t, 202, steward.json(http.MethodPost, "/api/v1/instances/"+id2+"/cancel", nil, nil))
	steward.waitStatus(id2, "cancelled")
	require.Equal(t, 409, steward.json(http.MethodPost, "/api/v1/instances/"+id2+"/cancel", nil, nil))
}

const timerStartBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d" targetNamespace="t">
  <bpmn:process id="nightly" name="Collecte quotidienne" isExecutable="true">
    <bpmn:startEvent id="every"><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT2S</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="look" name="Regarder" civicflow:role="steward"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="every" targetRef="look"/>
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>`

// A timer start event becomes a Temporal schedule: its instances appear in
// the department's inbox without anyone starting them.
func TestTimerStartSchedule(t *testing.T) {
	e := startApp(t)
	designer, steward := e.login("designer"), e.login("steward.voirie")
	var prob map[string]any
	require.Equal(t, 422, e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(timerStartBPMN), &prob))
	require.Contains(t, fmt.Sprint(prob["detail"]), "department")
	var dep map[string]any
	require.Equal(t, 201, e.do(designer.token, http.MethodPost, "/api/v1/flows?department=voirie", "application/xml", strings.NewReader(timerStartBPMN), &dep), "%v", dep)
	require.NotEmpty(t, dep["schedules"])

	deadline := time.Now().Add(45 * time.Second)
	var list struct{ Instances []map[string]any }
	for time.Now().Before(deadline) {
		list.Instances = nil
		require.Equal(t, 200, steward.json(http.MethodGet, "/api/v1/instances?flow=nightly", nil, &list))
		if len(list.Instances) >= 1 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.NotEmpty(t, list.Instances, "the schedule started an instance")
	id := fmt.Sprint(list.Instances[0]["id"])
	require.Equal(t, "voirie", list.Instances[0]["department"])
	task := steward.waitTask(id, "look")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+task.ID+"/complete", map[string]any{"data": map[string]any{}}, nil))
	steward.waitStatus(id, "completed")
}
