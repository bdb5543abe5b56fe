package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/store"
)

// The administration use cases: accounts, roles, departments and
// permission rules. Each validates, acts, audits and returns errors of this
// package, so that the JSON API and the pages call the same function (the
// route table has already checked the caller's permission).

func (s *Service) recordChange(ctx context.Context, caller Principal, ip, action, objType, objID, dept string, detail any) {
	s.record(ctx, audit.Entry{Actor: caller.Name(), Action: action, ObjectType: objType, ObjectID: objID, Department: dept, IP: ip, Detail: audit.Detail(detail)})
}

// UserWithRoles is an account and its memberships.
type UserWithRoles struct {
	store.User
	Memberships []Membership `json:"memberships"`
}

// UsersWithRoles lists every account with its roles.
func (s *Service) UsersWithRoles(ctx context.Context) ([]UserWithRoles, error) {
	us, err := s.st.Users(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := s.st.Memberships(ctx)
	if err != nil {
		return nil, err
	}
	byUser := map[int64][]Membership{}
	for _, m := range ms {
		byUser[m.UserID] = append(byUser[m.UserID], Membership{Role: m.Role, Department: m.Department})
	}
	out := make([]UserWithRoles, 0, len(us))
	for _, u := range us {
		v := UserWithRoles{User: u, Memberships: byUser[u.ID]}
		if v.Memberships == nil {
			v.Memberships = []Membership{}
		}
		out = append(out, v)
	}
	return out, nil
}

// UserWithRolesByID is one account with its roles.
func (s *Service) UserWithRolesByID(ctx context.Context, id int64) (UserWithRoles, error) {
	u, err := s.st.UserByID(ctx, id)
	if err != nil {
		return UserWithRoles{}, err
	}
	ms, err := s.st.MembershipsOf(ctx, id)
	if err != nil {
		return UserWithRoles{}, err
	}
	v := UserWithRoles{User: u, Memberships: []Membership{}}
	for _, m := range ms {
		v.Memberships = append(v.Memberships, Membership{Role: m.Role, Department: m.Department})
	}
	return v, nil
}

// CreateUserWithRoles creates an account with its roles (checked first)
// and audits it.
func (s *Service) CreateUserWithRoles(ctx context.Context, caller Principal, nu NewUser, roles []Membership, ip string) (store.User, error) {
	for _, m := range roles {
		if err := s.ValidateGroup(ctx, m.Role, m.Department); err != nil {
			return store.User{}, err
		}
	}
	u, err := s.CreateUser(ctx, nu)
	if err != nil {
		return u, err
	}
	for _, m := range roles {
		if err := s.Grant(ctx, u.ID, m.Role, m.Department); err != nil {
			return u, err
		}
	}
	if roles == nil {
		roles = []Membership{}
	}
	s.recordChange(ctx, caller, ip, "user.create", "user", u.Username, "", map[string]any{"memberships": roles})
	return u, nil
}

// UserChange is a change of an account: nil fields are kept. Email ""
// removes the address; Password is a reset by an administrator.
type UserChange struct {
	DisplayName *string `json:"display_name"`
	Email       *string `json:"email"`
	Disabled    *bool   `json:"disabled"`
	Password    *string `json:"password"`
}

// UpdateUser changes an account (profile, password reset, disabled) and
// audits what changed. Nobody disables their own account.
func (s *Service) UpdateUser(ctx context.Context, caller Principal, id int64, ch UserChange, ip string) error {
	u, err := s.st.UserByID(ctx, id)
	if err != nil {
		return err
	}
	changed := map[string]any{}
	if ch.DisplayName != nil || ch.Email != nil {
		name, email := u.DisplayName, u.Email
		if ch.DisplayName != nil {
			if name = strings.TrimSpace(*ch.DisplayName); name == "" {
				return invalidFR("le nom affiché ne peut pas être vide", "display_name cannot be empty")
			}
			changed["display_name"] = name
		}
		if ch.Email != nil {
			e := strings.TrimSpace(*ch.Email)
			if e == "" {
				email = nil
			} else if !strings.Contains(e, "@") || len(e) > 254 {
				return invalidFR(fmt.Sprintf("« %s » n'est pas une adresse électronique", e), "e-mail %q is not an address", e)
			} else {
				email = &e
			}
			changed["email"] = e
		}
		if err := s.st.UpdateUserProfile(ctx, id, name, email); err != nil {
			return err
		}
	}
	if ch.Disabled != nil && *ch.Disabled && id == caller.UserID {
		return conflictFR("vous ne pouvez pas désactiver votre propre compte", "you cannot disable your own account")
	}
	if ch.Password != nil {
		if err := s.SetPassword(ctx, id, *ch.Password); err != nil {
			return err
		}
		changed["password"] = "reset: sessions ended, API tokens revoked"
	}
	if ch.Disabled != nil {
		if err := s.SetDisabled(ctx, id, *ch.Disabled); err != nil {
			return err
		}
		changed["disabled"] = *ch.Disabled
		if *ch.Disabled {
			changed["credentials"] = "sessions ended, API tokens revoked"
		}
	}
	s.recordChange(ctx, caller, ip, "user.update", "user", u.Username, "", changed)
	return nil
}

// GrantRole gives a user a role in a department ("*": every one) and audits it.
func (s *Service) GrantRole(ctx context.Context, caller Principal, userID int64, role, dept, ip string) error {
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.Grant(ctx, userID, role, dept); err != nil {
		return err
	}
	s.recordChange(ctx, caller, ip, "membership.grant", "user", u.Username, dept, map[string]string{"role": role})
	return nil
}

// RevokeRole takes a role back and audits it.
func (s *Service) RevokeRole(ctx context.Context, caller Principal, userID int64, role, dept, ip string) error {
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.Revoke(ctx, userID, role, dept); err != nil {
		return err
	}
	s.recordChange(ctx, caller, ip, "membership.revoke", "user", u.Username, dept, map[string]string{"role": role})
	return nil
}

// CreateDepartment validates and creates a department (slug, name) and audits it.
func (s *Service) CreateDepartment(ctx context.Context, caller Principal, slug, name, ip string) (store.Department, error) {
	d := store.Department{Slug: strings.ToLower(strings.TrimSpace(slug)), Name: strings.TrimSpace(name)}
	if !wordOK(d.Slug, 2, 40, "-") || d.Slug[0] == '-' {
		return d, invalidFR(fmt.Sprintf("code « %s » : utilisez de 2 à 40 lettres minuscules, chiffres ou tirets", d.Slug), "slug %q: use 2 to 40 lower-case letters, digits or dashes", d.Slug)
	}
	if d.Name == "" {
		return d, invalidFR("le nom est obligatoire", "name is required")
	}
	if err := s.st.CreateDepartment(ctx, d); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return d, conflictFR(fmt.Sprintf("la direction « %s » existe déjà", d.Slug), fmt.Sprintf("department %q exists already", d.Slug))
		}
		return d, err
	}
	s.recordChange(ctx, caller, ip, "department.create", "department", d.Slug, d.Slug, map[string]string{"name": d.Name})
	return s.st.Department(ctx, d.Slug)
}

