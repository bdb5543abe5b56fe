package service

import (
	"context"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/workflows"
)

// allowedIn reports whether the caller may do act on obj in department
// dept (the department-level decision; the route-level one is the route
// table's middleware). Without an auth service, nothing is allowed.
func (s *Service) allowedIn(ctx context.Context, c Caller, obj, act, dept string) bool {
	if s.auth == nil {
		return false
	}
	return s.auth.Allowed(ctx, c.Principal, dept, obj, act)
}

// audit records e for the caller (actor, IP); a failure is logged, the
// action stands.
func (s *Service) audit(ctx context.Context, c Caller, e audit.Entry) {
	if s.auth == nil || s.auth.Audit() == nil {
		return
	}
	if e.Actor == "" {
		e.Actor = c.Principal.Name()
	}
	if e.Outcome == "" {
		e.Outcome = audit.OK
	}
	e.IP = c.IP
	if err := s.auth.Audit().Record(ctx, e); err != nil {
		s.log.Error("audit record failed", "err", err, "action", e.Action, "request_id", c.RequestID)
	}
}

// actorOf turns the caller into the workflow's Actor.
func actorOf(p auth.Principal, onBehalfOf string) workflows.Actor {
	return workflows.Actor{ID: p.UserID, Username: p.Username, OnBehalfOf: onBehalfOf, Groups: p.Groups()}
}
