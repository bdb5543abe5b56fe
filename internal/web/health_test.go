package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// /healthz is 200 only when both the database and Temporal answer, and
// names the failing check otherwise.
func TestHealthz(t *testing.T) {
	tests := []struct {
		name       string
		temporal   error
		closeDB    bool
		want       int
		wantFailed string
	}{
		{"all up", nil, false, 200, ""},
		{"temporal down", errors.New("connection refused"), false, 503, "temporal"},
		{"database down", nil, true, 503, "database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := storetest.Open(t, storetest.SQLiteURL(t))
			srv, err := web.New(web.Deps{Config: config.Default(), Store: st,
				TemporalHealth: func(context.Context) error { return tt.temporal }})
			require.NoError(t, err)
			if tt.closeDB {
				require.NoError(t, st.Close())
			}
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			var body struct {
				Status string
				Checks map[string]string
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			if tt.wantFailed != "" {
				require.NotEqual(t, "ok", body.Checks[tt.wantFailed])
			} else {
				require.Equal(t, "ok", body.Status)
			}
		})
	}
}

// Errors are RFC 9457 problem documents, never HTML or bare text, for API clients.
func TestProblemJSON(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	srv, err := web.New(web.Deps{Config: config.Default(), Store: st})
	require.NoError(t, err)
	for _, path := range []string{"/api/v1/nothing-here", "/api/v1/flows"} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), path)
		var p map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		require.NotEmpty(t, p["title"])
		require.EqualValues(t, rec.Code, p["status"])
	}
}
