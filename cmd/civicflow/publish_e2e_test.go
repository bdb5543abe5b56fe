package main

import (
	"database/sql"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/benchdata"
)

// The approval of a large dataset answers at once, the publication goes on
// in the background (its progress in GET /api/v1/instances/{id}), and a
// kill -9 in the middle of it loses nothing: after the restart the
// publication resumes where its last committed chunk ended, and the release
// exists within two minutes, once, with every row.
func TestKill9DuringThePublicationOfALargeDataset(t *testing.T) {
	const rows = 200_000
	data := t.TempDir()
	csvPath := filepath.Join(t.TempDir(), "subventions-2024.csv")
	f, err := os.Create(csvPath)
	require.NoError(t, err)
	require.NoError(t, benchdata.WriteSubventionsWindows1252(f, rows))
	require.NoError(t, f.Close())

	hport, tport := freePort(t), freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", hport)
	base := "http://" + addr
	args := []string{"serve", "--demo", "--data", data, "--http", addr, "--temporal-port", fmt.Sprint(tport)}
	p := start(t, args...)
	waitHealth(t, p, addr, 200, 60*time.Second)

	agent := loginAs(t, base, "agent.voirie")
	var ds struct{ ID string }
	require.Equal(t, 201, agent.post("/api/v1/datasets", map[string]any{"title": "Subventions 2024", "department": "voirie", "schema": "scdl-subventions"}, &ds))
	var file struct{ ID any }
	ct, body := uploadFile(t, csvPath)
	require.Equal(t, 201, agent.call("POST", "/api/v1/datasets/"+ds.ID+"/files", ct, body, &file))
	var started struct{ ID string }
	require.Equal(t, 201, agent.post("/api/v1/instances", map[string]any{"flow": "publication", "department": "voirie",
		"variables": map[string]any{"dataset": ds.ID, "file": file.ID}}, &started))

	steward := loginAs(t, base, "steward.voirie")
	review := steward.waitTaskWithin(started.ID, "review", 3*time.Minute)
	require.Equal(t, 200, steward.post("/api/v1/tasks/"+review+"/complete", map[string]any{"data": map[string]any{"decision": "approve"}}, nil))
	dgs := loginAs(t, base, "dgs")
	approval := dgs.waitTaskWithin(started.ID, "approval", time.Minute)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "civicflow.db")+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()

	t0 := time.Now()
	require.Equal(t, 200, dgs.post("/api/v1/tasks/"+approval+"/complete", map[string]any{"data": map[string]any{"decision": "approve"}}, nil))
	answered := time.Since(t0)
	t.Logf("approval of %d rows answered in %v", rows, answered)
	require.Less(t, answered, time.Second, "the approval waits for the publication")

	// kill -9 once the publication has committed rows, before it ends.
	var loaded int64
	deadline := time.Now().Add(2 * time.Minute)
	for loaded == 0 {
		require.True(t, time.Now().Before(deadline), "the publication never started loading rows")
		err := db.QueryRow(`SELECT COALESCE(MAX(rows_loaded), 0) FROM release_loads`).Scan(&loaded)
		require.NoError(t, err)
		var released int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM releases`).Scan(&released))
		require.Zero(t, released, "the publication ended before the kill: nothing was tested")
		if loaded == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	p.kill()
	t.Logf("killed with %d of %d rows loaded", loaded, rows)
	require.Less(t, loaded, int64(rows))

	p2 := start(t, args...)
	restarted := time.Now()
	waitHealth(t, p2, addr, 200, 60*time.Second)

	// The release appears within two minutes; meanwhile the instance shows
	// the publication in flight, with the progress of its last heartbeat.
	type activity struct {
		Node, Activity, State, Step string
		Attempt                     int
		Done, Total, Resumed        int64
	}
	var seen []activity
	var got struct {
		Releases []struct {
			Number int
			Rows   int64
		}
	}
	for {
		require.Less(t, time.Since(restarted), 2*time.Minute, "no release 2 minutes after the restart; progress seen: %+v", seen)
		var inst struct {
			Status     string
			Activities []activity
		}
		agent.call("GET", "/api/v1/instances/"+started.ID, "", nil, &inst)
		for _, a := range inst.Activities {
			if len(seen) == 0 || seen[len(seen)-1] != a {
				seen = append(seen, a)
			}
		}
		require.Equal(t, 200, agent.call("GET", "/api/v1/datasets/"+ds.ID, "", nil, &got))
		if len(got.Releases) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("release %d of %d rows, %v after the restart; progress seen: %+v", got.Releases[0].Number, got.Releases[0].Rows, time.Since(restarted).Round(time.Millisecond), seen)
	require.Len(t, got.Releases, 1)
	require.EqualValues(t, rows, got.Releases[0].Rows)
	shown := slices.ContainsFunc(seen, func(a activity) bool {
		return a.Node == "publish" && a.Activity == "civicflow.publish" && a.Step == "load" && a.Total == rows
	})
	require.True(t, shown, "GET /api/v1/instances/{id} never showed the publication in flight: %+v", seen)
	require.Contains(t, p2.out.String(), "release load resumed", "the second attempt went on from the rows loaded")

	var inst struct{ Status string }
	for time.Since(restarted) < 3*time.Minute {
		agent.call("GET", "/api/v1/instances/"+started.ID, "", nil, &inst)
		if inst.Status == "completed" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, "completed", inst.Status)

	// Exactly once, every row: the release table holds rows 1…N, each once
	// (their hashes all differ: every generated row does), and nothing of
	// the interrupted attempt is left behind.
	var table string
	require.NoError(t, db.QueryRow(`SELECT table_name FROM releases WHERE dataset_id = ?`, ds.ID).Scan(&table))
	var n, distinct, first, last int64
	require.NoError(t, db.QueryRow(fmt.Sprintf(`SELECT COUNT(*), COUNT(DISTINCT _hash), MIN(_row), MAX(_row) FROM %q`, table)).Scan(&n, &distinct, &first, &last))
	require.Equal(t, []int64{rows, rows, 1, rows}, []int64{n, distinct, first, last})
	var ref string
	require.NoError(t, db.QueryRow(fmt.Sprintf(`SELECT f_referencedecision FROM %q WHERE _row = ?`, table), rows).Scan(&ref))
	require.Equal(t, fmt.Sprintf("DEL-%d", rows-1), ref, "the last row is the file's last")
	var leftovers, tables int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM release_loads`).Scan(&leftovers))
	require.Zero(t, leftovers)
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'rel\_%' ESCAPE '\'`).Scan(&tables))
	require.Equal(t, 1, tables)

	// The API serves its last row.
	var page struct {
		Rows []map[string]any
	}
	require.Equal(t, 200, agent.call("GET", fmt.Sprintf("/api/v1/datasets/%s/releases/1?limit=5&offset=%d", url.PathEscape(ds.ID), rows-1), "", nil, &page))
	require.Len(t, page.Rows, 1)
	require.Equal(t, fmt.Sprintf("DEL-%d", rows-1), page.Rows[0]["referenceDecision"])
}

// uploadFile streams path as the multipart part "file"; it returns the
// content type and the body.
func uploadFile(t *testing.T, path string) (string, io.Reader) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", filepath.Base(path))
		if err == nil {
			_, err = io.Copy(fw, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	return mw.FormDataContentType(), pr
}

// waitTaskWithin is waitTask with a deadline of its own.
func (u *httpUser) waitTaskWithin(instance, node string, within time.Duration) string {
	u.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var out struct {
			Tasks []struct{ ID, Instance, Node string }
		}
		u.call("GET", "/api/v1/tasks", "", nil, &out)
		for _, t := range out.Tasks {
			if t.Instance == instance && t.Node == node {
				return t.ID
			}
		}
		var inst struct {
			Status    string
			Incidents []struct{ Node, Message string }
		}
		u.call("GET", "/api/v1/instances/"+instance, "", nil, &inst)
		if len(inst.Incidents) > 0 || (inst.Status != "" && inst.Status != "running") {
			u.t.Fatalf("instance %s is %s before task %s: %+v", instance, inst.Status, node, inst.Incidents)
		}
		time.Sleep(200 * time.Millisecond)
	}
	u.t.Fatalf("task %s of %s did not appear within %v", node, instance, within)
	return ""
}
