// Package service holds civicflow's use cases: one function per thing a
// person does in the product (complete a task, claim it, start a request,
// cancel it, create a dataset, stage a file…). Each function authorizes the
// caller, acts (store, Temporal), records the audit entry and returns a
// domain error. The JSON API and the staff pages (package web) are two faces
// over these functions: they bind input, call one function and render; no
// authorization decision is made in a handler (gitea's services/, miniflux's
// form → validator → store → response).
//
// People and sessions (sign-in, users, memberships, delegations, policies)
// are the auth package's Service; this package uses it to decide.
package service

import (
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
)

// Kind is what went wrong, in terms a face can translate: the JSON API maps
// it to an HTTP status, the pages to a French sentence.
type Kind int

const (
	// Invalid: the input breaks a rule (422).
	Invalid Kind = iota + 1
	// BadRequest: the input cannot be read at all (400).
	BadRequest
	// Forbidden: the caller may not do this (403).
	Forbidden
	// NotFound: no such object, or the caller may not know it exists (404).
	NotFound
	// Conflict: the object's state forbids it now (409).
	Conflict
	// Unavailable: a dependency did not answer; nothing was changed (503).
	Unavailable
	// TooLarge: the input is larger than accepted (413).
	TooLarge
)

// String names k (audit details, logs).
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case BadRequest:
		return "bad_request"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Unavailable:
		return "unavailable"
	case TooLarge:
		return "too_large"
	}
	return "error"
}

// Problem is one of several problems in an input (a form field, a BPMN element…).
type Problem struct {
	Element string `json:"element,omitempty"`
	Field   string `json:"field,omitempty"`
	// Rule and Severity are those of a lint problem (designer.Lint).
	Rule     string `json:"rule,omitempty"`
	Severity string `json:"severity,omitempty"`
	Message  string `json:"message"`
	// Fr is Message in French, for the pages (empty: the page shows Message).
	Fr string `json:"-"`
}

// Error is a domain error with a message safe to show to users. Msg is the
// API's (English) message; Fr, when set, is the pages' French one. Err, if
// any, is logged, never shown.
type Error struct {
	Kind     Kind
	Msg      string
	Fr       string
	Problems []Problem
	Err      error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Msg, e.Err)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of kind k with an English message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// French sets the French message of e and returns it.
func (e *Error) French(format string, args ...any) *Error {
	e.Fr = fmt.Sprintf(format, args...)
	return e
}

// KindOf is err's Kind, or 0 when err is not a domain error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// Caller is who asks, and from where (for the audit log).
type Caller struct {
	Principal auth.Principal
	IP        string
	UserAgent string
	RequestID string
}

// Deps are what the use cases talk to.
type Deps struct {
	Config   config.Config
	Store    *store.Store
	Auth     *auth.Service
	Temporal client.Client
	Logger   *slog.Logger
}

// Service is the set of use cases.
type Service struct {
	cfg      config.Config
	store    *store.Store
	auth     *auth.Service
	temporal client.Client
	log      *slog.Logger
	public   publicCache // PublicDataset's answers (explore_cache.go)
}

// New builds the use cases over their dependencies.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{cfg: d.Config, store: d.Store, auth: d.Auth, temporal: d.Temporal, log: d.Logger}
}
