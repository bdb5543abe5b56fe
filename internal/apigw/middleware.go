package apigw

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/store"
)

// Caller is who calls the public API, as the middleware identified it.
type Caller struct {
	Key     *store.APIKey // nil: anonymous
	Plan    store.APIPlan
	Subject string // the limited subject
	Addr    string // the TCP peer address
}

const callerKey = "apigw.caller"

// CallerFrom returns the caller the middleware put in c (zero outside a
// metered route).
func CallerFrom(c echo.Context) Caller {
	v, _ := c.Get(callerKey).(Caller)
	return v
}

// quotaError is Opendatasoft's quota error body, with the Explore v2.1
// error_code and message.
type quotaError struct {
	ErrorCode     string `json:"error_code"`
	Message       string `json:"message"`
	Errorcode     int    `json:"errorcode"`
	ResetTime     string `json:"reset_time"`
	LimitTimeUnit string `json:"limit_time_unit"`
	CallLimit     int64  `json:"call_limit"`
	Error         string `json:"error"`
}

type plainError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Middleware meters a public route or group: key check, limits, headers,
// usage log. OPTIONS (CORS preflight) passes unmetered.
func (g *Gateway) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Method == http.MethodOptions {
				return next(c)
			}
			start := time.Now()
			caller := Caller{Addr: peerAddr(req)}
			h := c.Response().Header()
			h.Add("Access-Control-Expose-Headers", "RateLimit, RateLimit-Policy, Retry-After")
			err := g.admit(c, &caller)
			if err == nil {
				c.Set(callerKey, caller)
				err = next(c)
			}
			if err != nil {
				c.Error(err)
			}
			g.record(c, caller, start)
			return nil
		}
	}
}

// admit identifies the caller and takes one call from its limits; a
// refusal is answered here (401, 429, 503) and returned as a nil error with
// the response committed.
func (g *Gateway) admit(c echo.Context, caller *Caller) error {
	ctx := c.Request().Context()
	planID := store.PlanAnonymous
	caller.Subject = "addr:" + caller.Addr
	if key, found := KeyFromRequest(c.Request()); found {
		k, err := g.Verify(ctx, key)
		if err != nil {
			if errors.Is(err, ErrInvalidKey) {
				g.calls.WithLabelValues("unauthorized").Inc()
				c.Response().Header().Set("WWW-Authenticate", `Apikey realm="civicflow"`)
				return c.JSON(http.StatusUnauthorized, plainError{"InvalidAPIKeyError", "the API key is unknown, revoked or expired"})
			}
			g.log.Error("public API: key check failed", "err", err)
			return g.unavailable(c)
		}
		caller.Key = &k
		planID = k.PlanID
		if k.ConsumerID != nil {
			caller.Subject = "consumer:" + strconv.FormatInt(*k.ConsumerID, 10)
		} else {
			caller.Subject = "key:" + strconv.FormatInt(k.FamilyID, 10)
		}
	}
	plan, err := g.Plan(ctx, planID)
	if err != nil {
		g.log.Error("public API: plan", "plan", planID, "err", err)
		return g.unavailable(c)
	}
	caller.Plan = plan
	d, err := g.Take(ctx, caller.Subject, plan)
	if err != nil {
		g.log.Error("public API: limiter", "subject", caller.Subject, "err", err)
		return g.unavailable(c)
	}
	h := c.Response().Header()
	if len(d.Policies) > 0 {
		h.Set("RateLimit-Policy", d.PolicyHeader())
		h.Set("RateLimit", d.RateLimitHeader())
	}
	if d.Allowed {
		g.calls.WithLabelValues("allowed").Inc()
		return nil
	}
	g.calls.WithLabelValues("limited").Inc()
	h.Set("Retry-After", strconv.FormatInt(d.RetryAfterSeconds(), 10))
	v, _ := d.Violated()
	unit, limit := v.Unit, v.Quota
	if unit == "" {
		unit = "second"
	}
	reset := d.At.Add(time.Duration(d.RetryAfterSeconds()) * time.Second).UTC().Format(time.RFC3339)
	msg := "Too many requests on the domain. Please contact the domain administrator."
	return c.JSON(http.StatusTooManyRequests, quotaError{ErrorCode: "TooManyRequestsError", Message: msg,
		Errorcode: 10002, ResetTime: reset, LimitTimeUnit: unit, CallLimit: limit, Error: msg})
}

func (g *Gateway) unavailable(c echo.Context) error {
	g.calls.WithLabelValues("unavailable").Inc()
	c.Response().Header().Set("Retry-After", "1")
	return c.JSON(http.StatusServiceUnavailable, plainError{"TemporarilyUnavailableError", "the API cannot check its limits right now; try again"})
}

// record queues the usage row of the call.
func (g *Gateway) record(c echo.Context, caller Caller, start time.Time) {
	req := c.Request()
	u := store.APIUsage{At: start.UTC(), Endpoint: c.Path(), Query: redactQuery(req.URL.RawQuery),
		Status: c.Response().Status, Bytes: c.Response().Size, LatencyUS: time.Since(start).Microseconds()}
	if u.Endpoint == "" {
		u.Endpoint = req.URL.Path
	}
	u.Endpoint, u.Query = clean(u.Endpoint, 500), clean(u.Query, 2000)
	if caller.Key != nil {
		id := caller.Key.ID
		u.KeyID, u.ConsumerID = &id, caller.Key.ConsumerID
	} else {
		u.ClientAddr = caller.Addr
	}
	if id := c.Param("id"); id != "" && len(id) <= 200 {
		u.Dataset = clean(id, 200)
	}
	g.Usage.Record(u)
}

// clean makes s storable in a TEXT column: valid UTF-8, no NUL, at most n
// bytes (cut on a rune boundary).
func clean(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
