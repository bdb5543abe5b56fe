package temporalserver_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/civicflow/civicflow/internal/temporalserver"
	"github.com/civicflow/civicflow/internal/worker"
)

func startSecured(t *testing.T, httpPort int) (*temporalserver.Server, string, string) {
	t.Helper()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, temporalserver.SecretFileName)
	secret, err := temporalserver.LoadOrCreateSecret(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := temporalserver.Start(context.Background(), temporalserver.Options{
		DatabasePath: filepath.Join(dir, "temporal.db"), Namespace: "civicflow", Retention: 24 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Secret: secret, HTTPPort: httpPort,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv, secret, dir
}

func isDenied(err error) bool {
	var pd *serviceerror.PermissionDenied
	return errors.As(err, &pd)
}

// The secret file is made once, private to its owner, and kept.
func TestSecurityTemporalSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", temporalserver.SecretFileName)
	s1, err := temporalserver.LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if len(s1) < temporalserver.MinSecretLen {
		t.Fatalf("secret %q too short", s1)
	}
	_ = os.Chmod(path, 0o644)
	s2, err := temporalserver.LoadOrCreateSecret(path)
	if err != nil || s2 != s1 {
		t.Fatalf("second load = %q, %v; want the same secret", s2, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("a secret readable by others is narrowed to 0600, got %v", fi.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := temporalserver.ReadSecret(path); err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Errorf("a short secret must be refused, got %v", err)
	}
}

// A local process without the secret — the reproduced "curl as mallory" —
// can neither list, start, signal, update nor terminate workflows, nor
// reach Temporal's internal services; civicflow's client (with the
// secret) can; the system worker still runs schedules; the HTTP API is
// closed unless asked for.
func TestSecurityTemporalFrontendNeedsSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	srv, secret, dir := startSecured(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	good, err := client.Dial(client.Options{HostPort: srv.HostPort(), Namespace: "civicflow", HeadersProvider: temporalserver.Headers(secret), Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	w, err := worker.New(good, worker.Options{TaskQueue: "auth-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := good.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "approval-1", TaskQueue: "auth-test"}, worker.ProbeWorkflow, worker.ProbeInput{WaitUpdate: true})
	if err != nil {
		t.Fatalf("civicflow's client cannot start a workflow: %v", err)
	}

	for name, badSecret := range map[string]string{
		"no secret":        "",
		"wrong secret":     strings.Repeat("x", 43),
		"secret as prefix": secret[:len(secret)-1],
	} {
		t.Run(name, func(t *testing.T) {
			// Dialing works (it only reads the server's capabilities)…
			opts := client.Options{HostPort: srv.HostPort(), Namespace: "civicflow", Logger: quiet{}}
			if badSecret != "" {
				opts.HeadersProvider = temporalserver.Headers(badSecret)
			}
			bad, err := client.Dial(opts)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer bad.Close()
			// … everything else is refused.
			_, err = bad.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "civicflow"})
			if !isDenied(err) {
				t.Errorf("list: %v, want PermissionDenied", err)
			}
			_, err = bad.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "mallory", TaskQueue: "auth-test"}, worker.ProbeWorkflow, worker.ProbeInput{})
			if !isDenied(err) {
				t.Errorf("start: %v, want PermissionDenied", err)
			}
			_, err = bad.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: "approval-1", UpdateName: worker.ProbeReleaseUpdate, Args: []any{"approved by mallory"}, WaitForStage: client.WorkflowUpdateStageCompleted})
			if !isDenied(err) {
				t.Errorf("update: %v, want PermissionDenied", err)
			}
			if err := bad.SignalWorkflow(ctx, "approval-1", "", "x", nil); !isDenied(err) {
				t.Errorf("signal: %v, want PermissionDenied", err)
			}
			if err := bad.TerminateWorkflow(ctx, "approval-1", "", "mallory"); !isDenied(err) {
				t.Errorf("terminate: %v, want PermissionDenied", err)
			}
			if _, err := bad.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "civicflow"}); !isDenied(err) {
				t.Errorf("describe namespace: %v, want PermissionDenied", err)
			}
			if _, err := bad.OperatorService().ListSearchAttributes(ctx, nil); err == nil {
				t.Error("operator API answered without the secret")
			}
		})
	}

	// The workflow was neither released nor ended by the refused calls;
	// civicflow's client completes it.
	var status string
	if v, err := good.QueryWorkflow(ctx, "approval-1", "", worker.ProbeStatusQuery); err != nil || v.Get(&status) != nil || status != "waiting" {
		t.Fatalf("status = %q, %v; want waiting", status, err)
	}
	h, err := good.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: "approval-1", UpdateName: worker.ProbeReleaseUpdate, Args: []any{"approved"}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		t.Fatalf("civicflow's update: %v", err)
	}
	var res worker.ProbeResult
	if err := h.Get(ctx, new(string)); err != nil || run.Get(ctx, &res) != nil || res.Message != "approved" {
		t.Fatalf("result = %+v, %v", res, err)
	}
	if _, err := good.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "civicflow"}); err != nil {
		t.Errorf("civicflow's list: %v", err)
	}

	// Temporal's own services (history, matching, the internal frontend,
	// the system worker) answer only to holders of the in-memory CA's
	// certificates: neither plaintext nor TLS without that certificate.
	var ports map[string]int
	b, err := os.ReadFile(filepath.Join(dir, "temporal.db.ports.json"))
	if err != nil || json.Unmarshal(b, &ports) != nil {
		t.Fatalf("ports file: %v", err)
	}
	for _, svc := range []string{"history", "matching", "internalFrontend", "worker"} {
		if ports[svc] == 0 {
			t.Fatalf("no %s port in the ports file: %s", svc, b)
		}
		addr := "127.0.0.1:" + strconv.Itoa(ports[svc])
		for mode, creds := range map[string]credentials.TransportCredentials{
			"plaintext":      insecure.NewCredentials(),
			"TLS, no client": credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}),
		} {
			conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
			if err != nil {
				t.Fatal(err)
			}
			cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
			_, err = grpc_health_v1.NewHealthClient(conn).Check(cctx, &grpc_health_v1.HealthCheckRequest{})
			ccancel()
			conn.Close()
			if err == nil {
				t.Errorf("%s at %s answered a %s client", svc, addr, mode)
			}
		}
	}

	// Schedules still run: the system worker reaches the internal frontend
	// with its certificate.
	sh, err := good.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     "every-second",
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action: &client.ScheduleWorkflowAction{ID: "scheduled-probe", Workflow: worker.ProbeWorkflow, TaskQueue: "auth-test", Args: []any{worker.ProbeInput{}}},
	})
	if err != nil {
		t.Fatalf("create schedule: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := sh.Describe(ctx)
		if err == nil && len(d.Info.RecentActions) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the schedule never fired (system worker locked out?): %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// The HTTP API is closed: no port of this process serves it.
	if srv.HTTPHostPort() != "" {
		t.Errorf("HTTPHostPort = %q, want off", srv.HTTPHostPort())
	}
	for _, port := range listeningPorts(t) {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/namespaces", port))
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "civicflow") || strings.Contains(string(body), "namespaceInfo") || resp.StatusCode == http.StatusForbidden {
			t.Errorf("port %d serves Temporal's HTTP API: %d %.200s", port, resp.StatusCode, body)
		}
	}
}

// Asked for, the HTTP API asks for the same secret.
func TestSecurityTemporalHTTPAPIOnlyWhenAskedAndWithSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv, secret, _ := startSecured(t, port)
	if srv.HTTPHostPort() != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("HTTPHostPort = %q", srv.HTTPHostPort())
	}
	url := "http://" + srv.HTTPHostPort() + "/api/v1/namespaces/civicflow/workflows"
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v", url, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if code, body := get(""); code != http.StatusForbidden {
		t.Errorf("without the secret: %d %.200s, want 403", code, body)
	}
	if code, body := get("Bearer " + strings.Repeat("y", 43)); code != http.StatusForbidden {
		t.Errorf("wrong secret: %d %.200s, want 403", code, body)
	}
	if code, body := get("Bearer " + secret); code != http.StatusOK {
		t.Errorf("with the secret: %d %.200s, want 200", code, body)
	}
}

// listeningPorts are the TCP ports this process listens on (Linux).
func listeningPorts(t *testing.T) []int {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc: cannot list the process's sockets")
	}
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var ports []int
	for _, f := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil {
				ports = append(ports, int(p))
			}
		}
		fh.Close()
	}
	if len(ports) == 0 {
		t.Fatal("found no listening socket of this process")
	}
	return ports
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
