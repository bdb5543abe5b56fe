// Package temporalserver runs a complete Temporal server inside the civicflow
// process, persisted in one SQLite file, so that a single machine needs
// nothing else installed. It is the default of `civicflow serve`; it is not
// used when --temporal names an existing cluster.
package temporalserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Options configure the embedded server.
type Options struct {
	// DatabasePath is the SQLite file holding all Temporal state ("" = in memory, for tests).
	DatabasePath string
	// IP the frontend listens on; loopback by default.
	IP string
	// FrontendPort is the gRPC port clients dial (0 = pick a free port).
	FrontendPort int
	// Namespace registered at start.
	Namespace string
	// Retention of closed workflow histories (at least a day).
	Retention time.Duration
	// Logger receives the server's logs at warn level and above.
	Logger *slog.Logger
	// MetricsPort exposes the server's own Prometheus metrics (0 = free port).
	MetricsPort int
	// Secret is what clients must present to use the frontend (see
	// Headers and LoadOrCreateSecret); the services then talk to each other
	// over mutual TLS. Empty means no authentication at all: for tests and
	// benchmarks only, civicflow always sets it.
	Secret string
	// HTTPPort serves the frontend's HTTP API on IP (0 = off, the default).
	// It asks for the same secret (Authorization: Bearer …).
	HTTPPort int
}

// Server is a running embedded Temporal server.
type Server struct {
	srv      temporal.Server
	hostPort string
	opts     Options
}

func (o *Options) validate() error {
	if o.Namespace == "" {
		return errors.New("temporal namespace is empty")
	}
	if o.Retention < 24*time.Hour {
		return fmt.Errorf("temporal retention %s is shorter than one day", o.Retention)
	}
	if o.FrontendPort < 0 || o.FrontendPort > 65535 {
		return fmt.Errorf("temporal port %d is out of range", o.FrontendPort)
	}
	if o.HTTPPort < 0 || o.HTTPPort > 65535 || (o.HTTPPort != 0 && o.HTTPPort == o.FrontendPort) {
		return fmt.Errorf("temporal HTTP API port %d is out of range or the frontend's", o.HTTPPort)
	}
	if o.Secret != "" && len(o.Secret) < MinSecretLen {
		return fmt.Errorf("the Temporal secret is shorter than %d characters", MinSecretLen)
	}
	return nil
}

