package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
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

// exploreSrc is the source of the contract tests' release; expected
// answers are computed from it in Go.
type exploreSrc struct {
	ID      string
	Commune string
	Montant float64
	Nb      int64
	Date    string
}

var exploreRows = func() []exploreSrc {
	communes := []string{"Lyon", "Bron", "Villeurbanne", "Vénissieux", "Caluire-et-Cuire"}
	var out []exploreSrc
	for i := 1; i <= 250; i++ {
		out = append(out, exploreSrc{
			ID:      fmt.Sprintf("r%03d", i),
			Commune: communes[i%len(communes)],
			Montant: float64(i*37%1000) + 0.5,
			Nb:      int64(i % 7),
			Date:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly),
		})
	}
	return out
}()

func exploreServer(t *testing.T, url string) http.Handler {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, url)
	require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
	cols := []store.ReleaseColumn{{Field: "id", Kind: store.KindText}, {Field: "commune", Kind: store.KindText},
		{Field: "montant", Kind: store.KindNumeric}, {Field: "nb", Kind: store.KindInteger}, {Field: "date", Kind: store.KindDate}}
	for _, id := range []string{"travaux", "secret"} {
		require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: id, Title: "Travaux " + id, Description: "Chantiers", Department: "voirie", Keywords: store.Strings{"voirie"}}))
		i := 0
		_, _, err := st.CreateRelease(ctx, store.NewRelease{DatasetID: id, Key: id, NormalizedSHA: "x", Columns: cols}, func() (store.ReleaseRow, error) {
			if i == len(exploreRows) {
				return store.ReleaseRow{}, io.EOF
			}
			r := exploreRows[i]
			i++
			d, _ := time.Parse(time.DateOnly, r.Date)
			return store.ReleaseRow{Values: []any{r.ID, r.Commune, r.Montant, r.Nb, d}, Key: r.ID, Hash: r.ID}, nil
		})
		require.NoError(t, err)
		require.NoError(t, st.ExposeRelease(ctx, id, 1))
	}
	require.NoError(t, st.SetDatasetVisibility(ctx, "travaux", store.VisibilityPublic))
	// A public dataset without an exposed release is not served either.
	require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: "vide", Title: "Vide", Department: "voirie", Visibility: store.VisibilityPublic}))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return srv.Handler()
}

