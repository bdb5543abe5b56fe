package activities_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

// source serves a CSV with an ETag and answers conditional requests.
type source struct {
	mu          sync.Mutex
	body        []byte
	etag        string // "" = no validators
	requests    int
	conditional int
}

func (s *source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.URL.Path != "/subventions.csv" {
		http.NotFound(w, r)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		s.conditional++
		if s.etag != "" && inm == s.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if s.etag != "" {
		w.Header().Set("ETag", s.etag)
	}
	w.Header().Set("Content-Type", "text/csv")
	_, _ = w.Write(s.body)
}

func (s *source) set(body []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
}

func TestCollectStagesNewContentAndSkipsUnchanged(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	b := dataSetup(t, st)
	b.d.Fetch.AllowPrivate = true // the test server is on loopback
	valid, err := os.ReadFile(samples + "scdl-subventions.valid.csv")
	require.NoError(t, err)
	src := &source{body: valid, etag: `"v1"`}
	srv := httptest.NewServer(src)
	defer srv.Close()
	url := srv.URL + "/subventions.csv"
	collect := func(instance string) (workflows.ActivityResult, error) {
		return b.run(t, activities.ActCollect, input("collect", instance, map[string]any{"dataset": "subventions", "source": url}))
	}

	res, err := collect("i1")
	require.NoError(t, err)
	require.Equal(t, false, res.Variables["unchanged"])
	first := res.Variables["file"].(string)
	require.Contains(t, res.Message, "staged as file "+first)
	f, err := st.DataFile(b.ctx, first)
	require.NoError(t, err)
	require.Equal(t, store.FileCollected, f.Kind)
	require.Equal(t, "subventions.csv", f.Name)
	require.Equal(t, `"v1"`, f.ETag)
	require.Equal(t, url, f.URL)
	require.Equal(t, 0, src.conditional, "no previous file: an unconditional request")

	// The staged file ingests and validates like an upload, without
	// fetching again.
	in := input("ingest", "i1", map[string]any{"dataset": "subventions", "file": first})
	res, err = b.run(t, activities.ActIngest, in)
	require.NoError(t, err)
	merge(&in, res)
	in.NodeID = "validate"
	res, err = b.run(t, activities.ActValidate, in)
	require.NoError(t, err)
	require.Equal(t, true, res.Variables["valid"])
	require.Equal(t, 1, src.requests)

	// A retry of the same run: the same file, no new request.
	res, err = collect("i1")
	require.NoError(t, err)
	require.Equal(t, first, res.Variables["file"])
	require.Equal(t, 1, src.requests)

	// The next night: a conditional request, 304, nothing staged.
	res, err = collect("i2")
	require.NoError(t, err)
	require.Equal(t, true, res.Variables["unchanged"])
	require.Nil(t, res.Variables["file"])
	require.Contains(t, res.Message, "skipped: unchanged (HTTP 304 Not Modified since file "+first)
	require.Equal(t, 1, src.conditional)
	files, err := st.DataFiles(b.ctx, "subventions")
	require.NoError(t, err)
	require.Len(t, files, 1)

	// The source changes: a new file of the dataset.
	changed := append(append([]byte(nil), valid...), valid[len(valid)-200:]...)
	src.set(changed, `"v2"`)
	res, err = collect("i3")
	require.NoError(t, err)
	require.Equal(t, false, res.Variables["unchanged"])
	second := res.Variables["file"].(string)
	require.NotEqual(t, first, second)
	require.Equal(t, first, res.Variables["collect"].(map[string]any)["previousFile"])

	// A server without validators: the same bytes are unchanged too.
	src.set(changed, "")
	res, err = collect("i4")
	require.NoError(t, err)
	require.Equal(t, true, res.Variables["unchanged"])
	require.Contains(t, res.Message, "same content as file "+second)
	files, err = st.DataFiles(b.ctx, "subventions")
	require.NoError(t, err)
	require.Len(t, files, 2)
}

func TestCollectRefusals(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	b := dataSetup(t, st)
	srv := httptest.NewServer(&source{body: []byte("a,b\n1,2\n"), etag: `"x"`})
	defer srv.Close()
	tests := []struct {
		name, source string
		private      bool
		want         string
	}{
		{"no source", "", true, `"source"`},
		{"not http", "ftp://example.org/a.csv", true, "not an absolute http(s) URL"},
		{"loopback without allow-list", srv.URL + "/subventions.csv", false, "not allowed"},
		{"not found", srv.URL + "/missing.csv", true, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.d.Fetch.AllowPrivate = tt.private
			vars := map[string]any{"dataset": "subventions"}
			if tt.source != "" {
				vars["source"] = tt.source
			}
			_, err := b.d.Collect(context.Background(), input("collect", "r-"+tt.name, vars))
			var ae *temporal.ApplicationError
			require.ErrorAs(t, err, &ae)
			require.True(t, ae.NonRetryable(), "a business error: an incident, not retries")
			require.Contains(t, ae.Message(), tt.want)
		})
	}
}
