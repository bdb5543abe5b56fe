package app_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// On the review task of a second publication, the steward sees what it
// would change in the dataset: rows added, removed and changed by primary
// key, compared with the release in force.
func TestReviewShowsTheChangesFromTheLatestRelease(t *testing.T) {
	e := startApp(t)
	agent, steward, dgs := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs")
	sample := "../tableschema/testdata/samples/arbres-urbains.valid.csv"

	var ds map[string]any
	require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/datasets", map[string]any{
		"title": "Arbres", "department": "voirie", "schema": "arbres-urbains"}, &ds))
	dataset := fmt.Sprint(ds["id"])
	publish := func(file string) (instance, review string) {
		t.Helper()
		st, f := agent.upload("/api/v1/datasets/"+dataset+"/files", file)
		require.Equal(t, 201, st, "upload: %v", f)
		var started map[string]any
		require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/instances", map[string]any{
			"flow": "publication", "department": "voirie", "variables": map[string]any{"dataset": dataset, "file": f["id"]},
		}, &started))
		instance = fmt.Sprint(started["id"])
		return instance, steward.waitTask(instance, "review").ID
	}
	diffOf := func(task string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.base+"/tasks/"+task+"/diff", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+steward.token)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("HX-Request", "true")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, string(b))
		return string(b)
	}

	// The first publication: nothing to compare with.
	first, review := publish(sample)
	require.Contains(t, diffOf(review), "pas encore de version publiée")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review+"/complete", decide("approve"), nil))
	approval := dgs.waitTask(first, "approval")
	require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
	agent.waitStatus(first, "completed")

	// The second file: row 4 gone, row 2 taller, a new row 99.
	raw, err := os.ReadFile(sample)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimRight(string(raw), "\r\n"), "\n")
	require.Len(t, lines, 5, "a header and 4 trees")
	cells := strings.Split(lines[2], ";")
	require.Equal(t, "2", cells[0])
	cells[13] = "240"
	lines[2] = strings.Join(cells, ";")
	added := strings.Split(lines[1], ";")
	added[0] = "99"
	second := append(lines[:4:4], strings.Join(added, ";"))
	file := filepath.Join(t.TempDir(), "arbres-2.csv")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(second, "\n")+"\n"), 0o644))

	_, review = publish(file)
	page := diffOf(review)
	for _, want := range []string{"Par rapport à la version 1", "selon la clé primaire",
		"<strong>1</strong> ligne ajoutée", "<code>99</code>",
		"<strong>1</strong> ligne retirée", "<strong>1</strong> ligne modifiée", "<code>2</code>",
		"<strong>2</strong> lignes inchangées"} {
		require.Contains(t, page, want)
	}
	// Another department's steward sees nothing of it.
	other := e.login("steward.finances")
	req, _ := http.NewRequest(http.MethodGet, e.base+"/tasks/"+review+"/diff", nil)
	req.Header.Set("Authorization", "Bearer "+other.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Contains(t, []int{403, 404}, resp.StatusCode)
}
