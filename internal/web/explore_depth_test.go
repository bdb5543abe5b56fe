package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// TestExploreRecordByID: GET …/records/{record_id} answers the record with
// its _id (the row digest), in the field order; unknown ids, private
// datasets and hostile ids answer 404 in Opendatasoft's shape.
func TestExploreRecordByID(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := exploreServer(t, d.URL(t))
			src := exploreRows[41]
			rec := get(h, base+"/travaux/records/"+src.ID, nil) // the fixture's hashes are the ids
			require.Equal(t, 200, rec.Code, rec.Body.String())
			require.JSONEq(t, `{"_id":"`+src.ID+`","id":"`+src.ID+`","commune":"`+src.Commune+`","montant":`+jsonNum(src.Montant)+`,"nb":`+jsonNum(float64(src.Nb))+`,"date":"`+src.Date+`"}`, rec.Body.String())
			require.NotEmpty(t, rec.Header().Get("ETag"))

			// _id is selectable and filterable in records.
			rec = get(h, base+"/travaux/records", url.Values{"select": {"_id, commune"}, "where": {`_id = "` + src.ID + `"`}})
			require.Equal(t, 200, rec.Code, rec.Body.String())
			var r recordsReply
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r))
			require.Equal(t, []map[string]any{{"_id": src.ID, "commune": src.Commune}}, r.Results)
			// …but is not part of the default fields.
			rec = get(h, base+"/travaux/records", url.Values{"limit": {"1"}})
			require.NotContains(t, rec.Body.String(), `"_id"`)

			for _, id := range []string{"nope", "r001'%20OR%20'1'='1", "%00", "r001%3B%20DROP%20TABLE%20users"} {
				rec := get(h, base+"/travaux/records/"+id, nil)
				require.Equal(t, 404, rec.Code, id)
				require.JSONEq(t, `{"error_code":"NoSuchRecord","message":"Unknown record: `+mustUnescape(t, id)+`"}`, rec.Body.String())
			}
			rec = get(h, base+"/travaux/records/"+strings.Repeat("a", 300), nil)
			require.Equal(t, 404, rec.Code)
			for _, ds := range []string{"secret", "vide", "inconnu"} {
				rec := get(h, base+"/"+ds+"/records/r001", nil)
				require.Equal(t, 404, rec.Code, ds)
				require.Contains(t, rec.Body.String(), `"NoSuchDataset"`)
				require.NotContains(t, rec.Body.String(), "Lyon")
			}
		})
	}
}

func jsonNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func mustUnescape(t *testing.T, s string) string {
	u, err := url.PathUnescape(s)
	require.NoError(t, err)
	b, _ := json.Marshal(u)
	return string(b[1 : len(b)-1])
}

// treeSrc is the source of the geo/date fixture; expected answers are
// computed from it in Go.
type treeSrc struct {
	ID, Espece string
	Hauteur    float64
	Plante     time.Time // date
	Vu         time.Time // timestamp (UTC)
	Lon, Lat   float64
	NoGeo      bool
}

var treeRows = func() []treeSrc {
	especes := []string{"Platane commun", "Tilleul argenté", "Chêne pédonculé", "Érable plane", "Marronnier d'Inde"}
	var out []treeSrc
	for i := 1; i <= 300; i++ {
		out = append(out, treeSrc{
			ID:      fmt.Sprintf("a%03d", i),
			Espece:  especes[i%len(especes)],
			Hauteur: float64(i%40) + 0.25,
			Plante:  time.Date(1990+i%30, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC),
			Vu:      time.Date(2024, time.Month(1+i%12), 1+i%28, i%24, (i*7)%60, (i*13)%60, 0, time.UTC),
			// Around Lyon (4.83, 45.76): a grid of ~0.002° steps.
			Lon:   4.80 + float64(i%20)*0.004,
			Lat:   45.74 + float64(i/20)*0.003,
			NoGeo: i%50 == 0,
		})
	}
	return out
}()

