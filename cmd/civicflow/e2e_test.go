package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/temporalserver"
	"github.com/civicflow/civicflow/internal/worker"
)

// These tests run the real binary: they build it once, start it on temp
// data directories and free ports, and kill it with SIGKILL.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "civicflow-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "civicflow")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build civicflow: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "CIVICFLOW_LOG_LEVEL=info")
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("output of civicflow %s:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHealth(t *testing.T, p *proc, addr string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := 0
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("civicflow exited early: %v\n%s", p.err, p.out.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			last = resp.StatusCode
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("/healthz at %s did not answer %d within %s (last %d)", addr, want, within, last)
}

// shareSecret makes every civicflow process of the test (and dial) use one
// embedded-Temporal secret file, whatever their data directories: the
// serve hosting Temporal creates it, workers and web nodes read it.
func shareSecret(t *testing.T) {
	t.Setenv("CIVICFLOW_TEMPORAL_SECRET_FILE", filepath.Join(t.TempDir(), "temporal.secret"))
}

// dial is a Temporal client holding the test's shared secret (shareSecret).
func dial(t *testing.T, hostPort string) client.Client {
	t.Helper()
	secret, err := temporalserver.ReadSecret(os.Getenv("CIVICFLOW_TEMPORAL_SECRET_FILE"))
	require.NoError(t, err, "call shareSecret(t) first")
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: "civicflow", HeadersProvider: temporalserver.Headers(secret)})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func probeStatus(ctx context.Context, c client.Client, id string) string {
	v, err := c.QueryWorkflow(ctx, id, "", worker.ProbeStatusQuery)
	if err != nil {
		return ""
	}
	var s string
	_ = v.Get(&s)
	return s
}

func waitStatus(t *testing.T, c client.Client, id, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if probeStatus(ctx, c, id) == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("workflow %s never reached %q", id, want)
}

// A workflow waiting on a timer and one waiting on an update both survive a
// SIGKILL of the whole process (HTTP, worker and embedded Temporal).
func TestKill9RestartResumesWorkflows(t *testing.T) {
	shareSecret(t)
	data := t.TempDir()
	tport, hport := freePort(t), freePort(t)
	args := []string{"serve", "--data", data, "--http", fmt.Sprintf("127.0.0.1:%d", hport), "--temporal-port", fmt.Sprint(tport)}
	addr := fmt.Sprintf("127.0.0.1:%d", hport)

	p := start(t, args...)
	waitHealth(t, p, addr, 200, 60*time.Second)
	c := dial(t, fmt.Sprintf("127.0.0.1:%d", tport))
	ctx := context.Background()
	timer, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "probe-timer", TaskQueue: "civicflow"}, worker.ProbeWorkflow, worker.ProbeInput{Sleep: 6 * time.Second})
	require.NoError(t, err)
	upd, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "probe-update", TaskQueue: "civicflow"}, worker.ProbeWorkflow, worker.ProbeInput{WaitUpdate: true})
	require.NoError(t, err)
	waitStatus(t, c, "probe-timer", "sleeping")
	waitStatus(t, c, "probe-update", "waiting")

	p.kill()
	c.Close()

	p2 := start(t, args...)
	waitHealth(t, p2, addr, 200, 60*time.Second)
	c2 := dial(t, fmt.Sprintf("127.0.0.1:%d", tport))

	h, err := c2.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: upd.GetID(), UpdateName: worker.ProbeReleaseUpdate,
		Args: []any{"after restart"}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	var ack string
	require.NoError(t, h.Get(ctx, &ack))
	require.Equal(t, "released", ack)

	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var r1, r2 worker.ProbeResult
	require.NoError(t, c2.GetWorkflow(wctx, timer.GetID(), "").Get(wctx, &r1))
	require.NoError(t, c2.GetWorkflow(wctx, upd.GetID(), "").Get(wctx, &r2))
	require.Equal(t, "after restart", r2.Message)
	pid := fmt.Sprint(p2.cmd.Process.Pid)
	require.Contains(t, r1.Worker, "/"+pid, "the timer workflow finished on the restarted process")
	require.Contains(t, r2.Worker, "/"+pid)
}

