package app_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store/storetest"
)

// TestUsageLogHardKill runs `civicflow serve` as a subprocess, sends it a
// stream of public API calls and kills it with SIGKILL: at most the calls
// of the last flush interval (1 s) are missing from the usage log. The test
// logs how many.
func TestUsageLogHardKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbURL := storetest.PostgresURL(t)
	bin := filepath.Join(t.TempDir(), "civicflow")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/civicflow")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", "--data", t.TempDir(), "--db", dbURL, "--http", addr, "--temporal-port", "0")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = append(os.Environ(), "CIVICFLOW_LOG_LEVEL=warn")
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(base + exploreCatalog)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "civicflow serve did not start: %s", logs.String())
		time.Sleep(200 * time.Millisecond)
	}
	db, err := sqlx.Open("pgx", dbURL)
	require.NoError(t, err)
	defer db.Close()
	time.Sleep(1500 * time.Millisecond) // the readiness calls are flushed
	var before int
	require.NoError(t, db.Get(&before, `SELECT COUNT(*) FROM api_usage`))

	// 3 s of calls from 4 clients; note when each answer came back.
	var mu sync.Mutex
	var answered []time.Time
	stop := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := http.Get(base + exploreCatalog)
				if err != nil {
					return
				}
				resp.Body.Close()
				mu.Lock()
				answered = append(answered, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	killedAt := time.Now()
	killed = true
	_, _ = cmd.Process.Wait()

	var after int
	require.NoError(t, db.Get(&after, `SELECT COUNT(*) FROM api_usage`))
	logged := after - before
	missing := len(answered) - logged
	lastSecond := 0
	for _, at := range answered {
		if killedAt.Sub(at) <= 1100*time.Millisecond {
			lastSecond++
		}
	}
	t.Logf("hard kill: %d calls answered, %d in the usage log, %d missing (%d answered in the last flush interval)", len(answered), logged, missing, lastSecond)
	require.GreaterOrEqual(t, missing, 0, fmt.Sprintf("more rows than answers: %d > %d", logged, len(answered)))
	require.LessOrEqual(t, missing, lastSecond, "more than the last flush interval is lost")
}
