package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestPeopleCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var out bytes.Buffer
	peopleOut = &out
	defer func() { peopleOut, peopleIn = nil, nil }()
	data := []string{"--data", dir}

	require.NoError(t, runDepartment(ctx, append([]string{"add", "voirie", "Voirie", "et", "espaces"}, data...)))
	require.Error(t, runDepartment(ctx, append([]string{"add", "voirie", "Encore"}, data...)))
	peopleIn = strings.NewReader("s3cret!\n")
	require.ErrorContains(t, runUser(ctx, append([]string{"add", "Alice", "--password-stdin"}, data...)), "too weak", "the password policy holds on the command line")
	peopleIn = strings.NewReader("Tq7!vRz#2mLp\n")
	require.NoError(t, runUser(ctx, append([]string{"add", "Alice", "--name", "Alice Martin", "--email", "alice@ville.fr", "--password-stdin", "--role", "agent@voirie"}, data...)))
	require.Error(t, runUser(ctx, append([]string{"add", "bob", "--role", "agent@nowhere"}, data...)), "unknown department")
	require.NoError(t, runUser(ctx, append([]string{"grant", "alice", "approver@*"}, data...)))
	require.NoError(t, runUser(ctx, append([]string{"revoke", "alice", "agent@voirie"}, data...)))
	require.Error(t, runUser(ctx, append([]string{"revoke", "alice", "agent@voirie"}, data...)))
	peopleIn = strings.NewReader("demo\n")
	require.ErrorContains(t, runUser(ctx, append([]string{"passwd", "alice"}, data...)), "too weak", "the demo password is for --demo only")
	peopleIn = strings.NewReader("Kxv9tqmzrpw4Lb\n")
	require.NoError(t, runUser(ctx, append([]string{"passwd", "alice"}, data...)))
	out.Reset()
	require.NoError(t, runUser(ctx, append([]string{"list"}, data...)))
	require.Contains(t, out.String(), "alice")
	require.Contains(t, out.String(), "approver@*")
	out.Reset()
	require.NoError(t, runDepartment(ctx, append([]string{"list"}, data...)))
	require.Contains(t, out.String(), "Voirie et espaces")

	out.Reset()
	require.NoError(t, runAudit(ctx, append([]string{"verify"}, data...)))
	require.Contains(t, out.String(), "intact")

	db, err := sql.Open("sqlite", filepath.Join(dir, "civicflow.db"))
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE audit_log SET actor = 'someone-else' WHERE id = 2`)
	require.NoError(t, err)
	db.Close()
	err = runAudit(ctx, append([]string{"verify"}, data...))
	require.Error(t, err)
	require.Contains(t, err.Error(), "#2")
}

// Point 8 of issue 8, on the command line: `civicflow user passwd` and
// `civicflow user disable` end the user's sessions and revoke their
// personal API tokens, on both dialects.
func TestSecurityResetRevokesTokensCLI(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			var out bytes.Buffer
			peopleOut = &out
			defer func() { peopleOut, peopleIn = nil, nil }()
			dbURL := d.URL(t)
			args := func(a ...string) []string { return append(a, "--data", t.TempDir(), "--db", dbURL) }
			for _, u := range []string{"alice", "bob"} {
				peopleIn = strings.NewReader("Tq7!vRz#2mLp\n")
				require.NoError(t, runUser(ctx, args("add", u, "--password-stdin")))
			}
			st := storetest.Open(t, dbURL)
			svc, err := auth.New(ctx, st, auth.Options{})
			require.NoError(t, err)
			credentials := func(user string) (session, token string) {
				res, err := svc.Login(ctx, auth.LoginRequest{Username: user, Password: "Tq7!vRz#2mLp", IP: "192.0.2.1"})
				require.NoError(t, err)
				p, err := svc.PrincipalForSession(ctx, res.Token)
				require.NoError(t, err)
				token, _, err = svc.CreateAPIToken(ctx, p, "script", nil, "192.0.2.1")
				require.NoError(t, err)
				return res.Token, token
			}

			session, token := credentials("alice")
			peopleIn = strings.NewReader("Kxv9tqmzrpw4Lb\n")
			require.NoError(t, runUser(ctx, args("passwd", "alice")))
			require.Contains(t, out.String(), "API tokens revoked")
			_, err = svc.PrincipalForSession(ctx, session)
			require.ErrorIs(t, err, auth.ErrSessionInvalid)
			_, err = svc.PrincipalForToken(ctx, token)
			require.ErrorIs(t, err, auth.ErrTokenRevoked)

			session, token = credentials("bob")
			require.NoError(t, runUser(ctx, args("disable", "bob")))
			_, err = svc.PrincipalForSession(ctx, session)
			require.ErrorIs(t, err, auth.ErrSessionInvalid)
			require.NoError(t, runUser(ctx, args("enable", "bob")))
			_, err = svc.PrincipalForToken(ctx, token)
			require.ErrorIs(t, err, auth.ErrTokenRevoked, "enabling gives no token back")
		})
	}
}