func get(h http.Handler, path string, q url.Values) *httptest.ResponseRecorder {
	if q != nil {
		path += "?" + q.Encode()
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

const base = "/api/explore/v2.1/catalog/datasets"

type recordsReply struct {
	TotalCount int64            `json:"total_count"`
	Results    []map[string]any `json:"results"`
}

func TestExploreAPIContract(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := exploreServer(t, d.URL(t))

			// Catalog: only the public, exposed dataset.
			rec := get(h, base, nil)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
			var cat struct {
				TotalCount int `json:"total_count"`
				Results    []struct {
					DatasetID string `json:"dataset_id"`
					Metas     struct {
						Default map[string]any `json:"default"`
					} `json:"metas"`
					Fields []map[string]string `json:"fields"`
				} `json:"results"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &cat))
			require.Equal(t, 1, cat.TotalCount)
			require.Equal(t, "travaux", cat.Results[0].DatasetID)
			require.Equal(t, "Travaux travaux", cat.Results[0].Metas.Default["title"])
			require.EqualValues(t, len(exploreRows), cat.Results[0].Metas.Default["records_count"])
			require.Equal(t, "etalab-2.0", cat.Results[0].Metas.Default["license"])
			require.Equal(t, []map[string]string{{"name": "id", "label": "id", "type": "text"}, {"name": "commune", "label": "commune", "type": "text"},
				{"name": "montant", "label": "montant", "type": "double"}, {"name": "nb", "label": "nb", "type": "int"}, {"name": "date", "label": "date", "type": "date"}}, cat.Results[0].Fields)
			require.Equal(t, 200, get(h, base+"/travaux", nil).Code)
			// Other schemes are ignored; an API key must be valid (the gateway, internal/apigw).
			for cred, want := range map[string]int{"Apikey 0123456789abcdef": 401, "Bearer not-a-token": 200} {
				req := httptest.NewRequest(http.MethodGet, base+"/travaux/records", nil)
				req.Header.Set("Authorization", cred)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, want, rec.Code, "%s: %s", cred, rec.Body.String())
			}

			// Private, unexposed and unknown datasets: 404 everywhere.
			for _, id := range []string{"secret", "vide", "inconnu", "..%2F..", "x"} {
				for _, p := range []string{"", "/records", "/exports/csv", "/exports/json"} {
					rec := get(h, base+"/"+id+p, nil)
					require.Equal(t, 404, rec.Code, "%s%s: %s", id, p, rec.Body.String())
					require.Contains(t, rec.Body.String(), `"error_code"`)
					require.NotContains(t, rec.Body.String(), "r001")
				}
			}

			records := func(q url.Values) recordsReply {
				t.Helper()
				rec := get(h, base+"/travaux/records", q)
				require.Equal(t, 200, rec.Code, "%v: %s", q, rec.Body.String())
				var r recordsReply
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r))
				return r
			}

			// Default limit 10, file order.
			r := records(nil)
			require.EqualValues(t, len(exploreRows), r.TotalCount)
			require.Len(t, r.Results, 10)
			require.Equal(t, "r001", r.Results[0]["id"])

			// A table of queries; the expected ids come from the source rows.
			for _, tc := range []struct {
				where, order string
				keep         func(exploreSrc) bool
				less         func(a, b exploreSrc) int
			}{
				{`commune = "Lyon" and montant >= 500`, "", func(r exploreSrc) bool { return r.Commune == "Lyon" && r.Montant >= 500 }, nil},
				{`commune in ("Bron", 'Vénissieux') and not nb = 0`, "", func(r exploreSrc) bool { return (r.Commune == "Bron" || r.Commune == "Vénissieux") && r.Nb != 0 }, nil},
				{`commune like "V*" or date < date'2024-01-05'`, "", func(r exploreSrc) bool { return strings.HasPrefix(r.Commune, "V") || r.Date < "2024-01-05" }, nil},
				{`nb = 3`, "montant desc, id", func(r exploreSrc) bool { return r.Nb == 3 }, func(a, b exploreSrc) int {
					if a.Montant != b.Montant {
						if a.Montant > b.Montant {
							return -1
						}
						return 1
					}
					return strings.Compare(a.ID, b.ID)
				}},
				{`search("caluire")`, "commune, id desc", func(r exploreSrc) bool { return r.Commune == "Caluire-et-Cuire" }, func(a, b exploreSrc) int { return -strings.Compare(a.ID, b.ID) }},
			} {
				var want []string
				var kept []exploreSrc
				for _, row := range exploreRows {
					if tc.keep(row) {
						kept = append(kept, row)
					}
				}
				if tc.less != nil {
					slices.SortStableFunc(kept, tc.less)
				}
				for _, row := range kept {
					want = append(want, row.ID)
				}
				var got []string
				total := int64(-1)
				for off := 0; off < len(want)+100; off += 100 {
					r := records(url.Values{"where": {tc.where}, "order_by": {tc.order}, "select": {"id"}, "limit": {"100"}, "offset": {fmt.Sprint(off)}})
					total = r.TotalCount
					for _, res := range r.Results {
						got = append(got, res["id"].(string))
					}
				}
				require.EqualValues(t, len(want), total, tc.where)
				require.Equal(t, want, got, tc.where)
			}

			// Aggregates with group_by, keys in select order.
			rec = get(h, base+"/travaux/records", url.Values{"select": {"commune as c, count(*) as n, sum(nb) as s"}, "group_by": {"commune"}, "order_by": {"c"}})
			require.Equal(t, 200, rec.Code, rec.Body.String())
			require.True(t, strings.HasPrefix(rec.Body.String(), `{"total_count":5,"results":[{"c":"Bron","n":50,"s":`), rec.Body.String())
			var agg recordsReply
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &agg))
			sums := map[string]int64{}
			for _, row := range exploreRows {
				sums[row.Commune] += row.Nb
			}
			for _, g := range agg.Results {
				require.EqualValues(t, sums[g["c"].(string)], g["s"], g["c"])
			}

			// Limits at their bounds.
			require.Len(t, records(url.Values{"limit": {"100"}}).Results, 100)
			require.Len(t, records(url.Values{"limit": {"0"}}).Results, 0)
			require.Len(t, records(url.Values{"limit": {"100"}, "offset": {"9900"}}).Results, 0)
			require.Len(t, records(url.Values{"limit": {"10"}, "offset": {"245"}}).Results, 5)
			// With group_by, up to 20,000 groups.
			require.Len(t, records(url.Values{"group_by": {"id"}, "limit": {"20000"}}).Results, len(exploreRows))
			require.Len(t, records(url.Values{"group_by": {"id"}, "limit": {"1000"}, "offset": {"19000"}}).Results, 0)
			for _, q := range []url.Values{{"group_by": {"id"}, "limit": {"20001"}}, {"group_by": {"id"}, "limit": {"1000"}, "offset": {"19001"}}} {
				require.Equal(t, 400, get(h, base+"/travaux/records", q).Code, q)
			}
			require.Len(t, records(url.Values{"refine": {"commune:Lyon"}, "exclude": {"nb:0"}, "limit": {"100"}}).Results, func() int {
				n := 0
				for _, r := range exploreRows {
					if r.Commune == "Lyon" && r.Nb != 0 {
						n++
					}
				}
				return n
			}())

			// Mistakes and injection attempts: 400 in ODS's shape, never 500 nor data.
			for _, q := range []url.Values{
				{"limit": {"101"}},
				{"limit": {"-1"}},
				{"limit": {"abc"}},
				{"limit": {"100"}, "offset": {"9901"}},
				{"offset": {"-5"}},
				{"where": {`1=1; DROP TABLE datasets`}},
				{"where": {`commune = "Lyon"; DROP TABLE datasets --`}},
				{"where": {`commune = 'Lyon' OR '1'='1'`}},
				{"where": {`commune = "a\`}},
				{"where": {`montant = "1000"`}},
				{"where": {`id = 1 UNION SELECT * FROM users`}},
				{"where": {strings.Repeat("(", 5000) + "nb = 1" + strings.Repeat(")", 5000)}},
				{"where": {strings.Repeat("nb = 1 and ", 20000) + "nb = 1"}},
				{"where": {strings.Repeat("not ", 1000) + "nb = 1"}},
				{"select": {`id, (SELECT password FROM users)`}},
				{"select": {"`id` FROM users --"}},
				{"order_by": {`id; DROP TABLE users`}},
				{"order_by": {`password_hash`}},
				{"group_by": {`1`}},
				{"refine": {`nope:1`}},
				{"refine": {`montant:abc`}},
				{"refine": {`noval`}},
				{"refine": {"commune:a\x00b"}},
				{"refine": {"commune:\xff"}},
				{"refine": {"date:0000-01-01"}},
				{"where": {"commune = \"a\x00b\""}},
				{"where": {"commune = \"\xff\""}},
				{"where": {`date = date'0000-01-01'`}},
				{"where": {`date > "2024-02-30"`}},
				{"where": {`nb > 1e999`}},
			} {
				rec := get(h, base+"/travaux/records", q)
				require.Equal(t, 400, rec.Code, "%v: %s", q, rec.Body.String())
				var e map[string]string
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
				require.Contains(t, []string{"ODSQLError", "InvalidRESTParameterError"}, e["error_code"])
				require.NotEmpty(t, e["message"])
				require.NotContains(t, rec.Body.String(), "r001")
			}
			rec = get(h, base+"/travaux/records", url.Values{"where": {`commune = "Lyon" and`}})
			require.JSONEq(t, `{"error_code":"ODSQLError","message":"ODSQL query is malformed: unexpected end of query (where, position 21)"}`, rec.Body.String())
			// The tables are intact.
			require.EqualValues(t, len(exploreRows), records(nil).TotalCount)

			// Validators: the same request on the same release is answered 304.
			for _, p := range []string{"", "/records?where=nb%3D1", "/exports/csv", "/exports/json", "/facets"} {
				rec := get(h, base+"/travaux"+p, nil)
				require.Equal(t, 200, rec.Code, p)
				etag := rec.Header().Get("ETag")
				require.NotEmpty(t, etag, p)
				require.NotEmpty(t, rec.Header().Get("Last-Modified"), p)
				require.Equal(t, "public, no-cache", rec.Header().Get("Cache-Control"), p)
				req := httptest.NewRequest(http.MethodGet, base+"/travaux"+p, nil)
				req.Header.Set("If-None-Match", `"other", `+etag)
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, http.StatusNotModified, rec.Code, p)
				require.Empty(t, rec.Body.String(), p)
			}
			a := get(h, base+"/travaux/records?where=nb%3D1", nil).Header().Get("ETag")
			b := get(h, base+"/travaux/records?where=nb%3D2", nil).Header().Get("ETag")
			require.NotEqual(t, a, b)
			require.Empty(t, get(h, base+"/travaux/records?where=nb%3D", nil).Header().Get("ETag"), "errors carry no validator")

			// Facets: the values of a field among the rows kept, most frequent first.
			rec = get(h, base+"/travaux/facets", url.Values{"facet": {"commune", "nb"}, "where": {"montant > 500"}, "exclude": {"commune:Bron"}})
			require.Equal(t, 200, rec.Code, rec.Body.String())
			var fr struct {
				Facets []struct {
					Name   string `json:"name"`
					Facets []struct {
						Value string `json:"value"`
						Count int64  `json:"count"`
					} `json:"facets"`
				} `json:"facets"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &fr))
			require.Len(t, fr.Facets, 2)
			for _, f := range fr.Facets {
				want := map[string]int64{}
				for _, r := range exploreRows {
					if r.Montant > 500 && r.Commune != "Bron" {
						want[map[string]string{"commune": r.Commune, "nb": fmt.Sprint(r.Nb)}[f.Name]]++
					}
				}
				got := map[string]int64{}
				for i, v := range f.Facets {
					got[v.Value] = v.Count
					if i > 0 {
						require.LessOrEqual(t, v.Count, f.Facets[i-1].Count)
					}
				}
				require.Equal(t, want, got, f.Name)
			}
			rec = get(h, base+"/travaux/facets", nil)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `{"name":"id","facets":[`)
			for _, q := range []url.Values{{"facet": {"nope"}}, {"where": {"nb = 'x'"}}, {"select": {"id"}}} {
				require.Equal(t, 400, get(h, base+"/travaux/facets", q).Code, q)
			}
			require.Equal(t, 404, get(h, base+"/secret/facets", nil).Code)

			// Exports stream every row: CSV with ; and a BOM, JSON as an array.
			rec = get(h, base+"/travaux/exports/csv", nil)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			body := rec.Body.String()
			require.True(t, strings.HasPrefix(body, "\uFEFFid;commune;montant;nb;date\n"), body[:40])
			lines := strings.Split(strings.TrimSpace(body), "\n")
			require.Len(t, lines, len(exploreRows)+1)
			first := exploreRows[0]
			require.Equal(t, fmt.Sprintf("%s;%s;%g;%d;%s", first.ID, first.Commune, first.Montant, first.Nb, first.Date), lines[1])
			rec = get(h, base+"/travaux/exports/csv", url.Values{"delimiter": {","}, "with_bom": {"false"}, "where": {`commune = "Bron"`}, "select": {"id"}})
			require.Equal(t, 200, rec.Code)
			require.True(t, strings.HasPrefix(rec.Body.String(), "id\nr001\nr006\n"), rec.Body.String())
			rec = get(h, base+"/travaux/exports/json", url.Values{"where": {`nb = 6`}})
			require.Equal(t, 200, rec.Code)
			var exported []map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &exported))
			n := 0
			for _, r := range exploreRows {
				if r.Nb == 6 {
					n++
				}
			}
			require.Len(t, exported, n)
			require.Equal(t, 400, get(h, base+"/travaux/exports/json", url.Values{"where": {"nope = 1"}}).Code)
			require.Equal(t, 400, get(h, base+"/travaux/exports/csv", url.Values{"delimiter": {"x"}}).Code)
		})
	}
}
