package temporalserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/temporalio/ui-server/v2/server/api"
	"github.com/temporalio/ui-server/v2/server/auth"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/cors"
	"github.com/temporalio/ui-server/v2/server/csrf"
	"github.com/temporalio/ui-server/v2/server/headers"
	"github.com/temporalio/ui-server/v2/server/route"
	"github.com/temporalio/ui-server/v2/ui"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// UI serves the Temporal Web UI (github.com/temporalio/ui-server) on its own
// address.
//
// uiserver.Server is not used as is: its Start ends in
// echo's Logger.Fatal(err) for any error other than http.ErrServerClosed
// (a port taken between our check and its Listen, for one), and gommon's
// Fatal calls os.Exit(1), which would end civicflow. Its *echo.Echo is
// unexported, so StartUI assembles the same echo application from the
// exported route/api/cors/csrf packages (as uiserver.NewServer does in
// v2.53.1) and serves it on a listener and net/http server of its own:
// a busy port is an error returned here, and Stop is a plain Shutdown.
type UI struct {
	srv  *http.Server
	ln   net.Listener
	conn *grpc.ClientConn
	done chan error
	log  *slog.Logger

	once    sync.Once
	stopErr error
}

// StartUI serves the Web UI for the Temporal frontend at temporalHostPort on
// addr (HOST:PORT; port 0 picks a free one, see Addr). namespace is the
// one the UI opens by default; secret is the frontend's (Options.Secret,
// "" if it asks none). It returns once the address is listened on.
//
// The UI is read-only: its write actions (terminate, signal, update,
// reset, start…) would act on civicflow's instances behind its back —
// without its permission checks and without an audit entry. Anyone who
// reaches addr can read every workflow's history: keep it on loopback.
func StartUI(ctx context.Context, addr, temporalHostPort, namespace, secret string, log *slog.Logger) (*UI, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--temporal-ui %q is not HOST:PORT (e.g. 127.0.0.1:8233): %v", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("--temporal-ui %q is not HOST:PORT (e.g. 127.0.0.1:8233): bad port %q", addr, portStr)
	}
	if temporalHostPort == "" {
		return nil, errors.New("Temporal Web UI: the Temporal frontend address is empty")
	}

	// Listen first: a busy port is an error for the caller, never an exit.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("Temporal Web UI cannot listen on %s: the port is already in use (choose another with --temporal-ui)", addr)
		}
		return nil, fmt.Errorf("Temporal Web UI cannot listen on %s: %v", addr, err)
	}
	port = ln.Addr().(*net.TCPAddr).Port

	cfg := &uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: temporalHostPort,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		DisableNewsFetch:    true,
		HideLogs:            true,
		// Plain HTTP on a local address: the CSRF cookie must not be Secure.
		CORS:                uiconfig.CORS{CookieInsecure: true},
		DisableWriteActions: true,
	}
	if err := cfg.Validate(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("Temporal Web UI configuration: %w", err)
	}
	// RefreshInterval is 0: no refresh goroutine is started.
	cfgProvider, err := uiconfig.NewConfigProviderWithRefresh(cfg)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("Temporal Web UI configuration: %w", err)
	}
	// As api.CreateGRPCConnection (plain gRPC, 64 MiB messages), plus the
	// secret on every call.
	conn, err := grpc.NewClient("passthrough:///"+temporalHostPort, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
	}, secretOptions(secret)...)...)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("Temporal Web UI: connection to Temporal at %s: %w", temporalHostPort, err)
	}
	e, err := newUIEcho(cfgProvider, conn, log)
	if err != nil {
		conn.Close()
		ln.Close()
		return nil, fmt.Errorf("Temporal Web UI: %w", err)
	}

	u := &UI{
		srv: &http.Server{
			Handler:           e,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.With("component", "temporal-ui").Handler(), slog.LevelWarn),
		},
		ln:   ln,
		conn: conn,
		done: make(chan error, 1),
		log:  log,
	}
	go func() {
		err := u.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		u.done <- err
	}()
	return u, nil
}

// newUIEcho mirrors uiserver.NewServer of ui-server v2.53.1 (auth/OIDC,
// TLS and public path left out: civicflow uses none of them), with a gRPC
// connection we own so that Stop can close it.
func newUIEcho(cfgProvider *uiconfig.ConfigProviderWithRefresh, conn *grpc.ClientConn, log *slog.Logger) (*echo.Echo, error) {
	cfg, err := cfgProvider.GetConfig()
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// Only used by middleware (Recover) for messages; never Fatal'd since
	// echo's Start is not called.
	e.Logger.SetOutput(slogWriter{log.With("component", "temporal-ui")})

	e.Use(middleware.Recover())
	e.Use(middleware.Gzip())
	e.Use(cors.CORSMiddleware(cors.CORSConfig{
		AllowHeaders: []string{
			echo.HeaderOrigin, echo.HeaderContentType, echo.HeaderAccept,
			echo.HeaderXCSRFToken, echo.HeaderAuthorization, auth.AuthorizationExtrasHeader,
			"Caller-Type",
		},
		AllowCredentials: true,
		ConfigProvider:   cfgProvider,
	}))
	e.Use(middleware.Secure())
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		CookiePath:     "/",
		CookieHTTPOnly: false,
		CookieSameSite: http.SameSiteStrictMode,
		CookieSecure:   !cfg.CORS.CookieInsecure,
		Skipper:        csrf.SkipOnAuthorizationHeader,
	}))

	route.SetHealthRoute(e)

	// As route.SetAPIRoutes, but with our connection.
	apiMiddleware := []api.Middleware{headers.WithForwardHeaders([]string{auth.AuthorizationExtrasHeader, "Caller-Type"})}
	g := e.Group("/api/v1")
	g.GET("/settings", api.GetSettings(cfgProvider))
	writeControl := route.DisableWriteMiddleware(cfgProvider)
	g.GET(api.WorkflowRawHistoryUrl, api.WorkflowRawHistoryHandler(workflowservice.NewWorkflowServiceClient(conn)), writeControl)
	g.Match([]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, "/*",
		api.TemporalAPIHandler(cfgProvider, apiMiddleware, conn), writeControl)

	assets, err := ui.Assets()
	if err != nil {
		return nil, fmt.Errorf("embedded UI assets: %w", err)
	}
	if assets, err = fs.Sub(assets, "local"); err != nil {
		return nil, fmt.Errorf("embedded UI assets: %w", err)
	}
	if err := route.SetUIRoutes(e, cfg.PublicPath, assets); err != nil {
		return nil, fmt.Errorf("embedded UI assets: %w", err)
	}
	route.SetRenderRoute(e, cfg.PublicPath)
	return e, nil
}

// Addr is the address the UI listens on (useful with port 0).
func (u *UI) Addr() string { return u.ln.Addr().String() }

// URL is the UI's address as an http:// URL.
func (u *UI) URL() string { return "http://" + u.Addr() }

// Stop shuts the UI down (in-flight requests get 5 s), releases its port
// and closes its Temporal connection. It is safe to call more than once.
func (u *UI) Stop() error {
	u.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		if err := u.srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			_ = u.srv.Close()
		}
		if err := <-u.done; err != nil {
			errs = append(errs, err)
		}
		if err := u.conn.Close(); err != nil {
			errs = append(errs, err)
		}
		u.stopErr = errors.Join(errs...)
	})
	return u.stopErr
}

// slogWriter turns echo's log lines into slog warnings.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}

// secretOptions are the dial options presenting secret, if any.
func secretOptions(secret string) []grpc.DialOption {
	if secret == "" {
		return nil
	}
	return SecretInterceptors(secret)
}
