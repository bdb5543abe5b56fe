package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
)

// peopleListDelegations: GET /api/v1/delegations → the delegations the
// caller gave or received (every delegation for "delegations admin").
func (s *Server) peopleListDelegations(c echo.Context) error {
	ds, err := s.Auth().DelegationsFor(c.Request().Context(), auth.PrincipalFrom(c), c.QueryParam("mine") != "")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ds)
}

// peopleCreateDelegation: POST /api/v1/delegations {"delegate","role",
// "department"?,"valid_from"?,"valid_until","reason"?,"delegator"?} → 201.
func (s *Server) peopleCreateDelegation(c echo.Context) error {
	var r auth.DelegationRequest
	if err := bindJSON(c, &r); err != nil {
		return err
	}
	d, err := s.Auth().CreateDelegation(c.Request().Context(), auth.PrincipalFrom(c), r, c.RealIP())
	if err != nil {
		return peopleErr(c, err)
	}
	return c.JSON(http.StatusCreated, d)
}

// peopleRevokeDelegation: DELETE /api/v1/delegations/{id} → 204 (the
// delegator, the delegate or an administrator).
func (s *Server) peopleRevokeDelegation(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Auth().RevokeDelegation(c.Request().Context(), auth.PrincipalFrom(c), id, c.RealIP()); err != nil {
		return peopleErr(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// peopleListPolicies: GET /api/v1/policies → the permission rules.
func (s *Server) peopleListPolicies(c echo.Context) error {
	rs, err := s.Auth().Rules(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rs)
}

// peopleAddPolicy: POST /api/v1/policies {"role","department","object",
// "action"} → 201 (200 if it existed).
func (s *Server) peopleAddPolicy(c echo.Context) error {
	var r auth.Rule
	if err := bindJSON(c, &r); err != nil {
		return err
	}
	r, added, err := s.Auth().AddRule(c.Request().Context(), auth.PrincipalFrom(c), r, c.RealIP())
	if err != nil {
		return peopleErr(c, err)
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	return c.JSON(status, r)
}

// peopleRemovePolicy: DELETE /api/v1/policies?role=&department=&object=&action= → 204.
func (s *Server) peopleRemovePolicy(c echo.Context) error {
	r := auth.Rule{Role: c.QueryParam("role"), Department: c.QueryParam("department"), Object: c.QueryParam("object"), Action: c.QueryParam("action")}
	if err := s.Auth().RemoveRule(c.Request().Context(), auth.PrincipalFrom(c), r, c.RealIP()); err != nil {
		return peopleErr(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// peopleListAudit: GET /api/v1/audit?actor=&action=&outcome=&before=ID&limit=N
// → entries newest first.
func (s *Server) peopleListAudit(c echo.Context) error {
	f := store.AuditFilter{Actor: c.QueryParam("actor"), Action: c.QueryParam("action"), Outcome: c.QueryParam("outcome")}
	for name, dst := range map[string]*int64{"before": &f.BeforeID} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return Errorf(http.StatusBadRequest, "%s=%q is not a positive number", name, v)
			}
			*dst = n
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			return Errorf(http.StatusBadRequest, "limit=%q is not a number from 1 to 1000", v)
		}
		f.Limit = n
	}
	es, err := s.store.AuditEntries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, es)
}

// peopleVerifyAudit: GET /api/v1/audit/verify → {"intact":true} or
// {"intact":false,"first_bad":ID,"reason":…}.
func (s *Server) peopleVerifyAudit(c echo.Context) error {
	bad, err := audit.Verify(c.Request().Context(), s.store)
	var be *audit.BrokenError
	if errors.As(err, &be) {
		return c.JSON(http.StatusOK, map[string]any{"intact": false, "first_bad": bad.ID, "reason": be.Reason})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"intact": true})
}