// Bad configuration ends with one clear sentence and a non-zero exit.
func TestBadConfiguration(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	roFile := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(roFile, []byte("x"), 0o600))

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"serve", "--frobnicate"}, "unknown flag -frobnicate"},
		{"unknown command", []string{"frob"}, `unknown command "frob"`},
		{"bad db url", []string{"migrate", "--db", "mysql://x/y"}, "only postgres:// and sqlite: URLs are supported"},
		{"bad temporal", []string{"serve", "--temporal", "nocolon"}, `--temporal "nocolon" is neither`},
		{"unreachable temporal", []string{"worker", "--data", t.TempDir(), "--temporal", "127.0.0.1:1"}, "does not answer"},
		{"unwritable data dir", []string{"serve", "--data", filepath.Join(roFile, "sub"), "--http", "127.0.0.1:0"}, "cannot be created"},
		{"port in use", []string{"serve", "--data", t.TempDir(), "--http", busy.Addr().String()}, "already in use"},
		{"bad log level", []string{"serve", "--log-level", "loud"}, `--log-level "loud"`},
		{"bad env twin", []string{"serve"}, "CIVICFLOW_TEMPORAL_PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, tt.args...)
			cmd.Env = os.Environ()
			if tt.name == "bad env twin" {
				cmd.Env = append(cmd.Env, "CIVICFLOW_TEMPORAL_PORT=abc")
			}
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "must exit non-zero; output: %s", out)
			s := strings.TrimSpace(string(out))
			require.Contains(t, s, tt.want)
			require.NotContains(t, s, "goroutine ")
			require.NotContains(t, s, "panic")
			lines := strings.Split(s, "\n")
			require.Contains(t, lines[len(lines)-1], tt.want, "the reason is the last line")
		})
	}
}

// /healthz turns 503 when Temporal goes away, and back to 200 when it returns.
func TestHealthzFollowsTemporal(t *testing.T) {
	shareSecret(t)
	data := t.TempDir()
	tport := freePort(t)
	host := start(t, "serve", "--data", data, "--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--temporal-port", fmt.Sprint(tport), "--worker=false")
	_ = host
	webAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tport)); err == nil {
			c.Close()
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	web := start(t, "serve", "--data", t.TempDir(), "--http", webAddr, "--temporal", fmt.Sprintf("127.0.0.1:%d", tport))
	waitHealth(t, web, webAddr, 200, 60*time.Second)
	host.kill()
	waitHealth(t, web, webAddr, 503, 30*time.Second)
}

