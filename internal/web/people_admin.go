package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
)

// peopleListDelegations: GET /api/v1/delegations → the delegations the
// caller gave or received (every delegation for "delegations admin").
func (s *Server) peopleListDelegations(c echo.Context) error {
	ctx := c.Request().Context()
	p := auth.PrincipalFrom(c)
	uid := p.UserID
	if s.Auth().Allowed(ctx, p, auth.AllDepartments, "delegations", "admin") && c.QueryParam("mine") == "" {
		uid = 0
	}
	ds, err := s.store.DelegationsInvolving(ctx, uid)
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

// policyRule is a permission rule as the API shows it.
type policyRule struct {
	Role       string `json:"role"`
	Department string `json:"department"`
	Object     string `json:"object"`
	Action     string `json:"action"`
}

func (r policyRule) casbin() store.CasbinRule {
	return store.NewCasbinRule("p", []string{r.Role, r.Department, r.Object, r.Action})
}

// peopleListPolicies: GET /api/v1/policies → the permission rules.
func (s *Server) peopleListPolicies(c echo.Context) error {
	rs, err := s.store.CasbinRules(c.Request().Context())
	if err != nil {
		return err
	}
	out := []policyRule{}
	for _, r := range rs {
		if r.PType == "p" {
			out = append(out, policyRule{r.V0, r.V1, r.V2, r.V3})
		}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) bindRule(c echo.Context, fromQuery bool) (policyRule, error) {
	var r policyRule
	if fromQuery {
		r = policyRule{c.QueryParam("role"), c.QueryParam("department"), c.QueryParam("object"), c.QueryParam("action")}
	} else if err := bindJSON(c, &r); err != nil {
		return r, err
	}
	r.Role, r.Department, r.Object, r.Action = strings.TrimSpace(r.Role), strings.TrimSpace(r.Department), strings.TrimSpace(r.Object), strings.TrimSpace(r.Action)
	if r.Department == "" {
		r.Department = auth.AllDepartments
	}
	if err := s.Auth().ValidateGroup(c.Request().Context(), r.Role, r.Department); err != nil {
		return r, peopleErr(c, err)
	}
	for name, v := range map[string]string{"object": r.Object, "action": r.Action} {
		if !ruleWordRE(v) {
			return r, Errorf(http.StatusUnprocessableEntity, "%s %q: use 1 to 40 lower-case letters, digits, dashes or underscores", name, v)
		}
	}
	return r, nil
}

func ruleWordRE(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// peopleAddPolicy: POST /api/v1/policies {"role","department","object",
// "action"} → 201 (200 if it existed).
func (s *Server) peopleAddPolicy(c echo.Context) error {
	r, err := s.bindRule(c, false)
	if err != nil {
		return err
	}
	n, err := s.store.AddCasbinRules(c.Request().Context(), []store.CasbinRule{r.casbin()})
	if err != nil {
		return err
	}
	s.Auth().Changed()
	status := http.StatusOK
	if n > 0 {
		status = http.StatusCreated
		s.peopleAudit(c, "policy.add", "policy", strings.Join([]string{r.Role, r.Department, r.Object, r.Action}, ","), r.Department, r)
	}
	return c.JSON(status, r)
}

// peopleRemovePolicy: DELETE /api/v1/policies?role=&department=&object=&action= → 204.
func (s *Server) peopleRemovePolicy(c echo.Context) error {
	r, err := s.bindRule(c, true)
	if err != nil {
		return err
	}
	if err := s.store.RemoveCasbinRule(c.Request().Context(), r.casbin()); err != nil {
		return err
	}
	s.Auth().Changed()
	s.peopleAudit(c, "policy.remove", "policy", strings.Join([]string{r.Role, r.Department, r.Object, r.Action}, ","), r.Department, r)
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
