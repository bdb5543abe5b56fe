package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
)

// peopleListUsers: GET /api/v1/users → every user with their roles.
func (s *Server) peopleListUsers(c echo.Context) error {
	out, err := s.Auth().UsersWithRoles(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// peopleGetUser: GET /api/v1/users/{id}.
func (s *Server) peopleGetUser(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := s.Auth().UserWithRolesByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

type createUserRequest struct {
	auth.NewUser
	Memberships []auth.Membership `json:"memberships"`
}

// peopleCreateUser: POST /api/v1/users {"username","display_name","email",
// "password"?,"memberships"?} → 201 with the user. Without a password the
// account signs in through OIDC only.
func (s *Server) peopleCreateUser(c echo.Context) error {
	var r createUserRequest
	if err := bindJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.Auth().CreateUserWithRoles(ctx, auth.PrincipalFrom(c), r.NewUser, r.Memberships, c.RealIP())
	if err != nil {
		return peopleErr(c, err)
	}
	v, err := s.Auth().UserWithRolesByID(ctx, u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

// peopleUpdateUser: PATCH /api/v1/users/{id} with any of "display_name",
// "email" ("" removes it), "disabled", "password" (a reset: it must follow
// the password policy, and ends the user's sessions and revokes their API
// tokens, as disabling does).
func (s *Server) peopleUpdateUser(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var r auth.UserChange
	if err := bindJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.Auth().UpdateUser(ctx, auth.PrincipalFrom(c), id, r, c.RealIP()); err != nil {
		return peopleErr(c, err)
	}
	v, err := s.Auth().UserWithRolesByID(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// peopleGrant: POST /api/v1/users/{id}/memberships {"role","department"}
// ("*" = every department) → 200 with the user.
func (s *Server) peopleGrant(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var m auth.Membership
	if err := bindJSON(c, &m); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.Auth().GrantRole(ctx, auth.PrincipalFrom(c), id, m.Role, m.Department, c.RealIP()); err != nil {
		return peopleErr(c, err)
	}
	v, err := s.Auth().UserWithRolesByID(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// peopleRevoke: DELETE /api/v1/users/{id}/memberships/{role}/{dept} → 204
// ({dept} may be "*").
func (s *Server) peopleRevoke(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	role, _ := url.PathUnescape(c.Param("role"))
	dept, _ := url.PathUnescape(c.Param("dept"))
	if err := s.Auth().RevokeRole(c.Request().Context(), auth.PrincipalFrom(c), id, role, dept, c.RealIP()); err != nil {
		return peopleErr(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// peopleListDepartments: GET /api/v1/departments.
func (s *Server) peopleListDepartments(c echo.Context) error {
	ds, err := s.store.Departments(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ds)
}

// peopleCreateDepartment: POST /api/v1/departments {"slug","name"} → 201.
func (s *Server) peopleCreateDepartment(c echo.Context) error {
	var d store.Department
	if err := bindJSON(c, &d); err != nil {
		return err
	}
	d, err := s.Auth().CreateDepartment(c.Request().Context(), auth.PrincipalFrom(c), d.Slug, d.Name, c.RealIP())
	if err != nil {
		return peopleErr(c, err)
	}
	return c.JSON(http.StatusCreated, d)
}