// Scale-out: one process hosts Temporal, two workers and a web node share
// PostgreSQL. A batch of probes spreads its slow, heartbeating activities
// over both workers; once the first worker holds activities in flight (as
// the server sees them: the pending activities of
// DescribeWorkflowExecution, started, with that worker's identity), it is
// killed with SIGKILL. Each of those activities must then be retried and
// completed by the second worker, as the workflow histories show: the
// started event of the last attempt has attempt > 1, the second worker's
// identity and a heartbeat timeout as its previous failure, and the
// completed event follows with the same identity.
func TestScaleOutOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	shareSecret(t)
	db := storetest.PostgresURL(t)
	tport := freePort(t)
	taddr := fmt.Sprintf("127.0.0.1:%d", tport)
	hostHTTP := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	host := start(t, "serve", "--data", t.TempDir(), "--db", db, "--http", hostHTTP, "--temporal-port", fmt.Sprint(tport), "--worker=false")
	waitHealth(t, host, hostHTTP, 200, 60*time.Second)

	w1 := start(t, "worker", "--data", t.TempDir(), "--db", db, "--temporal", taddr)
	w2 := start(t, "worker", "--data", t.TempDir(), "--db", db, "--temporal", taddr)
	webHTTP := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	web := start(t, "serve", "--data", t.TempDir(), "--db", db, "--http", webHTTP, "--temporal", taddr, "--worker=false")
	waitHealth(t, web, webHTTP, 200, 60*time.Second)

	c := dial(t, taddr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The probe's activity works this long, heartbeating (timeout 5 s): long
	// enough to be still in flight when the worker holding it is killed.
	const n, work = 12, 8 * time.Second
	p1, p2 := fmt.Sprint(w1.cmd.Process.Pid), fmt.Sprint(w2.cmd.Process.Pid)
	// SDK worker identities are "<pid>@<host>@<task queue>".
	id1, id2 := p1+"@", p2+"@"
	// Both workers poll for activities before the probes start: otherwise
	// the first one up may take every probe (a loaded machine starts them
	// seconds apart) and the other never holds one.
	waitPollers(ctx, t, c, "civicflow", id1, id2)
	var runs []client.WorkflowRun
	var ids []string
	for i := 0; i < n; i++ {
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("batch-%d", i), TaskQueue: "civicflow"},
			worker.ProbeWorkflow, worker.ProbeInput{Work: work})
		require.NoError(t, err)
		runs = append(runs, r)
		ids = append(ids, r.GetID())
	}

	// Kill the first worker once it holds activities in flight.
	var held []string
	deadline := time.Now().Add(60 * time.Second)
	for len(held) == 0 && time.Now().Before(deadline) {
		for id, who := range scaleOutInFlight(ctx, t, c, ids) {
			if strings.HasPrefix(who, id1) {
				held = append(held, id)
			}
		}
		if len(held) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	require.NotEmpty(t, held, "the first worker never held a probe activity in flight")
	w1.kill()
	t.Logf("killed worker %s holding the activities of %v", p1, held)

	pids := map[string]int{}
	for _, r := range runs {
		var res worker.ProbeResult
		require.NoError(t, r.Get(ctx, &res), "workflow %s", r.GetID())
		parts := strings.Split(res.Worker, "/")
		pids[parts[len(parts)-1]]++
	}
	t.Logf("activities finished per worker pid: %v (w1=%s killed, w2=%s)", pids, p1, p2)
	require.Equal(t, n, pids[p1]+pids[p2], "every workflow ran on one of the two workers")

	for _, id := range held {
		started, completed := scaleOutActivityEvents(ctx, t, c, id)
		require.NotNil(t, started, "%s: no ActivityTaskStarted", id)
		require.NotNil(t, completed, "%s: the activity did not complete", id)
		require.Greater(t, started.GetAttempt(), int32(1), "%s: the activity held by the killed worker was retried", id)
		require.True(t, strings.HasPrefix(started.GetIdentity(), id2), "%s: retried on the other worker, got %q", id, started.GetIdentity())
		require.Equal(t, enumspb.TIMEOUT_TYPE_HEARTBEAT, started.GetLastFailure().GetTimeoutFailureInfo().GetTimeoutType(),
			"%s: the previous attempt ended by a heartbeat timeout (the kill), got %v", id, started.GetLastFailure())
		require.True(t, strings.HasPrefix(completed.GetIdentity(), id2), "%s: completed by the other worker, got %q", id, completed.GetIdentity())
		t.Logf("%s: attempt %d started and completed by %s after %s", id, started.GetAttempt(), completed.GetIdentity(), started.GetLastFailure().GetMessage())
	}

	// Both processes applied the same migrations to the one database.
	sdb, err := sql.Open("pgx", db)
	require.NoError(t, err)
	defer sdb.Close()
	var v int
	require.NoError(t, sdb.QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&v))
	require.Positive(t, v)
}

// waitPollers waits until workers whose identities start with each of
// prefixes poll queue for activity tasks.
func waitPollers(ctx context.Context, t *testing.T, c client.Client, queue string, prefixes ...string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := c.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err == nil {
			seen := 0
			for _, want := range prefixes {
				for _, p := range resp.GetPollers() {
					if strings.HasPrefix(p.GetIdentity(), want) {
						seen++
						break
					}
				}
			}
			if seen == len(prefixes) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers %v never all polled %s (last answer: %v, %v)", prefixes, queue, resp, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// scaleOutInFlight returns, for each workflow whose probe activity a worker
// has started and not finished, that worker's identity (as the server
// knows it).
func scaleOutInFlight(ctx context.Context, t *testing.T, c client.Client, ids []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(t, err)
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == worker.ProbeActivity && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				out[id] = pa.GetLastWorkerIdentity()
			}
		}
	}
	return out
}

// scaleOutActivityEvents returns the started and completed events of the
// probe activity in a workflow's history. For a retried activity the server
// records one started event, that of the last attempt.
func scaleOutActivityEvents(ctx context.Context, t *testing.T, c client.Client, id string) (*historypb.ActivityTaskStartedEventAttributes, *historypb.ActivityTaskCompletedEventAttributes) {
	t.Helper()
	var started *historypb.ActivityTaskStartedEventAttributes
	var completed *historypb.ActivityTaskCompletedEventAttributes
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			started = a
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
			completed = a
		}
	}
	return started, completed
}
