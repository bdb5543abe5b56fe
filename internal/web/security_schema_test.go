package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// TestSecurityPatternLinear (issue 8, point 3): a steward's schema with a
// pattern that makes a backtracking matcher explode, and cells of 2,000
// and 10,000 characters sent to the public /api/v1/validate, answer at
// once with the right report (it took 8 s for 2,000 characters, and grew
// with the cube of the length).
func TestSecurityPatternLinear(t *testing.T) {
	b := dataSetup(t, 0)
	steward := "Bearer " + b.login(t, "steward.voirie")
	schema := `{"name":"codes-voirie","fields":[{"name":"code","type":"string","constraints":{"pattern":"[A-Z0-9]+[A-Z0-9 ]*[A-Z0-9]+"}},` +
		`{"name":"troncon","type":"string","constraints":{"pattern":"(a|aa)*b"}}]}`
	r := b.do("POST", "/api/v1/schemas", schema, steward, "")
	require.Equal(t, 201, r.status, r.body)

	for _, n := range []int{2_000, 10_000} {
		bad := strings.Repeat("A", n-1) + "!"           // no match: the worst case of backtracking
		good := strings.Repeat("AB 1", n/4)[:n-1] + "Z" // a match
		worse := strings.Repeat("a", n)                 // (a|aa)*b without the b
		csv := fmt.Sprintf("code,troncon\n%s,ab\n%s,%s\n", bad, good, worse)
		start := time.Now()
		r := b.upload(t, "/api/v1/validate?schema=codes-voirie", "codes.csv", []byte(csv), "")
		took := time.Since(start)
		require.Equal(t, 200, r.status, r.body)
		require.Less(t, took, 500*time.Millisecond, "%d characters: the pattern check must be linear", n)

		rep := r.json(t)
		require.Equal(t, false, rep["valid"])
		errs := rep["errors"].([]any)
		require.Len(t, errs, 2, "%v", errs)
		got := map[string]float64{}
		for _, e := range errs {
			e := e.(map[string]any)
			require.Equal(t, "constraint-error", e["type"])
			require.Contains(t, e["message"], "ne respecte pas le motif attendu")
			got[e["field"].(string)] = e["row"].(float64)
		}
		require.Equal(t, map[string]float64{"code": 2, "troncon": 3}, got)
	}
}

// TestSecuritySchemaColumnLimit (issue 8, point 10): a schema with more
// fields than a release table holds on the database (SQLite 2,000
// columns, PostgreSQL 1,600, less civicflow's 3) is refused when it is
// uploaded and, if stored before this check, when a dataset or the public
// validation uses it: 422 with a sentence that says why, not a raw SQL
// error at release time.
func TestSecuritySchemaColumnLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		require.NoError(t, auth.SeedDemo(context.Background(), st, "demo"))
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		b := dataBundle{srv: srv}
		steward := "Bearer " + b.login(t, "steward.voirie")
		max := st.MaxReleaseColumns()

		r := b.do("POST", "/api/v1/schemas", string(wideSchema("trop-large", max+1, 0)), steward, "")
		require.Equal(t, 422, r.status, r.body)
		detail := r.json(t)["detail"].(string)
		require.Contains(t, detail, fmt.Sprintf(`schema "trop-large" has %d columns, more than a release table can hold`, max+1))
		require.Contains(t, detail, fmt.Sprintf("at most %d", max))
		r = b.do("POST", "/api/v1/schemas", string(wideSchema("tout-juste", max, 0)), steward, "")
		require.Equal(t, 201, r.status, "the widest schema the database holds")
		if st.Dialect() == "postgres" {
			r = b.do("POST", "/api/v1/schemas", string(wideSchema("cle-longue", 40, 33)), steward, "")
			require.Equal(t, 422, r.status, r.body)
			require.Contains(t, r.body, "its primary key has 33 fields, more than the 32 columns PostgreSQL can index")
		}

		// Stored before the check (or on the other database): refused when used.
		_, _, err = st.PutCustomSchema(context.Background(), store.CustomSchema{Name: "ancien-large", SHA256: "x", Descriptor: store.JSONText(wideSchema("ancien-large", max+1, 0))})
		require.NoError(t, err)
		agent := "Bearer " + b.login(t, "agent.voirie")
		r = b.do("POST", "/api/v1/datasets", `{"title":"Large","department":"voirie","schema":"ancien-large"}`, agent, "")
		require.Equal(t, 422, r.status, r.body)
		probs := r.json(t)["problems"].([]any)
		require.Equal(t, "schema", probs[0].(map[string]any)["field"])
		require.Contains(t, probs[0].(map[string]any)["message"], "more than a release table can hold")
		r = b.upload(t, "/api/v1/validate?schema=ancien-large", "a.csv", []byte("c0\nx\n"), "")
		require.Equal(t, 422, r.status, r.body)
		require.Contains(t, r.json(t)["detail"], fmt.Sprintf(`schema "ancien-large" has %d columns`, max+1))
	})
}

func wideSchema(name string, n, pk int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"name":%q,"fields":[`, name)
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"name":"c%d","type":"string"}`, i)
	}
	sb.WriteString("]")
	if pk > 0 {
		keys := make([]string, pk)
		for i := range keys {
			keys[i] = fmt.Sprintf(`"c%d"`, i)
		}
		sb.WriteString(`,"primaryKey":[` + strings.Join(keys, ",") + `]`)
	}
	sb.WriteString("}")
	return []byte(sb.String())
}
