package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/civicflow/civicflow/internal/app"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/temporalserver"
	"github.com/civicflow/civicflow/internal/worker"
)

// The embedded Temporal server of `serve` accepts civicflow's own
// processes only: `serve` creates DATA/temporal.secret (0600); a worker on
// the same machine with the same data directory reads it; a worker with
// another data directory needs --temporal-secret-file, and without it is
// refused at start with a message that says so.
func TestSecurityTemporalWorkersShareTheSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts civicflow processes")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.TemporalPort = 0
	serve, err := app.Start(context.Background(), cfg, quiet, app.Mode{HTTP: true})
	require.NoError(t, err)
	t.Cleanup(serve.Stop)

	secretFile := filepath.Join(cfg.DataDir, temporalserver.SecretFileName)
	fi, err := os.Stat(secretFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	workerCfg := func(data, secretFile string) config.Config {
		c := config.Default()
		c.DataDir, c.DB = data, cfg.SQLitePath()
		c.Temporal = serve.TemporalHostPort()
		c.TemporalSecretFile = secretFile
		c.WorkerTaskQueue = "auth-e2e"
		return c
	}
	// Another data directory, no secret: refused, and told why.
	_, err = app.Start(context.Background(), workerCfg(t.TempDir(), ""), quiet, app.Mode{Worker: true})
	require.ErrorContains(t, err, "refuses civicflow's credentials")
	require.ErrorContains(t, err, "--temporal-secret-file")

	// The same data directory: the secret is found.
	w1, err := app.Start(context.Background(), workerCfg(cfg.DataDir, ""), quiet, app.Mode{Worker: true})
	require.NoError(t, err)
	t.Cleanup(w1.Stop)
	// Another data directory with --temporal-secret-file.
	w2, err := app.Start(context.Background(), workerCfg(t.TempDir(), secretFile), quiet, app.Mode{Worker: true})
	require.NoError(t, err)
	t.Cleanup(w2.Stop)

	// Both workers really serve the task queue: probes started by serve's
	// client run to completion.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 4 {
		run, err := serve.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "auth-e2e", ID: "probe-" + string(rune('a'+i))}, worker.ProbeWorkflow, worker.ProbeInput{})
		require.NoError(t, err)
		var res worker.ProbeResult
		require.NoError(t, run.Get(ctx, &res))
		require.NotEmpty(t, res.Worker)
	}
}
