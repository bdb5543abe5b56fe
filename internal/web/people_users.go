package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
)

type userView struct {
	store.User
	Memberships []auth.Membership `json:"memberships"`
}

// peopleListUsers: GET /api/v1/users → every user with their roles.
func (s *Server) peopleListUsers(c echo.Context) error {
	ctx := c.Request().Context()
	us, err := s.store.Users(ctx)
	if err != nil {
		return err
	}
	ms, err := s.store.Memberships(ctx)
	if err != nil {
		return err
	}
	byUser := map[int64][]auth.Membership{}
	for _, m := range ms {
		byUser[m.UserID] = append(byUser[m.UserID], auth.Membership{Role: m.Role, Department: m.Department})
	}
	out := make([]userView, 0, len(us))
	for _, u := range us {
		v := userView{User: u, Memberships: byUser[u.ID]}
		if v.Memberships == nil {
			v.Memberships = []auth.Membership{}
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) userView(ctx context.Context, id int64) (userView, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return userView{}, err
	}
	ms, err := s.store.MembershipsOf(ctx, id)
	if err != nil {
		return userView{}, err
	}
	v := userView{User: u, Memberships: []auth.Membership{}}
	for _, m := range ms {
		v.Memberships = append(v.Memberships, auth.Membership{Role: m.Role, Department: m.Department})
	}
	return v, nil
}

// peopleGetUser: GET /api/v1/users/{id}.
func (s *Server) peopleGetUser(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := s.userView(c.Request().Context(), id)
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
	svc := s.Auth()
	for _, m := range r.Memberships {
		if err := svc.ValidateGroup(ctx, m.Role, m.Department); err != nil {
			return peopleErr(c, err)
		}
	}
	u, err := svc.CreateUser(ctx, r.NewUser)
	if err != nil {
		return peopleErr(c, err)
	}
	for _, m := range r.Memberships {
		if err := svc.Grant(ctx, u.ID, m.Role, m.Department); err != nil {
			return peopleErr(c, err)
		}
	}
	s.peopleAudit(c, "user.create", "user", u.Username, "", map[string]any{"memberships": r.Memberships})
	v, err := s.userView(ctx, u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

type updateUserRequest struct {
	DisplayName *string `json:"display_name"`
	Email       *string `json:"email"`
	Disabled    *bool   `json:"disabled"`
	Password    *string `json:"password"`
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
	var r updateUserRequest
	if err := bindJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	svc := s.Auth()
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	changed := map[string]any{}
	if r.DisplayName != nil || r.Email != nil {
		name, email := u.DisplayName, u.Email
		if r.DisplayName != nil {
			if name = strings.TrimSpace(*r.DisplayName); name == "" {
				return Errorf(http.StatusUnprocessableEntity, "display_name cannot be empty")
			}
			changed["display_name"] = name
		}
		if r.Email != nil {
			e := strings.TrimSpace(*r.Email)
			if e == "" {
				email = nil
			} else if !strings.Contains(e, "@") {
				return Errorf(http.StatusUnprocessableEntity, "e-mail %q is not an address", e)
			} else {
				email = &e
			}
			changed["email"] = e
		}
		if err := s.store.UpdateUserProfile(ctx, id, name, email); err != nil {
			return err
		}
	}
	if r.Disabled != nil && *r.Disabled && id == auth.PrincipalFrom(c).UserID {
		return Errorf(http.StatusConflict, "you cannot disable your own account")
	}
	if r.Password != nil {
		if err := svc.SetPassword(ctx, id, *r.Password); err != nil {
			return peopleErr(c, err)
		}
		changed["password"] = "reset: sessions ended, API tokens revoked"
	}
	if r.Disabled != nil {
		if err := svc.SetDisabled(ctx, id, *r.Disabled); err != nil {
			return err
		}
		changed["disabled"] = *r.Disabled
		if *r.Disabled {
			changed["credentials"] = "sessions ended, API tokens revoked"
		}
	}
	s.peopleAudit(c, "user.update", "user", u.Username, "", changed)
	v, err := s.userView(ctx, id)
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
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.Auth().Grant(ctx, id, m.Role, m.Department); err != nil {
		return peopleErr(c, err)
	}
	s.peopleAudit(c, "membership.grant", "user", u.Username, m.Department, map[string]string{"role": m.Role})
	v, err := s.userView(ctx, id)
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
	ctx := c.Request().Context()
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.Auth().Revoke(ctx, id, role, dept); err != nil {
		return err
	}
	s.peopleAudit(c, "membership.revoke", "user", u.Username, dept, map[string]string{"role": role})
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
	d.Slug, d.Name = strings.ToLower(strings.TrimSpace(d.Slug)), strings.TrimSpace(d.Name)
	if !deptSlugRE(d.Slug) {
		return Errorf(http.StatusUnprocessableEntity, "slug %q: use 2 to 40 lower-case letters, digits or dashes", d.Slug)
	}
	if d.Name == "" {
		return Errorf(http.StatusUnprocessableEntity, "name is required")
	}
	ctx := c.Request().Context()
	if err := s.store.CreateDepartment(ctx, d); err != nil {
		return err
	}
	s.peopleAudit(c, "department.create", "department", d.Slug, d.Slug, map[string]string{"name": d.Name})
	d, err := s.store.Department(ctx, d.Slug)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}

func deptSlugRE(s string) bool {
	if len(s) < 2 || len(s) > 40 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// peopleAudit records a successful change made by the caller.
func (s *Server) peopleAudit(c echo.Context, action, objType, objID, dept string, detail any) {
	p := auth.PrincipalFrom(c)
	err := s.Auth().Audit().Record(c.Request().Context(), audit.Entry{
		Actor: p.Name(), Action: action, ObjectType: objType, ObjectID: objID, Department: dept,
		IP: c.RealIP(), Detail: audit.Detail(detail),
	})
	if err != nil {
		s.log.Error("audit: cannot record", "action", action, "err", fmt.Sprint(err))
	}
}
