// Package app assembles a civicflow process from its configuration: the
// store, the embedded or remote Temporal server, the worker and the HTTP
// server, started in order and stopped in reverse.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/temporalserver"
	"github.com/civicflow/civicflow/internal/web"
	"github.com/civicflow/civicflow/internal/worker"
	"github.com/civicflow/civicflow/workflows"
)

// Mode says what a process runs.
type Mode struct {
	HTTP   bool // serve the web UI and APIs
	Worker bool // run a Temporal worker
}

// App is a running civicflow process.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	Store    *store.Store
	tserver  *temporalserver.Server
	tui      *temporalserver.UI // Temporal Web UI (--temporal-ui)
	Temporal client.Client
	worker   sdkworker.Worker
	sandbox  sdkworker.Worker // the designer's tries (SandboxRegistrations)
	Web      *web.Server
	listener net.Listener
	reg      *prometheus.Registry
	cancel   context.CancelFunc
	httpDone chan error
}

// Start brings up a process. On error everything already started is stopped.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger, mode Mode) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()

	if err := EnsureDataDir(cfg, log); err != nil {
		return nil, err
	}
	// Listen first so that "port in use" fails fast, before slower start-up.
	if mode.HTTP {
		if a.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("cannot listen on %s: the port is already in use (choose another with --http)", cfg.HTTPAddr)
			}
			return nil, fmt.Errorf("cannot listen on %s: %v", cfg.HTTPAddr, err)
		}
	}

	dbURL := cfg.DB
	if cfg.DBKind() == "sqlite" {
		dbURL = cfg.SQLitePath()
	}
	if a.Store, err = store.Open(ctx, store.Options{URL: dbURL, Migrate: true}); err != nil {
		return nil, err
	}

	hostPort := cfg.Temporal
	var secret string
	if cfg.Embedded() {
		start := time.Now()
		// Only civicflow's processes may use the embedded server: they
		// share the secret of the data directory.
		if secret, err = temporalserver.LoadOrCreateSecret(cfg.TemporalSecretPath()); err != nil {
			return nil, err
		}
		a.tserver, err = temporalserver.Start(ctx, temporalserver.Options{
			DatabasePath: cfg.TemporalDBPath(),
			FrontendPort: cfg.TemporalPort,
			Namespace:    cfg.Namespace,
			Retention:    cfg.TemporalRetention,
			Logger:       log,
			Secret:       secret,
			HTTPPort:     cfg.TemporalHTTPPort,
		})
		if err != nil {
			return nil, err
		}
		hostPort = a.tserver.HostPort()
		log.Info("embedded Temporal server started", "address", hostPort, "namespace", cfg.Namespace, "db", cfg.TemporalDBPath(), "secret", cfg.TemporalSecretPath(), "took", time.Since(start).Round(time.Millisecond))
		if h := a.tserver.HTTPHostPort(); h != "" {
			log.Warn("the embedded Temporal server's HTTP API is on (--temporal-http-port); it asks for the same secret", "address", h)
		}
		if cfg.TemporalUI != "" {
			if a.tui, err = temporalserver.StartUI(ctx, cfg.TemporalUI, hostPort, cfg.Namespace, secret, log); err != nil {
				return nil, err
			}
			log.Info("Temporal Web UI started", "url", a.tui.URL())
		}
	} else {
		if cfg.TemporalUI != "" {
			log.Warn("--temporal-ui is ignored: the Web UI is served only for the embedded Temporal server", "temporal", cfg.Temporal)
		}
		if secret, err = remoteSecret(cfg); err != nil {
			return nil, err
		}
	}
	if a.Temporal, err = dial(ctx, cfg, hostPort, secret, log, a.reg); err != nil {
		return nil, err
	}
	if mode.Worker {
		a.worker, err = worker.New(a.Temporal, worker.Options{TaskQueue: cfg.WorkerTaskQueue, Logger: log, Register: Registrations(a)})
		if err != nil {
			return nil, err
		}
		if err := a.worker.Start(); err != nil {
			return nil, fmt.Errorf("start worker: %w", err)
		}
		log.Info("worker started", "task_queue", cfg.WorkerTaskQueue)
		if err := EnsureUsagePurgeSchedule(ctx, a.Temporal, cfg.WorkerTaskQueue, cfg.UsageRetentionMonths); err != nil {
			log.Warn("public API usage retention: schedule not created", "err", err)
		}
		// The designer's sandbox ("Essayer"): the same interpreter, stub activities.
		sq := workflows.SandboxTaskQueue(cfg.WorkerTaskQueue)
		if a.sandbox, err = worker.New(a.Temporal, worker.Options{TaskQueue: sq, Logger: log, Register: SandboxRegistrations()}); err != nil {
			return nil, err
		}
		if err := a.sandbox.Start(); err != nil {
			return nil, fmt.Errorf("start sandbox worker: %w", err)
		}
		switch {
		case cfg.SMTPHost == "":
			log.Info("e-mail is off (--smtp-host is not set): reminders are recorded, not sent")
		case cfg.PublicURL == "":
			log.Warn("e-mail links point to "+cfg.BaseURL()+": set --public-url to the address users reach", "smtp", cfg.SMTPHost)
		}
		if cfg.DatagouvAPIKey == "" {
			log.Info("publication to data.gouv.fr is off (--datagouv-api-key is not set): civicflow.datagouv steps stop with an incident")
		} else {
			log.Info("publication to data.gouv.fr is on", "url", cfg.DatagouvURL, "organization", cfg.DatagouvOrg)
		}
	}
	if mode.HTTP {
		a.Web, err = web.New(web.Deps{Config: cfg, Store: a.Store, Temporal: a.Temporal, Logger: log, Registry: a.reg})
		if err != nil {
			return nil, err
		}
		if cfg.Demo {
			if err := Seed(ctx, a); err != nil {
				return nil, fmt.Errorf("seed demo data: %w", err)
			}
		}
		var httpCtx context.Context
		httpCtx, a.cancel = context.WithCancel(context.Background())
		a.httpDone = make(chan error, 1)
		go func() { a.httpDone <- a.Web.Serve(httpCtx, a.listener) }()
		go a.housekeeping(httpCtx)
		log.Info("civicflow is ready", "url", "http://"+a.listener.Addr().String())
	}
	return a, nil
}

