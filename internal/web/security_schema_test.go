package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
