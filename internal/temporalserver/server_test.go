package temporalserver_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tconfig "go.temporal.io/server/common/config"
	sqliteschema "go.temporal.io/server/schema/sqlite"

	"github.com/civicflow/civicflow/internal/temporalserver"
	"github.com/civicflow/civicflow/internal/worker"
)

func journalMode(t *testing.T, path, set string) string {
	t.Helper()
	mode, err := tryJournalMode(path, set)
	if err != nil {
		t.Fatal(err)
	}
	return mode
}

func tryJournalMode(path, set string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	q := "PRAGMA journal_mode"
	if set != "" {
		q += " = " + set
	}
	var mode string
	err = db.QueryRow(q).Scan(&mode)
	return mode, err
}

// temporal.db runs in WAL mode (its pragmas are really applied), also a
// file that an older civicflow created in rollback-journal mode (its
// pragma names were ignored): the server switches it over at start and
// works on it.
func TestEmbeddedSQLiteInWALModeAndOldFilesKeepWorking(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	for _, old := range []bool{false, true} {
		dir := t.TempDir()
		dbPath := filepath.Join(dir, "temporal.db")
		if old {
			if err := sqliteschema.SetupSchema(&tconfig.SQL{PluginName: "sqlite", DatabaseName: dbPath,
				ConnectAttributes: map[string]string{"mode": "rwc", "_journal_mode": "wal"}}); err != nil {
				t.Fatal(err)
			}
			if m := journalMode(t, dbPath, ""); m != "delete" {
				t.Fatalf("the old-style file is in %q mode, want delete", m)
			}
		}
		secret, err := temporalserver.LoadOrCreateSecret(filepath.Join(dir, temporalserver.SecretFileName))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := temporalserver.Start(context.Background(), temporalserver.Options{
			DatabasePath: dbPath, Namespace: "civicflow", Retention: 24 * time.Hour,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Secret: secret,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		if m := journalMode(t, dbPath, ""); m != "wal" {
			t.Errorf("old=%v: journal_mode = %q, want wal", old, m)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, err := client.Dial(client.Options{HostPort: srv.HostPort(), Namespace: "civicflow", HeadersProvider: temporalserver.Headers(secret), Logger: quiet{}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "w", TaskQueue: "nobody"}, worker.ProbeWorkflow, worker.ProbeInput{}); err != nil {
			t.Fatal(err)
		}
		if d, err := c.DescribeWorkflowExecution(ctx, "w", ""); err != nil || d.WorkflowExecutionInfo.GetStatus().String() != "Running" {
			t.Fatalf("old=%v: %v, %v", old, d, err)
		}
	}
}
