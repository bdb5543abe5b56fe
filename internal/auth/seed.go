package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/policies"
)

// DemoDepartment is a department of the demo.
type DemoDepartment struct{ Slug, Name string }

// DemoDepartments are seeded by --demo.
var DemoDepartments = []DemoDepartment{
	{"voirie", "Voirie et espaces publics"},
	{"finances", "Finances"},
	{"culture", "Culture et patrimoine"},
}

// DemoUser is an account of the demo and the roles it holds.
type DemoUser struct {
	Username    string
	DisplayName string
	Email       string
	Memberships []Membership
}

// DemoUsers are seeded by --demo (tests of the route table use them).
var DemoUsers = []DemoUser{
	{"agent.voirie", "Agent Voirie", "agent.voirie@demo.civicflow.fr", []Membership{{RoleAgent, "voirie"}}},
	{"steward.voirie", "Référent données Voirie", "steward.voirie@demo.civicflow.fr", []Membership{{RoleSteward, "voirie"}}},
	{"agent.finances", "Agent Finances", "agent.finances@demo.civicflow.fr", []Membership{{RoleAgent, "finances"}}},
	{"steward.finances", "Référent données Finances", "steward.finances@demo.civicflow.fr", []Membership{{RoleSteward, "finances"}}},
	{"dgs", "Directrice générale des services", "dgs@demo.civicflow.fr", []Membership{{RoleApprover, AllDepartments}}},
	{"designer", "Concepteur de processus", "designer@demo.civicflow.fr", []Membership{{RoleDesigner, AllDepartments}}},
	{"admin", "Administrateur", "admin@demo.civicflow.fr", []Membership{{RoleAdmin, AllDepartments}}},
}

// SeedDemo creates, idempotently, the demo departments and users with
// their roles, all with password (existing users keep theirs), and loads
// the default policy if the database never had one.
func SeedDemo(ctx context.Context, st *store.Store, password string) error {
	if len(password) == 0 {
		return errors.New("demo seed: empty password")
	}
	if _, err := policies.Seed(ctx, st); err != nil {
		return err
	}
	for _, d := range DemoDepartments {
		err := st.CreateDepartment(ctx, store.Department{Slug: d.Slug, Name: d.Name})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	for _, du := range DemoUsers {
		u, err := st.UserByUsername(ctx, du.Username)
		if errors.Is(err, store.ErrNotFound) {
			var h string
			if h, err = HashPassword(password, DefaultArgon2); err != nil {
				return err
			}
			email := du.Email
			u = store.User{Username: du.Username, DisplayName: du.DisplayName, Email: &email, PasswordHash: &h}
			err = st.CreateUser(ctx, &u)
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", du.Username, err)
		}
		for _, m := range du.Memberships {
			if err := st.GrantMembership(ctx, u.ID, m.Role, m.Department); err != nil {
				return err
			}
		}
	}
	return nil
}
