package temporalserver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicflow/civicflow/internal/temporalserver"
)

func TestWebUI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const ns = "civicflow-ui-test"
	secret, err := temporalserver.LoadOrCreateSecret(filepath.Join(t.TempDir(), temporalserver.SecretFileName))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := temporalserver.Start(ctx, temporalserver.Options{
		DatabasePath: filepath.Join(t.TempDir(), "temporal.db"),
		FrontendPort: 0,
		Namespace:    ns,
		Retention:    24 * time.Hour,
		Logger:       log,
		Secret:       secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })

	// Bad addresses are refused with a clear message.
	for _, bad := range []string{"8233", "localhost", "127.0.0.1:http-ish", "127.0.0.1:70000"} {
		if _, err := temporalserver.StartUI(ctx, bad, srv.HostPort(), ns, secret, log); err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
			t.Errorf("StartUI(%q) = %v, want a HOST:PORT error", bad, err)
		}
	}

	addr := freeAddr(t)
	ui, err := temporalserver.StartUI(ctx, addr, srv.HostPort(), ns, secret, log)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = ui.Stop()
		}
	})
	if ui.Addr() != addr {
		t.Errorf("Addr() = %s, want %s", ui.Addr(), addr)
	}

	// A second UI on the same port: an error, not an exit.
	if _, err := temporalserver.StartUI(ctx, addr, srv.HostPort(), ns, secret, log); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("second StartUI on %s = %v, want 'already in use'", addr, err)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + addr

	code, ctype, body := get(t, client, base+"/")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(strings.ToLower(body), "<html") {
		t.Fatalf("GET / = %d %q %.200q, want 200 HTML", code, ctype, body)
	}
	// A client-side route is served the same index page.
	if code, _, _ := get(t, client, base+"/namespaces/"+ns+"/workflows"); code != http.StatusOK {
		t.Errorf("GET /namespaces/%s/workflows = %d, want 200", ns, code)
	}

	code, _, body = get(t, client, base+"/api/v1/settings")
	var settings struct{ DefaultNamespace string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &settings) != nil || settings.DefaultNamespace != ns {
		t.Errorf("GET /api/v1/settings = %d %.300s, want 200 with DefaultNamespace %q", code, body, ns)
	}

	// The namespace API goes through the UI server's gRPC gateway to the
	// embedded frontend, which asks for the secret: the UI presents it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _, body = get(t, client, base+"/api/v1/namespaces")
		if code == http.StatusOK && strings.Contains(body, ns) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/v1/namespaces = %d %.300s, want 200 listing %q", code, body, ns)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The UI is read-only: a write (here terminate), even with the UI's
	// own CSRF token, is refused before reaching Temporal.
	jar, _ := cookiejar.New(nil)
	withJar := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	get(t, withJar, base+"/")
	u, _ := url.Parse(base)
	var csrf string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "_csrf" {
			csrf = ck.Value
		}
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/namespaces/"+ns+"/workflows/any/terminate", strings.NewReader(`{"reason":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := withJar.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST terminate through the UI = %d, want 405 (read-only UI)", resp.StatusCode)
	}

	stopped = true
	if err := ui.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := ui.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	// The port is released ...
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %s not released after Stop: %v", addr, err)
	}
	l.Close()
	// ... and the UI no longer answers.
	if resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(base + "/"); err == nil {
		resp.Body.Close()
		t.Errorf("GET / after Stop answered %d", resp.StatusCode)
	}
	// Reaching this line proves that stopping the UI did not exit the process.
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, c *http.Client, url string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
