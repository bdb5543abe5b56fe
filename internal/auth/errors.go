package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Errors of authentication. Their messages are safe to show.
var (
	// ErrBadCredentials: wrong password or unknown user (the same answer, in
	// the same time, for both).
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrUnauthenticated: no credentials where they are needed.
	ErrUnauthenticated = errors.New("sign in first: this needs a session cookie or an Authorization: Bearer token")
	ErrSessionExpired  = errors.New("your session has expired: sign in again")
	ErrSessionInvalid  = errors.New("the session is not valid (signed out, or the cookie or token was altered): sign in again")
	ErrTokenRevoked    = errors.New("this API token has been revoked")
	ErrTokenExpired    = errors.New("this API token has expired")
	ErrTokenInvalid    = errors.New("unknown API token")
	ErrDisabled        = errors.New("this account is disabled: ask an administrator")
	ErrForbidden       = errors.New("you are not allowed to do this")
	ErrCSRF            = errors.New("missing or invalid CSRF token: reload the page and try again")
	// ErrInvalid wraps validation problems (bad username, short password…).
	ErrInvalid = errors.New("invalid")
)

// RateLimitedError: too many failed sign-ins from this address (or too
// many at once).
type RateLimitedError struct {
	RetryAfter time.Duration
	Limit      int           // attempts allowed per window (0 = unknown)
	Window     time.Duration // the window
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed login attempts from your address: try again in %d seconds", int(e.RetryAfter.Seconds()+0.999))
}

// LocalizedError is an error of this package with a message in French for
// the pages besides the English one of the API. It wraps its kind
// (ErrInvalid, ErrForbidden, ErrConflict…).
type LocalizedError struct {
	kind    error
	msg, fr string
}

func (e *LocalizedError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *LocalizedError) Unwrap() error { return e.kind }

// FR is the message in French.
func (e *LocalizedError) FR() string { return e.fr }

// ErrConflict: the change contradicts the current state (disabling one's
// own account…).
var ErrConflict = errors.New("conflict")

func invalidFR(fr, format string, args ...any) error {
	return &LocalizedError{kind: ErrInvalid, msg: fmt.Sprintf(format, args...), fr: fr}
}

func forbiddenFR(fr, msg string) error { return &LocalizedError{kind: ErrForbidden, msg: msg, fr: fr} }

func conflictFR(fr, msg string) error { return &LocalizedError{kind: ErrConflict, msg: msg, fr: fr} }

// MessageFR is the French message of an error of this package, for the
// pages ("" when it has none: the page then says something general).
func MessageFR(err error) string {
	var l interface{ FR() string }
	if errors.As(err, &l) {
		return l.FR()
	}
	var re *RateLimitedError
	switch {
	case errors.As(err, &re):
		return fmt.Sprintf("trop de tentatives de connexion échouées depuis votre adresse : réessayez dans %d secondes", int(re.RetryAfter.Seconds()+0.999))
	case errors.Is(err, ErrBadCredentials):
		return "identifiant ou mot de passe incorrect"
	case errors.Is(err, ErrDisabled):
		return "ce compte est désactivé : adressez-vous à un administrateur"
	case errors.Is(err, ErrCSRF):
		return "le jeton de sécurité du formulaire manque ou a expiré : rechargez la page et recommencez"
	case errors.Is(err, ErrForbidden):
		return "vous n'avez pas le droit de faire cela"
	}
	return ""
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// HTTPStatus maps the errors of this package to HTTP statuses (0 if err
// is not one of them).
func HTTPStatus(err error) int {
	var re *RateLimitedError
	switch {
	case errors.As(err, &re):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrSessionExpired),
		errors.Is(err, ErrSessionInvalid), errors.Is(err, ErrTokenRevoked), errors.Is(err, ErrTokenExpired), errors.Is(err, ErrTokenInvalid):
		return http.StatusUnauthorized
	case errors.Is(err, ErrDisabled), errors.Is(err, ErrForbidden), errors.Is(err, ErrCSRF):
		return http.StatusForbidden
	case errors.Is(err, ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	}
	return 0
}

// ToHTTPError turns an error of this package into an *echo.HTTPError
// (setting Retry-After for 429); other errors are returned as is.
func ToHTTPError(c echo.Context, err error) error {
	st := SetErrorHeaders(c, err)
	if st == 0 {
		return err
	}
	return echo.NewHTTPError(st, err.Error()).SetInternal(err)
}

// SetErrorHeaders sets the response headers that go with an error of this
// package (Retry-After and RateLimit-* for 429, WWW-Authenticate for 401) and
// returns its status (0 if it is not one of this package's errors).
func SetErrorHeaders(c echo.Context, err error) int {
	st := HTTPStatus(err)
	if st == 0 {
		return 0
	}
	var re *RateLimitedError
	if errors.As(err, &re) {
		reset := strconv.Itoa(int(re.RetryAfter.Seconds() + 0.999))
		h := c.Response().Header()
		h.Set("Retry-After", reset)
		if re.Limit > 0 {
			// IETF draft-ietf-httpapi-ratelimit-headers fields.
			h.Set("RateLimit-Limit", strconv.Itoa(re.Limit))
			h.Set("RateLimit-Remaining", "0")
			h.Set("RateLimit-Reset", reset)
			h.Set("RateLimit-Policy", strconv.Itoa(re.Limit)+";w="+strconv.Itoa(int(re.Window.Seconds())))
		}
	}
	if st == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="civicflow"`)
	}
	return st
}
