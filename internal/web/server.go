// Package web is civicflow's HTTP layer on Echo: the internal JSON API under
// /api/v1, the staff pages, the public catalog and API, health and metrics.
// Handlers are thin: bind, call one use case of package service (which
// authorizes, acts, audits: tasks, requests, datasets; flows, forms and
// schedules still call the store), render JSON or a page. Errors are returned and
// mapped to statuses in one place (errors.go): problem+json for the API, a
// French page for browsers.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"

	"github.com/civicflow/civicflow/internal/apigw"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/web/ui"
)

// Deps are what the HTTP layer talks to.
type Deps struct {
	Config   config.Config
	Store    *store.Store
	Temporal client.Client
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// TemporalHealth checks that Temporal answers (defaults to the client's health check).
	TemporalHealth func(ctx context.Context) error
	// Gateway tunes the public API's gateway (tests: cache TTLs, flush interval).
	Gateway apigw.Options
	// TuneAuth, if set, adjusts the options of the authentication service
	// before it starts (tests: clock, sleep, limits).
	TuneAuth func(*auth.Options)
}

// Server is the Echo application and its dependencies.
type Server struct {
	e        *echo.Echo
	cfg      config.Config
	store    *store.Store
	temporal client.Client
	log      *slog.Logger
	reg      *prometheus.Registry
	tHealth  func(ctx context.Context) error
	tuneAuth func(*auth.Options)
	authSvc  *auth.Service
	authErr  error
	// svc holds the use cases both faces (API, pages) call.
	svc *service.Service
	// gw meters the public API (internal/apigw).
	gw *apigw.Gateway

	// renderErrorPage renders errors for browsers (pages.go).
	renderErrorPage func(c echo.Context, p Problem, err error) error

	ui       *ui.Renderer // the staff pages (pages.go)
	pageOnce sync.Once
	pageSet  map[string]bool // GET routes, for the navigation
}

// New builds the server and its routes.
func New(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: d.Config, store: d.Store, temporal: d.Temporal, log: d.Logger, reg: d.Registry, tHealth: d.TemporalHealth, tuneAuth: d.TuneAuth}
	if s.tHealth == nil && d.Temporal != nil {
		s.tHealth = func(ctx context.Context) error {
			_, err := d.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}
	}
	r, err := ui.New()
	if err != nil {
		return nil, err
	}
	s.ui = r
	s.renderErrorPage = s.renderErrorPageHTML
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.errorHandler
	e.Logger.SetOutput(io.Discard)
	s.e = e

	m := newHTTPMetrics(s.reg)
	e.Pre(middleware.RemoveTrailingSlashWithConfig(middleware.TrailingSlashConfig{Skipper: func(c echo.Context) bool { return c.Request().URL.Path == "/" }}))
	e.Use(middleware.RequestID())
	e.Use(s.recoverer())
	e.Use(s.accessLog(m))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0",
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "SAMEORIGIN",
		ReferrerPolicy:        "strict-origin-when-cross-origin",
		HSTSMaxAge:            hstsAge(s.cfg),
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; font-src 'self' data:; object-src 'none'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'",
	}))
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{Level: 5, MinLength: 1024, Skipper: func(c echo.Context) bool {
		// Static files come compressed once and for all (ui.Renderer.Static).
		p := c.Request().URL.Path
		return p == "/metrics" || strings.HasPrefix(p, ui.StaticPrefix)
	}}))
	e.Use(bodyLimit(s.cfg.MaxUploadBytes))

	s.authSvc, s.authErr = s.newAuth()
	s.svc = service.New(service.Deps{Config: s.cfg, Store: s.store, Auth: s.authSvc, Temporal: s.temporal, Logger: s.log})
	if s.store != nil && !d.Gateway.Off {
		s.gw = apigw.New(s.store, s.reg, s.log, d.Gateway)
	}

	// Order after routing: Authenticate, CSRF, Authorize (installed with
	// the people routes), then the body type check.
	s.routes()
	e.Use(requireBodyType())
	return s, nil
}

func hstsAge(c config.Config) int {
	if c.SecureCookies() {
		return 31536000
	}
	return 0
}

// Gateway is the public API's gateway (nil without a store).
func (s *Server) Gateway() *apigw.Gateway { return s.gw }

// CloseGateway writes the usage log still in memory (graceful shutdown;
// idempotent).
func (s *Server) CloseGateway(ctx context.Context) error {
	if s.gw == nil {
		return nil
	}
	return s.gw.Close(ctx)
}

// Handler exposes the server as an http.Handler (tests).
func (s *Server) Handler() http.Handler { return s.e }

// Echo exposes the router (route listing in tests).
func (s *Server) Echo() *echo.Echo { return s.e }

// Serve listens on addr until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if gerr := s.CloseGateway(shutdownCtx); gerr != nil {
		s.log.Error("public API usage log", "err", gerr)
	}
	if svc := s.Auth(); svc != nil {
		svc.FlushAudit(shutdownCtx) // the refusals counted in open bursts
	}
	if err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

func (s *Server) health(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := s.store.Ping(ctx); err != nil {
		checks["database"] = err.Error()
		ok = false
	} else {
		checks["database"] = "ok"
	}
	if s.tHealth == nil {
		checks["temporal"] = "not configured"
		ok = false
	} else if err := s.tHealth(ctx); err != nil {
		checks["temporal"] = "unreachable: " + err.Error()
		ok = false
	} else {
		checks["temporal"] = "ok"
	}
	status := http.StatusOK
	state := "ok"
	if !ok {
		status = http.StatusServiceUnavailable
		state = "unavailable"
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, map[string]any{"status": state, "checks": checks})
}

func (s *Server) metrics() echo.HandlerFunc {
	h := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return echo.WrapHandler(h)
}

// recoverer turns panics into logged 500s instead of dropped connections.
func (s *Server) recoverer() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}

func (s *Server) accessLog(m *httpMetrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			m.observe(c.Request().Method, route, status, d)
			if route == "/healthz" || route == "/metrics" {
				return nil
			}
			s.log.Info("http",
				"method", c.Request().Method,
				"path", c.Request().URL.Path,
				"status", status,
				"dur_ms", d.Milliseconds(),
				"bytes", c.Response().Size,
				"ip", c.RealIP(),
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			return nil
		}
	}
}

// bodyLimit caps request bodies; larger ones get 413 as problem+json.
func bodyLimit(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > max {
				return Errorf(http.StatusRequestEntityTooLarge, "the request body (%d bytes) is larger than the %d bytes accepted", r.ContentLength, max)
			}
			if r.Body != nil {
				r.Body = http.MaxBytesReader(c.Response(), r.Body, max)
			}
			return next(c)
		}
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicflow_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "civicflow_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, fmt.Sprint(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

func wantsHTML(c echo.Context) bool {
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		return false
	}
	return strings.Contains(c.Request().Header.Get("Accept"), "text/html")
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	return enc.Encode(v)
}

// bindJSON decodes a JSON body strictly: unknown fields and trailing data are
// 400s with a readable reason.
func bindJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); (err != nil || mt != mimeJSON) && (ct != "" || c.Request().ContentLength != 0) {
		return Errorf(http.StatusUnsupportedMediaType, "send JSON (Content-Type: application/json), not %q", ct)
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "the request body is larger than %d bytes", mbe.Limit)
		}
		if errors.Is(err, io.EOF) {
			return Errorf(http.StatusBadRequest, "the request body is empty; JSON expected")
		}
		return Errorf(http.StatusBadRequest, "invalid JSON: %s", err.Error())
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "invalid JSON: trailing data after the object")
	}
	return nil
}
