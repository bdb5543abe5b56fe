package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type     string         `json:"type,omitempty"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Problems []FieldProblem `json:"problems,omitempty"`
	Extra    map[string]any `json:"-"`
}

// FieldProblem is one of several problems in a request (a BPMN element, a form field…).
type FieldProblem struct {
	Element string `json:"element,omitempty"`
	Field   string `json:"field,omitempty"`
	// Rule and Severity are those of a lint problem (designer.Lint).
	Rule     string `json:"rule,omitempty"`
	Severity string `json:"severity,omitempty"`
	Message  string `json:"message"`
}

// Error is an error with a message safe to show to users and an HTTP status;
// Err, if any, is logged but never sent (tailscale's HTTPError).
type Error struct {
	Status   int
	Msg      string
	Problems []FieldProblem
	Err      error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a user-facing message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Sentinel kinds mapped to statuses in one table (pkgsite derrors).
var (
	ErrBadRequest   = errors.New("bad request")
	ErrUnauthorized = errors.New("authentication required")
	ErrForbidden    = errors.New("forbidden")
	ErrInvalid      = errors.New("invalid")
)

var statusOf = []struct {
	err    error
	status int
}{
	{store.ErrNotFound, http.StatusNotFound},
	{store.ErrConflict, http.StatusConflict},
	{store.ErrTooManyColumns, http.StatusUnprocessableEntity},
	{store.ErrUnusableSchema, http.StatusUnprocessableEntity},
	{ErrBadRequest, http.StatusBadRequest},
	{ErrUnauthorized, http.StatusUnauthorized},
	{ErrForbidden, http.StatusForbidden},
	{ErrInvalid, http.StatusUnprocessableEntity},
	{context.DeadlineExceeded, http.StatusGatewayTimeout},
}

// statusOfKind maps the use cases' error kinds to statuses.
var statusOfKind = map[service.Kind]int{
	service.Invalid:     http.StatusUnprocessableEntity,
	service.BadRequest:  http.StatusBadRequest,
	service.Forbidden:   http.StatusForbidden,
	service.NotFound:    http.StatusNotFound,
	service.Conflict:    http.StatusConflict,
	service.Unavailable: http.StatusServiceUnavailable,
	service.TooLarge:    http.StatusRequestEntityTooLarge,
}

// StatusOfKind is the HTTP status of a use case's error kind.
func StatusOfKind(k service.Kind) int {
	if st, ok := statusOfKind[k]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// Temporal application error types raised by update validators → statuses.
var statusOfAppErr = map[string]int{
	workflows.ErrTaskNotFound:     http.StatusNotFound,
	workflows.ErrTaskClosed:       http.StatusConflict,
	workflows.ErrClaimed:          http.StatusConflict,
	workflows.ErrForbidden:        http.StatusForbidden,
	workflows.ErrFourEyes:         http.StatusForbidden,
	workflows.ErrInvalidData:      http.StatusUnprocessableEntity,
	workflows.ErrIncidentNotFound: http.StatusConflict, // resolve on an instance without an incident
	"BadRequest":                  http.StatusBadRequest,
}

// toProblem maps any error to a problem document; the bool says whether it
// is a server fault worth logging as an error.
func toProblem(err error) (Problem, bool) {
	var pe *PageError
	if errors.As(err, &pe) {
		return Problem{Title: http.StatusText(pe.Status), Status: pe.Status, Detail: pe.Msg}, pe.Status >= 500
	}
	var e *Error
	if errors.As(err, &e) {
		return Problem{Title: http.StatusText(e.Status), Status: e.Status, Detail: e.Msg, Problems: e.Problems}, e.Status >= 500
	}
	var se *service.Error
	if errors.As(err, &se) {
		st := StatusOfKind(se.Kind)
		p := Problem{Title: http.StatusText(st), Status: st, Detail: se.Msg}
		for _, fp := range se.Problems {
			p.Problems = append(p.Problems, FieldProblem{Element: fp.Element, Field: fp.Field, Rule: fp.Rule, Severity: fp.Severity, Message: fp.Message})
		}
		return p, st >= 500
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := fmt.Sprint(he.Message)
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = "the request body is larger than the server accepts"
		}
		return Problem{Title: http.StatusText(he.Code), Status: he.Code, Detail: msg}, he.Code >= 500
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if st, ok := statusOfAppErr[appErr.Type()]; ok {
			return Problem{Title: http.StatusText(st), Status: st, Detail: appErr.Message()}, false
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return Problem{Title: "Not Found", Status: 404, Detail: "no such instance"}, false
	}
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return Problem{Title: "Conflict", Status: 409, Detail: "an instance with this id already runs"}, false
	}
	if st := auth.HTTPStatus(err); st != 0 { // errors of the auth service that no handler converted
		return Problem{Title: http.StatusText(st), Status: st, Detail: err.Error()}, false
	}
	for _, m := range statusOf {
		if errors.Is(err, m.err) {
			return Problem{Title: http.StatusText(m.status), Status: m.status, Detail: err.Error()}, false
		}
	}
	return Problem{Title: "Internal Server Error", Status: 500, Detail: "an internal error occurred; it has been logged"}, true
}

// errorHandler is Echo's one error handler: problem+json for the API, a
// readable page for browsers.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p, serverFault := toProblem(err)
	p.Instance = c.Request().URL.Path
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	if serverFault {
		s.log.Error("request failed", "err", err, "method", c.Request().Method, "path", c.Request().URL.Path, "request_id", rid)
	} else {
		s.log.Debug("request refused", "err", err, "status", p.Status, "path", c.Request().URL.Path)
	}
	if p.Status == http.StatusTooManyRequests || p.Status == http.StatusServiceUnavailable {
		if c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "60")
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	if wantsHTML(c) && s.renderErrorPage != nil {
		if rerr := s.renderErrorPage(c, p, err); rerr == nil {
			return
		}
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_ = jsonEncode(c.Response(), p)
}
