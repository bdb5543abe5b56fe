package app_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/app"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/mail"
	"github.com/civicflow/civicflow/internal/mail/mailtest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// startAppNoWorker runs HTTP and the embedded Temporal server; the test
// runs the workers (startWorker), so that it can tune their activities and
// stop them like a crash would.
func startAppNoWorker(t *testing.T, tweak func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.TemporalPort = 0
	cfg.Demo = true
	if tweak != nil {
		tweak(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("CIVICFLOW_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := app.Start(context.Background(), cfg, log, app.Mode{HTTP: true})
	require.NoError(t, err)
	t.Cleanup(a.Stop)
	return &env{t: t, app: a, base: "http://" + a.Addr()}
}

// startWorker starts a worker of the flows task queue whose data
// activities tweak adjusts; stop ends it (within one second, cancelling
// what runs, as a killed worker would leave it).
func (e *env) startWorker(tweak func(*activities.Data)) (stop func()) {
	e.t.Helper()
	d := e.app.DataActivities()
	if tweak != nil {
		tweak(d)
	}
	w := sdkworker.New(e.app.Temporal, config.Default().WorkerTaskQueue, sdkworker.Options{WorkerStopTimeout: time.Second})
	workflows.Register(w)
	(&activities.Engine{Store: e.app.Store}).Register(w)
	d.Register(w)
	require.NoError(e.t, w.Start())
	var once sync.Once
	stop = func() { once.Do(w.Stop) }
	e.t.Cleanup(stop)
	return stop
}

// history is an instance's history.
type history []workflows.HistoryEntry

func (u *user) history(instance string) history {
	var inst struct{ History history }
	require.Equal(u.e.t, 200, u.json(http.MethodGet, "/api/v1/instances/"+instance, nil, &inst))
	return inst.History
}

// has reports whether node had event.
func (h history) has(node, event string) bool {
	for _, e := range h {
		if e.Node == node && e.Event == event {
			return true
		}
	}
	return false
}

// says reports whether a message of node contains text.
func (h history) says(node, text string) bool {
	for _, e := range h {
		if e.Node == node && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// collectSource serves a CSV with an ETag, answering If-None-Match.
type collectSource struct {
	mu          sync.Mutex
	body        []byte
	requests    int
	conditional int
}

func (s *collectSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.Header.Get("If-None-Match") != "" {
		s.conditional++
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("ETag", `"v1"`)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	_, _ = w.Write(s.body)
}

func (s *collectSource) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.conditional
}

// A nightly-style collection (a timer start every 5 s here) of a URL served
// by the test: the schedule carries the dataset and the source; the first
// run stages the file and opens a review task; the next run's conditional
// request gets 304 and the run ends as "skipped: unchanged", without task.
func TestScheduledCollectionSkipsUnchangedSource(t *testing.T) {
	e := startAppNoWorker(t, nil)
	e.startWorker(func(d *activities.Data) { d.Fetch.AllowPrivate = true }) // the source is on loopback
	agent, steward, designerU := e.login("agent.voirie"), e.login("steward.voirie"), e.login("designer")

	csv, err := os.ReadFile(filepath.Join("testdata", "scdl-subventions.valid.csv"))
	require.NoError(t, err)
	src := &collectSource{body: csv}
	srv := httptest.NewServer(src)
	defer srv.Close()
	source := srv.URL + "/export/subventions.csv"

	var ds map[string]any
	require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/datasets", map[string]any{
		"title": "Subventions (collecte)", "department": "voirie", "schema": "scdl-subventions"}, &ds), "%v", ds)
	dataset := fmt.Sprint(ds["id"])

	flow := strings.Replace(string(designer.CollecteBPMN), "R/2025-01-01T02:00:00+01:00/P1D", "R/PT5S", 1)
	vars, _ := json.Marshal(map[string]any{"dataset": dataset, "source": source})
	var prob map[string]any
	bad, _ := json.Marshal(map[string]any{"dataset": "nope", "source": source})
	require.Equal(t, 422, e.do(designerU.token, http.MethodPost, "/api/v1/flows?department=voirie&variables="+url.QueryEscape(string(bad)),
		"application/xml", strings.NewReader(flow), &prob))
	require.Contains(t, fmt.Sprint(prob["detail"]), "dataset nope does not exist")
	var dep map[string]any
	require.Equal(t, 201, e.do(designerU.token, http.MethodPost, "/api/v1/flows?department=voirie&variables="+url.QueryEscape(string(vars)),
		"application/xml", strings.NewReader(flow), &dep), "%v", dep)
	require.Equal(t, []any{"flow-collecte-nightly"}, dep["schedules"])

	var sched map[string]any
	require.Equal(t, 200, steward.json(http.MethodGet, "/api/v1/flows/collecte/schedule", nil, &sched))
	require.Equal(t, "voirie", sched["department"])
	require.Equal(t, map[string]any{"dataset": dataset, "source": source}, sched["variables"])
	require.NotEmpty(t, sched["nextRuns"])

	// Wait for two runs: one with a review task, one skipped.
	var reviewed, skipped string
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && (reviewed == "" || skipped == "") {
		var list struct{ Instances []map[string]any }
		require.Equal(t, 200, steward.json(http.MethodGet, "/api/v1/instances?flow=collecte", nil, &list))
		for _, in := range list.Instances {
			id := fmt.Sprint(in["id"])
			h := steward.history(id)
			switch {
			case h.has("review", "opened"):
				require.True(t, reviewed == "" || reviewed == id, "only the first run finds new content: %v", h)
				reviewed = id
			case h.says("collect", "skipped: unchanged") && in["status"] == "completed" && skipped == "":
				skipped = id
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.NotEmpty(t, reviewed, "a run opened a review task")
	require.NotEmpty(t, skipped, "a later run was skipped as unchanged")

	review := steward.waitTask(reviewed, "review")
	require.Equal(t, "voirie", review.Department)
	inst := steward.waitStatus(skipped, "completed")
	h := steward.history(skipped)
	require.True(t, h.says("collect", "skipped: unchanged (HTTP 304 Not Modified"), "%v", h)
	require.True(t, h.has("unchanged", "reached"), "%v", h)
	require.False(t, h.has("ingest", "completed") || h.has("review", "opened"), "%v", h)
	require.Equal(t, true, inst["variables"].(map[string]any)["unchanged"])
	var tasks struct{ Tasks []task }
	require.Equal(t, 200, steward.json(http.MethodGet, "/api/v1/tasks", nil, &tasks))
	for _, tk := range tasks.Tasks {
		require.NotEqual(t, skipped, tk.Instance, "no task for the skipped run")
	}
	_, conditional := src.counts()
	require.Positive(t, conditional, "later runs send If-None-Match")

	// One collected file: the skipped runs staged nothing.
	var files struct{ Files []store.DataFile }
	require.Equal(t, 200, agent.json(http.MethodGet, "/api/v1/datasets/"+dataset+"/files", nil, &files))
	require.Len(t, files.Files, 1)
	require.Equal(t, store.FileCollected, files.Files[0].Kind)
	require.Equal(t, `"v1"`, files.Files[0].ETag)

	// The steward approves the valid file: it is published.
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
	steward.waitStatus(reviewed, "completed")
	require.True(t, steward.history(reviewed).has("published", "reached"))
	require.Equal(t, 200, agent.json(http.MethodGet, "/api/v1/datasets/"+dataset, nil, &ds))
	require.Len(t, ds["releases"], 1, "%v", ds)

	// The schedule stops on request.
	require.Equal(t, 403, steward.json(http.MethodDelete, "/api/v1/flows/collecte/schedule", nil, nil))
	require.Equal(t, 204, designerU.json(http.MethodDelete, "/api/v1/flows/collecte/schedule", nil, nil))
	require.Equal(t, 200, steward.json(http.MethodGet, "/api/v1/flows/collecte/schedule", nil, &sched))
	require.Equal(t, false, sched["scheduled"])
}

// PUT /api/v1/flows/{key}/schedule sets the parameters of a deployed
// timer flow and re-creates its schedule; bad parameters are refused.
func TestScheduleParametersEndpoint(t *testing.T) {
	e := startApp(t)
	designerU, agent := e.login("designer"), e.login("agent.voirie")
	var ds map[string]any
	require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/datasets", map[string]any{"title": "T", "department": "voirie"}, &ds))
	dataset := fmt.Sprint(ds["id"])
	// A nightly flow: no run fires during the test.
	require.Equal(t, 201, e.do(designerU.token, http.MethodPost, "/api/v1/flows?department=finances", "application/xml",
		strings.NewReader(string(designer.CollecteBPMN)), nil))

	put := func(body map[string]any) (int, map[string]any) {
		out := map[string]any{}
		return designerU.json(http.MethodPut, "/api/v1/flows/collecte/schedule", body, &out), out
	}
	tests := []struct {
		name   string
		body   map[string]any
		want   int
		detail string
	}{
		{"no department", map[string]any{"variables": map[string]any{}}, 422, "department"},
		{"unknown department", map[string]any{"department": "sport"}, 422, "does not exist"},
		{"dataset of another department", map[string]any{"department": "finances", "variables": map[string]any{"dataset": dataset}}, 422, "belongs to department voirie"},
		{"source not a URL", map[string]any{"department": "voirie", "variables": map[string]any{"source": "file:///etc/passwd"}}, 422, "http(s) URL"},
		{"unknown field", map[string]any{"department": "voirie", "paused": true}, 400, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, out := put(tt.body)
			require.Equal(t, tt.want, st, "%v", out)
			require.Contains(t, fmt.Sprint(out["detail"]), tt.detail)
		})
	}
	st, out := put(map[string]any{"department": "voirie", "variables": map[string]any{"dataset": dataset, "source": "https://data.example.org/a.csv"}})
	require.Equal(t, 200, st, "%v", out)
	require.Equal(t, []any{"flow-collecte-nightly"}, out["schedules"])
	var sched map[string]any
	require.Equal(t, 200, agent.json(http.MethodGet, "/api/v1/flows/collecte/schedule", nil, &sched))
	require.Equal(t, "voirie", sched["department"])
	require.Equal(t, "https://data.example.org/a.csv", sched["variables"].(map[string]any)["source"])
	require.Equal(t, "designer", sched["updatedBy"])
	require.NotEmpty(t, sched["nextRuns"])
	// A redeploy without parameters keeps them.
	redeploy := strings.Replace(string(designer.CollecteBPMN), "Chaque nuit à 2 h", "Chaque nuit", 1)
	var dep map[string]any
	require.Equal(t, 201, e.do(designerU.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(redeploy), &dep), "%v", dep)
	require.Equal(t, 200, agent.json(http.MethodGet, "/api/v1/flows/collecte/schedule", nil, &sched))
	require.EqualValues(t, 2, sched["version"])
	require.Equal(t, "voirie", sched["department"])
	require.Equal(t, dataset, sched["variables"].(map[string]any)["dataset"])
	// Only designers and admins change it; flows without timer are refused.
	require.Equal(t, 403, agent.json(http.MethodPut, "/api/v1/flows/collecte/schedule", map[string]any{"department": "voirie"}, nil))
	require.Equal(t, 422, designerU.json(http.MethodPut, "/api/v1/flows/publication/schedule", map[string]any{"department": "voirie"}, nil))
	require.Equal(t, 404, designerU.json(http.MethodPut, "/api/v1/flows/nope/schedule", map[string]any{"department": "voirie"}, nil))
}

const reminderBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d" targetNamespace="t">
  <bpmn:process id="relance" name="Contrôle des équipements" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Vérifier les équipements" civicflow:role="steward" civicflow:due="P2D"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
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

// A reminder e-mail arrives in the test's SMTP server once, even though the
// worker sending it is stopped right after the server accepted the message
// and before it recorded that: the next worker finds the message past its
// commit point and does not send it again.
func TestReminderEmailOnceAcrossWorkerRestart(t *testing.T) {
	smtpSrv := mailtest.Start(t, mailtest.Options{Username: "civicflow", Password: "s3cret"})
	e := startAppNoWorker(t, func(c *config.Config) {
		c.SMTPHost, c.SMTPPort, c.SMTPUsername, c.SMTPPassword = smtpSrv.Host, smtpSrv.Port, "civicflow", "s3cret"
		c.SMTPFrom, c.PublicURL = "Mairie de Test <ne-pas-repondre@ville-test.fr>", "https://data.ville-test.fr"
	})
	trust := func(d *activities.Data) {
		d.Mail.Sender = trustingSender(d, smtpSrv)
	}
	accepted := make(chan struct{}, 1)
	stopFirst := e.startWorker(func(d *activities.Data) {
		trust(d)
		d.Mail.AfterAccept = func(ctx context.Context) error {
			accepted <- struct{}{}
			<-ctx.Done() // the worker is being killed: no bookkeeping
			return ctx.Err()
		}
	})
	designerU, steward := e.login("designer"), e.login("steward.voirie")
	require.Equal(t, 201, e.do(designerU.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(reminderBPMN), nil))
	var started map[string]any
	require.Equal(t, 201, steward.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "relance", "department": "voirie"}, &started))
	id := fmt.Sprint(started["id"])
	check := steward.waitTask(id, "check")

	select {
	case <-accepted:
	case <-time.After(60 * time.Second):
		t.Fatalf("the reminder never reached the SMTP server; history: %v", steward.history(id))
	}
	require.Len(t, smtpSrv.Messages(), 1)
	stopFirst() // killed between the server's acceptance and the bookkeeping
	mails, err := e.app.Store.MailsOfInstance(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, mails, 1)
	require.Equal(t, store.MailCommitting, mails[0].Status, "the first worker died past the commit point")

	e.startWorker(trust) // the restart
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && !steward.history(id).has("remind", "completed") {
		time.Sleep(200 * time.Millisecond)
	}
	h := steward.history(id)
	require.True(t, h.has("remind", "completed"), "%v", h)
	require.True(t, h.says("remind", "not sent again"), "%v", h)
	time.Sleep(2 * time.Second) // anything more would have arrived by now
	msgs := smtpSrv.Messages()
	require.Len(t, msgs, 1, "one e-mail, not two")
	mails, err = e.app.Store.MailsOfInstance(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, mails, 1)
	require.Equal(t, store.MailUnconfirmed, mails[0].Status)
	require.Equal(t, 1, mails[0].Attempts, "one send: the second worker did not claim it")
	ns, err := e.app.Store.Notifications(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, ns, 1)
	require.NotNil(t, ns[0].SentAt)

	// What arrived: to the steward, over STARTTLS, authenticated, in French.
	m := msgs[0]
	require.True(t, m.TLS)
	require.Equal(t, "civicflow", m.User)
	require.Equal(t, []string{"steward.voirie@demo.civicflow.fr"}, m.To)
	p, err := m.Parsed()
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Rappel : la tâche « Vérifier les équipements » attend votre action", subject)
	body, err := io.ReadAll(quotedprintable.NewReader(p.Body))
	require.NoError(t, err)
	require.Contains(t, string(body), "« Contrôle des équipements »")
	require.Contains(t, string(body), "service Voirie et espaces publics")
	require.Contains(t, string(body), "Échéance : ")
	require.Contains(t, string(body), "https://data.ville-test.fr/tasks/"+check.ID)

	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+check.ID+"/complete", map[string]any{"data": map[string]any{}}, nil))
	steward.waitStatus(id, "completed")
}

// trustingSender is the process's sender, trusting the test server's
// certificate.
func trustingSender(d *activities.Data, srv *mailtest.Server) *mail.Sender {
	cfg := d.Mail.Sender.Config()
	cfg.TLS = &tls.Config{RootCAs: srv.Roots, MinVersion: tls.VersionTLS12}
	return mail.NewSender(cfg)
}