// wordOK: min to max bytes of lower-case ASCII letters, digits and extra.
func wordOK(s string, minLen, maxLen int, extra string) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

// Rule is a permission rule: Role in Department may do Action on Object.
type Rule struct {
	Role       string `json:"role"`
	Department string `json:"department"`
	Object     string `json:"object"`
	Action     string `json:"action"`
}

func (r Rule) casbin() store.CasbinRule {
	return store.NewCasbinRule("p", []string{r.Role, r.Department, r.Object, r.Action})
}

func (r Rule) String() string {
	return strings.Join([]string{r.Role, r.Department, r.Object, r.Action}, ",")
}

// Rules lists the permission rules.
func (s *Service) Rules(ctx context.Context) ([]Rule, error) {
	rs, err := s.st.CasbinRules(ctx)
	if err != nil {
		return nil, err
	}
	out := []Rule{}
	for _, r := range rs {
		if r.PType == "p" {
			out = append(out, Rule{r.V0, r.V1, r.V2, r.V3})
		}
	}
	return out, nil
}

// CheckRule trims and validates a rule (department "" = "*").
func (s *Service) CheckRule(ctx context.Context, r Rule) (Rule, error) {
	r.Role, r.Department, r.Object, r.Action = strings.TrimSpace(r.Role), strings.TrimSpace(r.Department), strings.TrimSpace(r.Object), strings.TrimSpace(r.Action)
	if r.Department == "" {
		r.Department = AllDepartments
	}
	if err := s.ValidateGroup(ctx, r.Role, r.Department); err != nil {
		return r, err
	}
	for _, f := range []struct{ en, fr, v string }{{"object", "objet", r.Object}, {"action", "action", r.Action}} {
		if !wordOK(f.v, 1, 40, "-_") {
			return r, invalidFR(fmt.Sprintf("%s « %s » : utilisez de 1 à 40 lettres minuscules, chiffres, tirets ou soulignés", f.fr, f.v),
				"%s %q: use 1 to 40 lower-case letters, digits, dashes or underscores", f.en, f.v)
		}
	}
	return r, nil
}

// AddRule adds a permission rule (added is false when it existed) and audits it.
func (s *Service) AddRule(ctx context.Context, caller Principal, r Rule, ip string) (Rule, bool, error) {
	r, err := s.CheckRule(ctx, r)
	if err != nil {
		return r, false, err
	}
	n, err := s.st.AddCasbinRules(ctx, []store.CasbinRule{r.casbin()})
	if err != nil {
		return r, false, err
	}
	s.Changed()
	if n > 0 {
		s.recordChange(ctx, caller, ip, "policy.add", "policy", r.String(), r.Department, r)
	}
	return r, n > 0, nil
}

// RemoveRule removes a permission rule and audits it.
func (s *Service) RemoveRule(ctx context.Context, caller Principal, r Rule, ip string) error {
	r, err := s.CheckRule(ctx, r)
	if err != nil {
		return err
	}
	if err := s.st.RemoveCasbinRule(ctx, r.casbin()); err != nil {
		return err
	}
	s.Changed()
	s.recordChange(ctx, caller, ip, "policy.remove", "policy", r.String(), r.Department, r)
	return nil
}

// DelegationsFor lists the delegations caller gave or received; a caller
// allowed "delegations admin" sees every delegation unless mine is set.
func (s *Service) DelegationsFor(ctx context.Context, caller Principal, mine bool) ([]store.Delegation, error) {
	uid := caller.UserID
	if !mine && s.Allowed(ctx, caller, AllDepartments, "delegations", "admin") {
		uid = 0
	}
	return s.st.DelegationsInvolving(ctx, uid)
}