// Start creates the schema on first use, registers the namespace and starts
// the frontend, history, matching and worker services. It returns once the
// frontend accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ports, err := loadPorts(opts)
	if err != nil {
		return nil, err
	}
	if opts.FrontendPort == 0 {
		opts.FrontendPort = ports.Frontend
	} else if err := portFree(opts.IP, opts.FrontendPort); err != nil {
		return nil, fmt.Errorf("embedded Temporal cannot listen on %s:%d (port in use? choose another with --temporal-port): %w", opts.IP, opts.FrontendPort, err)
	}
	ports.Frontend = opts.FrontendPort
	if opts.HTTPPort != 0 {
		if err := portFree(opts.IP, opts.HTTPPort); err != nil {
			return nil, fmt.Errorf("embedded Temporal HTTP API cannot listen on %s:%d (port in use? choose another with --temporal-http-port): %w", opts.IP, opts.HTTPPort, err)
		}
	}
	if opts.MetricsPort == 0 {
		opts.MetricsPort = ports.Metrics
	}
	if err := savePorts(opts, ports); err != nil {
		return nil, err
	}

	sqlConf := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{},
		DatabaseName:      opts.DatabasePath,
	}
	if opts.DatabasePath == "" {
		sqlConf.ConnectAttributes["mode"] = "memory"
		sqlConf.ConnectAttributes["cache"] = "shared"
		sqlConf.DatabaseName = "civicflow-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	} else {
		sqlConf.ConnectAttributes["mode"] = "rwc"
		// Pragmas go under their plain names: the plugin turns every
		// attribute it does not know into "_pragma=NAME=VALUE". (civicflow
		// used to write "_journal_mode", which SQLite ignores: the file
		// ran in rollback-journal mode with a full fsync per commit, at
		// twice the CPU per workflow.) WAL with synchronous=NORMAL: a
		// commit is durable across process crashes (kill -9) and fsync'd at
		// checkpoints. An existing file switches to WAL at first open.
		sqlConf.ConnectAttributes["journal_mode"] = "wal"
		sqlConf.ConnectAttributes["synchronous"] = "NORMAL"
		sqlConf.ConnectAttributes["busy_timeout"] = "10000" // a backup or sqlite3 shell reading the file
		// One connection: measured, 2 or 4 connections double the CPU per
		// workflow (writers contend for SQLite's single write lock).
		sqlConf.MaxConns, sqlConf.MaxIdleConns = 1, 1
		if _, err := os.Stat(opts.DatabasePath); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(opts.DatabasePath), 0o700); err != nil {
				return nil, fmt.Errorf("temporal data directory: %w", err)
			}
			// Created 0600 before SQLite opens it, so that its -wal and
			// -shm get that mode too (SQLite copies the database's).
			f, err := os.OpenFile(opts.DatabasePath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, fmt.Errorf("create %s: %w", opts.DatabasePath, err)
			}
			f.Close()
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				_ = os.Remove(opts.DatabasePath)
				return nil, fmt.Errorf("create Temporal schema in %s: %w", opts.DatabasePath, err)
			}
		}
	}
	if opts.DatabasePath == "" {
		if err := sqliteschema.SetupSchema(sqlConf); err != nil {
			return nil, fmt.Errorf("create in-memory Temporal schema: %w", err)
		}
	}

	const clusterName = "active"
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", opts.Namespace, err)
	}
	// NewNamespaceConfig hard-codes 24 h; civicflow keeps histories longer.
	ns.Detail.Config.Retention = durationpb.New(opts.Retention)
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return nil, fmt.Errorf("register namespace %q: %w", opts.Namespace, err)
	}

	hostPort := net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort))
	conf := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: opts.IP},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort(opts.IP, strconv.Itoa(opts.MetricsPort)),
				HandlerPath:   "/metrics",
			}},
		},
		Persistence: config.Persistence{
			DefaultStore:    sqliteplugin.PluginName,
			VisibilityStore: sqliteplugin.PluginName,
			// One shard: with one SQLite connection every write is serial
			// anyway; 4 shards measured no faster (docs/benchmarks.md) and
			// poll the database 4 times as often when idle. Temporal
			// forbids changing this for an existing temporal.db.
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlConf}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: hostPort},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		Services: map[string]config.Service{},
	}
	// The same ports at every start: after a crash the ring membership
	// recorded in temporal.db names this very process, so shards are
	// owned again at once instead of waiting for stale hosts to expire.
	front := service(opts.IP, opts.FrontendPort, ports.FrontendMembership)
	front.RPC.HTTPPort = opts.HTTPPort // 0: the HTTP API is off
	conf.Services[string(primitives.FrontendService)] = front
	conf.Services[string(primitives.HistoryService)] = service(opts.IP, ports.History, ports.HistoryMembership)
	conf.Services[string(primitives.MatchingService)] = service(opts.IP, ports.Matching, ports.MatchingMembership)
	conf.Services[string(primitives.WorkerService)] = service(opts.IP, ports.Worker, ports.WorkerMembership)
	services := temporal.DefaultServices
	var authOpts []temporal.ServerOption
	if opts.Secret != "" {
		// Clients present the secret to the frontend; Temporal's own
		// services use an internal frontend and each other over mTLS.
		internode, err := internodeTLS()
		if err != nil {
			return nil, fmt.Errorf("embedded Temporal internal certificates: %w", err)
		}
		conf.Global.TLS.Internode = internode
		conf.Services[string(primitives.InternalFrontendService)] = service(opts.IP, ports.InternalFrontend, ports.InternalFrontendMembership)
		services = append(append([]string{}, services...), string(primitives.InternalFrontendService))
		want := []byte("Bearer " + opts.Secret)
		authOpts = []temporal.ServerOption{
			temporal.WithAuthorizer(authorization.NewDefaultAuthorizer()),
			temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return secretClaims{want: want} }),
		}
	} else {
		conf.PublicClient = config.PublicClient{HostPort: hostPort}
	}

	dyn := dynamicconfig.StaticClient{
		// One machine: one partition per task queue keeps matching simple and fast.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():      1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():     1,
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.FrontendPersistenceMaxQPS.Key():               10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():                45000,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():            8096,
	}

	srv, err := temporal.NewServer(append([]temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(services),
		temporal.WithLogger(newLogger(opts.Logger)),
		temporal.WithDynamicConfigClient(dyn),
	}, authOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("build embedded Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start embedded Temporal server: %w", err)
	}
	s := &Server{srv: srv, hostPort: hostPort, opts: opts}
	if err := waitListening(ctx, hostPort, 30*time.Second); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return s, nil
}

// HostPort is the frontend address for SDK clients.
func (s *Server) HostPort() string { return s.hostPort }

// HTTPHostPort is the address of the frontend's HTTP API, "" when it is off.
func (s *Server) HTTPHostPort() string {
	if s.opts.HTTPPort == 0 {
		return ""
	}
	return net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.HTTPPort))
}

// Secret is what clients must present ("" when the server asks nothing).
func (s *Server) Secret() string { return s.opts.Secret }

// Namespace is the namespace registered at start.
func (s *Server) Namespace() string { return s.opts.Namespace }

// Stop shuts the server down; state stays in the SQLite file.
func (s *Server) Stop() error { return s.srv.Stop() }

func service(ip string, port, membership int) config.Service {
	return config.Service{RPC: config.RPC{GRPCPort: port, MembershipPort: membership, BindOnIP: ip}}
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

func waitListening(ctx context.Context, hostPort string, max time.Duration) error {
	deadline := time.Now().Add(max)
	for {
		c, err := net.DialTimeout("tcp", hostPort, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("embedded Temporal did not listen on %s within %s", hostPort, max)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