// housekeeping prunes audit entries past their retention, expired sessions
// and partial release tables that nothing will finish, at start and then
// every six hours, until ctx ends.
func (a *App) housekeeping(ctx context.Context) {
	t := time.NewTicker(6 * time.Hour)
	defer t.Stop()
	for {
		before := time.Now().Add(-a.cfg.AuditRetention)
		if n, err := audit.NewLogger(a.Store).Prune(ctx, before); err != nil {
			if ctx.Err() == nil {
				a.log.Warn("audit retention: prune failed", "err", err)
			}
		} else if n > 0 {
			a.log.Info("audit retention: pruned old entries", "count", n, "before", before.Format(time.DateOnly))
		}
		if _, err := a.Store.DeleteExpiredSessions(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("delete expired sessions", "err", err)
		}
		a.sweepReleaseLoads(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// StaleReleaseLoad is how long a partial release table may stay still,
// its instance no longer running, before housekeeping drops it.
const StaleReleaseLoad = 6 * time.Hour

// sweepReleaseLoads drops the partial release tables that no running
// instance will finish (see store.SweepReleaseLoads).
func (a *App) sweepReleaseLoads(ctx context.Context) {
	dropped, err := a.Store.SweepReleaseLoads(ctx, time.Now().Add(-StaleReleaseLoad))
	if err != nil && ctx.Err() == nil {
		a.log.Warn("sweep partial release tables", "err", err)
	}
	for _, l := range dropped {
		a.log.Info("partial release dropped: no running instance owns it", "dataset", l.DatasetID, "table", l.Table,
			"instance", l.InstanceID, "rows_loaded", l.RowsLoaded, "last_moved", l.UpdatedAt)
	}
}

// Addr is the HTTP listen address (useful with port 0).
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// TemporalHostPort is the address workers and clients dial.
func (a *App) TemporalHostPort() string {
	if a.tserver != nil {
		return a.tserver.HostPort()
	}
	return a.cfg.Temporal
}

// Done reports the HTTP server's end.
func (a *App) Done() <-chan error { return a.httpDone }

// Stop shuts down in reverse order: HTTP, worker (drained), client,
// embedded server, database.
func (a *App) Stop() {
	if a.cancel != nil {
		a.cancel()
		select {
		case <-a.httpDone:
		case <-time.After(20 * time.Second):
		}
	} else if a.listener != nil {
		a.listener.Close()
	}
	if a.Web != nil { // the public API's usage log still in memory
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := a.Web.CloseGateway(ctx); err != nil {
			a.log.Error("public API usage log", "err", err)
		}
		cancel()
	}
	if a.worker != nil {
		a.worker.Stop()
	}
	if a.sandbox != nil {
		a.sandbox.Stop()
	}
	if a.Temporal != nil {
		a.Temporal.Close()
	}
	if a.tui != nil {
		if err := a.tui.Stop(); err != nil {
			a.log.Warn("stop Temporal Web UI", "err", err)
		}
	}
	if a.tserver != nil {
		if err := a.tserver.Stop(); err != nil {
			a.log.Warn("stop embedded Temporal", "err", err)
		}
	}
	if a.Store != nil {
		a.Store.Close()
	}
}

// EnsureDataDir creates the data directory if needed, checks it is
// writable, and makes it private (see Privatise).
func EnsureDataDir(cfg config.Config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory %s cannot be created: %v", cfg.DataDir, unwrapPathErr(err))
	}
	f, err := os.CreateTemp(cfg.DataDir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %v", cfg.DataDir, unwrapPathErr(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return err
	}
	Privatise(cfg, log)
	return nil
}

// Privatise makes the data directory readable by civicflow's user only:
// the directory and every directory inside 0700 (blobs/ and its shards),
// every file 0600 or narrower (civicflow.db and temporal.db with their
// -wal and -shm, raw uploads, the ports file, keys). New files are created
// that way (the SQLite files are created 0600 before SQLite opens them, so
// that their -wal and -shm inherit the mode); this fixes the installations
// made before, whose databases (password hashes) and uploads were 0644 in
// a 0750 directory. A SQLite database given outside the data directory
// (--db sqlite:PATH) gets the same file modes, its directory is left
// alone. What cannot be changed is logged, not fatal.
func Privatise(cfg config.Config, log *slog.Logger) {
	fix := func(path string, mode fs.FileMode, dir bool) {
		want := mode.Perm() &^ 0o077
		if dir {
			want |= 0o700
		}
		if want == mode.Perm() {
			return
		}
		if err := os.Chmod(path, want); err != nil {
			log.Warn("data directory: cannot make a file private", "path", path, "mode", fmt.Sprintf("%04o", mode.Perm()), "err", unwrapPathErr(err))
		}
	}
	_ = filepath.WalkDir(cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			log.Warn("data directory: cannot read", "path", path, "err", unwrapPathErr(err))
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || !(d.IsDir() || d.Type().IsRegular()) {
			return nil // never follow a link out of the directory
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		fix(path, info.Mode(), d.IsDir())
		return nil
	})
	if cfg.DBKind() == "sqlite" {
		db := cfg.SQLitePath()
		for _, p := range []string{db, db + "-wal", db + "-shm", db + "-journal"} {
			if info, err := os.Lstat(p); err == nil && info.Mode().IsRegular() {
				fix(p, info.Mode(), false)
			}
		}
	}
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// remoteSecret is the secret a process that does not run the embedded
// server presents to --temporal: the file named by --temporal-secret-file,
// else the data directory's temporal.secret when --temporal is on this
// machine (a worker beside `serve`). The implicit file is never sent to
// another host, nor with an API key.
func remoteSecret(cfg config.Config) (string, error) {
	if cfg.TemporalSecretFile != "" {
		s, err := temporalserver.ReadSecret(cfg.TemporalSecretFile)
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("--temporal-secret-file %s does not exist", cfg.TemporalSecretFile)
		}
		return s, err
	}
	if cfg.TemporalAPIKey != "" || !loopback(cfg.Temporal) {
		return "", nil
	}
	s, err := temporalserver.ReadSecret(cfg.TemporalSecretPath())
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return s, err
}

func loopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func dial(ctx context.Context, cfg config.Config, hostPort, secret string, log *slog.Logger, reg *prometheus.Registry) (client.Client, error) {
	opts := client.Options{
		HostPort:       hostPort,
		Namespace:      cfg.Namespace,
		Logger:         tlog.NewStructuredLogger(slog.New(levelFilter{log.Handler(), slog.LevelWarn})),
		MetricsHandler: worker.NewMetricsHandler(reg),
	}
	if secret != "" {
		opts.HeadersProvider = temporalserver.Headers(secret)
	}
	if cfg.TemporalTLSCert != "" || cfg.TemporalTLSCA != "" || cfg.TemporalAPIKey != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.TemporalTLSCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
			if err != nil {
				return nil, fmt.Errorf("--temporal-tls-cert/--temporal-tls-key: %v", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if cfg.TemporalTLSCA != "" {
			pem, err := os.ReadFile(filepath.Clean(cfg.TemporalTLSCA))
			if err != nil {
				return nil, fmt.Errorf("--temporal-tls-ca: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--temporal-tls-ca %s holds no PEM certificate", cfg.TemporalTLSCA)
			}
			tc.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = tc
		if cfg.TemporalAPIKey != "" {
			opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(dctx, opts)
	if err != nil {
		return nil, fmt.Errorf("Temporal at %s does not answer (namespace %q): %v", hostPort, cfg.Namespace, shortErr(err))
	}
	// Dialing only asks for the server's capabilities, which anyone may
	// read: check now that the credentials open the namespace.
	_, err = c.WorkflowService().DescribeNamespace(dctx, &workflowservice.DescribeNamespaceRequest{Namespace: cfg.Namespace})
	var denied *serviceerror.PermissionDenied
	if errors.As(err, &denied) || status.Code(err) == codes.Unauthenticated {
		c.Close()
		hint := "check --temporal-api-key or the client certificate"
		if cfg.TemporalAPIKey == "" && cfg.TemporalTLSCert == "" {
			hint = "a civicflow embedded server asks for its secret: give the file DATA/" + temporalserver.SecretFileName + " of its `serve` with --temporal-secret-file"
		}
		return nil, fmt.Errorf("Temporal at %s refuses civicflow's credentials for namespace %q (%s)", hostPort, cfg.Namespace, hint)
	}
	return c, nil
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// levelFilter passes records at or above min (the SDK is chatty).
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (l levelFilter) Enabled(ctx context.Context, lvl slog.Level) bool {
	return lvl >= l.min && l.Handler.Enabled(ctx, lvl)
}
func (l levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{l.Handler.WithAttrs(a), l.min}
}
func (l levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{l.Handler.WithGroup(n), l.min}
}
