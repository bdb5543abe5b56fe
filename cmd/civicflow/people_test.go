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
	require.NoError(t, runUser(ctx, append([]string{"add", "Alice", "--name", "Alice Martin", "--email", "alice@ville.fr", "--password-stdin", "--role", "agent@voirie"}, data...)))
	require.Error(t, runUser(ctx, append([]string{"add", "bob", "--role", "agent@nowhere"}, data...)), "unknown department")
	require.NoError(t, runUser(ctx, append([]string{"grant", "alice", "approver@*"}, data...)))
	require.NoError(t, runUser(ctx, append([]string{"revoke", "alice", "agent@voirie"}, data...)))
	require.Error(t, runUser(ctx, append([]string{"revoke", "alice", "agent@voirie"}, data...)))
	peopleIn = strings.NewReader("n3w-pass\n")
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