// treeServer serves the fixture of exploreServer plus the public dataset
// "arbres" (text, number, date, datetime and geopoint fields).
func treeServer(t *testing.T, dbURL string) http.Handler {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, dbURL)
	require.NoError(t, auth.SeedDemo(ctx, st, "demo"))
	cols := []store.ReleaseColumn{{Field: "id", Kind: store.KindText}, {Field: "espece", Kind: store.KindText},
		{Field: "hauteur", Kind: store.KindNumeric}, {Field: "plante", Kind: store.KindDate}, {Field: "vu", Kind: store.KindTimestamp},
		{Field: "geo", Kind: store.KindGeopoint}}
	require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
	i := 0
	_, _, err := st.CreateRelease(ctx, store.NewRelease{DatasetID: "arbres", Key: "arbres", NormalizedSHA: "x", Columns: cols, PrimaryKey: []string{"id"}},
		func() (store.ReleaseRow, error) {
			if i == len(treeRows) {
				return store.ReleaseRow{}, io.EOF
			}
			r := treeRows[i]
			i++
			var geo any = store.GeoPoint{Lon: r.Lon, Lat: r.Lat}
			if r.NoGeo {
				geo = nil
			}
			return store.ReleaseRow{Values: []any{r.ID, r.Espece, r.Hauteur, r.Plante, r.Vu, geo}, Key: r.ID, Hash: "h" + r.ID}, nil
		})
	require.NoError(t, err)
	require.NoError(t, st.ExposeRelease(ctx, "arbres", 1))
	require.NoError(t, st.SetDatasetVisibility(ctx, "arbres", store.VisibilityPublic))
	// A dataset without a geopoint.
	require.NoError(t, st.CreateDataset(ctx, &store.Dataset{ID: "sansgeo", Title: "Sans géo", Department: "voirie"}))
	done := false
	_, _, err = st.CreateRelease(ctx, store.NewRelease{DatasetID: "sansgeo", Key: "sansgeo", NormalizedSHA: "y", Columns: cols[:2]},
		func() (store.ReleaseRow, error) {
			if done {
				return store.ReleaseRow{}, io.EOF
			}
			done = true
			return store.ReleaseRow{Values: []any{"x", "y"}, Hash: "z"}, nil
		})
	require.NoError(t, err)
	require.NoError(t, st.ExposeRelease(ctx, "sansgeo", 1))
	require.NoError(t, st.SetDatasetVisibility(ctx, "sansgeo", store.VisibilityPublic))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return srv.Handler()
}

func treeIDs(keep func(treeSrc) bool) []string {
	out := []string{}
	for _, r := range treeRows {
		if keep(r) {
			out = append(out, r.ID)
		}
	}
	return out
}

// TestExploreExportsMore: jsonl, geojson, xlsx and parquet exports honour
// select/where/order_by/refine and hold the values of the source.
func TestExploreExportsMore(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := treeServer(t, d.URL(t))
			const arbres = base + "/arbres"
			q := url.Values{"where": {`hauteur >= 30`}, "refine": {"espece:Tilleul argenté"}, "order_by": {"id desc"}}
			want := treeIDs(func(r treeSrc) bool { return r.Hauteur >= 30 && r.Espece == "Tilleul argenté" })
			slices.Reverse(want)
			require.NotEmpty(t, want)
			byID := map[string]treeSrc{}
			for _, r := range treeRows {
				byID[r.ID] = r
			}

			// jsonl: one object per line.
			rec := get(h, arbres+"/exports/jsonl", q)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			lines := strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n")
			require.Len(t, lines, len(want))
			for i, l := range lines {
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(l), &m), l)
				src := byID[want[i]]
				require.Equal(t, src.ID, m["id"])
				require.Equal(t, src.Hauteur, m["hauteur"])
				require.Equal(t, src.Plante.Format(time.DateOnly), m["plante"])
				if src.NoGeo {
					require.Nil(t, m["geo"])
				} else {
					require.Equal(t, map[string]any{"lon": src.Lon, "lat": src.Lat}, m["geo"])
				}
			}

			// geojson: Point features, [lon, lat], the other fields as properties.
			rec = get(h, arbres+"/exports/geojson", q)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			require.Equal(t, "application/geo+json", rec.Header().Get("Content-Type"))
			var fc struct {
				Type     string `json:"type"`
				Features []struct {
					Type     string `json:"type"`
					Geometry *struct {
						Type        string    `json:"type"`
						Coordinates []float64 `json:"coordinates"`
					} `json:"geometry"`
					Properties map[string]any `json:"properties"`
				} `json:"features"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &fc))
			require.Equal(t, "FeatureCollection", fc.Type)
			require.Len(t, fc.Features, len(want))
			for i, f := range fc.Features {
				src := byID[want[i]]
				require.Equal(t, src.ID, f.Properties["id"])
				require.NotContains(t, f.Properties, "geo")
				if src.NoGeo {
					require.Nil(t, f.Geometry)
					continue
				}
				require.Equal(t, "Point", f.Geometry.Type)
				require.Equal(t, []float64{src.Lon, src.Lat}, f.Geometry.Coordinates)
			}
			// No geopoint in the selection or the dataset: a clear 400.
			rec = get(h, arbres+"/exports/geojson", url.Values{"select": {"id"}})
			require.Equal(t, 400, rec.Code)
			require.Contains(t, rec.Body.String(), "geo_point_2d")
			rec = get(h, base+"/sansgeo/exports/geojson", nil)
			require.Equal(t, 400, rec.Code)
			require.Contains(t, rec.Body.String(), `"InvalidRESTParameterError"`)

			// xlsx: the header then the rows, numbers as numbers.
			rec = get(h, arbres+"/exports/xlsx", url.Values{"select": {"id, hauteur, geo"}, "where": q["where"], "refine": q["refine"], "order_by": q["order_by"]})
			require.Equal(t, 200, rec.Code, rec.Body.String())
			xf, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
			require.NoError(t, err)
			xrows, err := xf.GetRows("data")
			require.NoError(t, err)
			require.Len(t, xrows, len(want)+1)
			require.Equal(t, []string{"id", "hauteur", "geo"}, xrows[0])
			for i, r := range xrows[1:] {
				src := byID[want[i]]
				require.Equal(t, src.ID, r[0])
				require.Equal(t, strconv.FormatFloat(src.Hauteur, 'f', -1, 64), r[1])
				if !src.NoGeo {
					require.Equal(t, fmt.Sprintf("%v, %v", src.Lat, src.Lon), r[2])
				}
			}
			typ, err := xf.GetCellType("data", "B2")
			require.NoError(t, err)
			require.NotEqual(t, excelize.CellTypeSharedString, typ)
			require.NotEqual(t, excelize.CellTypeInlineString, typ)
			xf.Close()

			// parquet: typed columns, the same rows.
			rec = get(h, arbres+"/exports/parquet", q)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			pf, err := parquet.OpenFile(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
			require.NoError(t, err)
			require.EqualValues(t, len(want), pf.NumRows())
			types := map[string]string{}
			for _, f := range pf.Schema().Fields() {
				types[f.Name()] = f.Type().String()
			}
			require.Equal(t, "DOUBLE", types["hauteur"])
			require.Equal(t, "DATE", types["plante"])
			require.Contains(t, types["vu"], "TIMESTAMP")
			pr := parquet.NewGenericReader[treeParquet](pf)
			got := make([]treeParquet, len(want))
			n, err := pr.Read(got)
			if err != io.EOF {
				require.NoError(t, err)
			}
			require.Equal(t, len(want), n)
			for i, g := range got {
				src := byID[want[i]]
				require.Equal(t, src.ID, *g.ID)
				require.Equal(t, src.Hauteur, *g.Hauteur)
				require.Equal(t, src.Plante, g.Plante.UTC())
				require.Equal(t, src.Vu, g.Vu.UTC())
			}

			// Mistakes answer 400 before any byte of the file.
			for _, f := range []string{"jsonl", "geojson", "xlsx", "parquet"} {
				rec := get(h, arbres+"/exports/"+f, url.Values{"where": {"nope = 1"}})
				require.Equal(t, 400, rec.Code, f)
				require.Contains(t, rec.Body.String(), `"ODSQLError"`, f)
				require.Equal(t, 404, get(h, base+"/secret/exports/"+f, nil).Code, f)
			}
		})
	}
}

type treeParquet struct {
	ID      *string   `parquet:"id,optional"`
	Hauteur *float64  `parquet:"hauteur,optional"`
	Plante  time.Time `parquet:"plante,optional,date"`
	Vu      time.Time `parquet:"vu,optional,timestamp(microsecond)"`
}

// TestExploreLangTimezone: lang is validated; timezone renders datetimes
// in the zone asked (records, one record, exports), and is validated.
func TestExploreLangTimezone(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := treeServer(t, d.URL(t))
			const arbres = base + "/arbres"
			src := treeRows[6]
			paris, err := time.LoadLocation("Europe/Paris")
			require.NoError(t, err)
			for _, tc := range []struct {
				tz   string
				want string
			}{
				{"", src.Vu.UTC().Format(time.RFC3339Nano)},
				{"UTC", src.Vu.UTC().Format(time.RFC3339Nano)},
				{"Europe/Paris", src.Vu.In(paris).Format(time.RFC3339Nano)},
				{"America/Guadeloupe", src.Vu.In(time.FixedZone("", -4*3600)).Format(time.RFC3339Nano)},
			} {
				q := url.Values{"select": {"id, vu"}, "where": {`id = "` + src.ID + `"`}, "lang": {"fr"}}
				if tc.tz != "" {
					q.Set("timezone", tc.tz)
				}
				rec := get(h, arbres+"/records", q)
				require.Equal(t, 200, rec.Code, rec.Body.String())
				require.JSONEq(t, `{"total_count":1,"results":[{"id":"`+src.ID+`","vu":"`+tc.want+`"}]}`, rec.Body.String(), tc.tz)
				one := get(h, arbres+"/records/h"+src.ID, url.Values{"timezone": {tc.tz}})
				require.Equal(t, 200, one.Code, one.Body.String())
				require.Contains(t, one.Body.String(), `"vu":"`+tc.want+`"`)
				csv := get(h, arbres+"/exports/csv", q)
				require.Equal(t, 200, csv.Code)
				require.Contains(t, csv.Body.String(), src.ID+";"+tc.want)
			}
			require.Equal(t, 200, get(h, arbres+"/records", url.Values{"lang": {"en"}}).Code)
			require.Equal(t, 200, get(h, base, url.Values{"lang": {"de"}, "timezone": {"Europe/Paris"}}).Code)
			for _, q := range []url.Values{
				{"lang": {"xx"}}, {"lang": {"fr-FR; DROP"}},
				{"timezone": {"Mars/Olympus"}}, {"timezone": {"../../../etc/passwd"}}, {"timezone": {"Local"}},
				{"timezone": {"/etc/localtime"}}, {"timezone": {strings.Repeat("A", 5000)}}, {"timezone": {"Europe/Paris\x00"}},
			} {
				for _, p := range []string{"/records", "/exports/csv", "/records/ha001"} {
					rec := get(h, arbres+p, q)
					require.Equal(t, 400, rec.Code, "%s %v: %s", p, q, rec.Body.String())
					require.Contains(t, rec.Body.String(), `"InvalidRESTParameterError"`)
				}
				require.Equal(t, 400, get(h, base, q).Code, q)
			}
		})
	}
}
