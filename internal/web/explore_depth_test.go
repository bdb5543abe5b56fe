package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
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
			recID := src.ID + "0000002a" // the fixture's digest (its id), then the row number 42 in hex
			rec := get(h, base+"/travaux/records/"+recID, nil)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			require.JSONEq(t, `{"_id":"`+recID+`","id":"`+src.ID+`","commune":"`+src.Commune+`","montant":`+jsonNum(src.Montant)+`,"nb":`+jsonNum(float64(src.Nb))+`,"date":"`+src.Date+`"}`, rec.Body.String())
			require.NotEmpty(t, rec.Header().Get("ETag"))

			// _id is selectable and filterable in records.
			rec = get(h, base+"/travaux/records", url.Values{"select": {"_id, commune"}, "where": {`_id = "` + recID + `"`}})
			require.Equal(t, 200, rec.Code, rec.Body.String())
			var r recordsReply
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r))
			require.Equal(t, []map[string]any{{"_id": recID, "commune": src.Commune}}, r.Results)
			// Every id of the selection answers its own record.
			rec = get(h, base+"/travaux/records", url.Values{"select": {"_id, id"}, "where": {`commune = "Bron"`}, "limit": {"5"}})
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r))
			require.Len(t, r.Results, 5)
			for _, x := range r.Results {
				one := get(h, base+"/travaux/records/"+x["_id"].(string), nil)
				require.Equal(t, 200, one.Code)
				require.Contains(t, one.Body.String(), `"id":"`+x["id"].(string)+`"`)
			}
			// A digest with another row number (an id of another release) is unknown.
			require.Equal(t, 404, get(h, base+"/travaux/records/"+src.ID+"0000002b", nil).Code)
			require.Equal(t, 400, get(h, base+"/travaux/records", url.Values{"where": {`_id > "x"`}}).Code)
			// …but is not part of the default fields.
			rec = get(h, base+"/travaux/records", url.Values{"limit": {"1"}})
			require.NotContains(t, rec.Body.String(), `"_id"`)

			for _, id := range []string{"nope", "r001'%20OR%20'1'='1", "%00", "r001%3B%20DROP%20TABLE%20users", "r0010000000A", "r001ffffffff", "zzzzzzzzz"} {
				rec := get(h, base+"/travaux/records/"+id, nil)
				require.Equal(t, 404, rec.Code, id)
				require.JSONEq(t, `{"error_code":"NoSuchRecord","message":"Unknown record: `+mustUnescape(t, id)+`"}`, rec.Body.String())
			}
			rec = get(h, base+"/travaux/records/"+strings.Repeat("a", 300), nil)
			require.Equal(t, 404, rec.Code)
			for _, ds := range []string{"secret", "vide", "inconnu"} {
				rec := get(h, base+"/"+ds+"/records/r00100000001", nil)
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
				one := get(h, arbres+"/records/h"+src.ID+"00000007", url.Values{"timezone": {tc.tz}})
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
				for _, p := range []string{"/records", "/exports/csv", "/records/ha00100000001"} {
					rec := get(h, arbres+p, q)
					require.Equal(t, 400, rec.Code, "%s %v: %s", p, q, rec.Body.String())
					require.Contains(t, rec.Body.String(), `"InvalidRESTParameterError"`)
				}
				require.Equal(t, 400, get(h, base, q).Code, q)
			}
		})
	}
}

// haversine is the great-circle distance in meters (mean Earth radius).
func haversine(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6371008.8
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// TestExploreDateAndGeoFunctions: year()…second(), date comparisons,
// within_distance and in_bbox, against answers computed from the source
// rows in Go (great-circle distances for within_distance).
func TestExploreDateAndGeoFunctions(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := treeServer(t, d.URL(t))
			all := func(q url.Values) []string {
				t.Helper()
				q.Set("select", "id")
				q.Set("limit", "100")
				var ids []string
				for off := 0; off < len(treeRows); off += 100 {
					q.Set("offset", strconv.Itoa(off))
					rec := get(h, base+"/arbres/records", q)
					require.Equal(t, 200, rec.Code, "%v: %s", q, rec.Body.String())
					var r recordsReply
					require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r))
					for _, x := range r.Results {
						ids = append(ids, x["id"].(string))
					}
				}
				if ids == nil {
					ids = []string{}
				}
				return ids
			}
			for _, tc := range []struct {
				where string
				keep  func(treeSrc) bool
			}{
				{`year(plante) = 2005`, func(r treeSrc) bool { return r.Plante.Year() == 2005 }},
				{`month(plante) >= 10 and day(plante) < 5`, func(r treeSrc) bool { return r.Plante.Month() >= 10 && r.Plante.Day() < 5 }},
				{`hour(vu) = 7 or minute(vu) = 14`, func(r treeSrc) bool { return r.Vu.Hour() == 7 || r.Vu.Minute() == 14 }},
				{`second(vu) > 50 and year(vu) = 2024 and month(vu) = 3`, func(r treeSrc) bool { return r.Vu.Second() > 50 && r.Vu.Month() == 3 }},
				{`hour(plante) = 0`, func(r treeSrc) bool { return true }},
				{`plante >= date'2010-06-01' and plante < date'2012-01-01'`, func(r treeSrc) bool {
					return !r.Plante.Before(time.Date(2010, 6, 1, 0, 0, 0, 0, time.UTC)) && r.Plante.Before(time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC))
				}},
				{`vu > date'2024-06-15T12:00:00+02:00'`, func(r treeSrc) bool { return r.Vu.After(time.Date(2024, 6, 15, 10, 0, 0, 0, time.UTC)) }},
				{`vu <= "2024-02-10"`, func(r treeSrc) bool { return !r.Vu.After(time.Date(2024, 2, 10, 0, 0, 0, 0, time.UTC)) }},
				{`in_bbox(geo, 45.76, 4.85, 45.745, 4.82)`, func(r treeSrc) bool {
					return !r.NoGeo && r.Lat >= 45.745 && r.Lat <= 45.76 && r.Lon >= 4.82 && r.Lon <= 4.85
				}},
				{`not in_bbox(geo, 45.76, 4.85, 45.745, 4.82) and geo is not null`, func(r treeSrc) bool {
					return !r.NoGeo && !(r.Lat >= 45.745 && r.Lat <= 45.76 && r.Lon >= 4.82 && r.Lon <= 4.85)
				}},
				{`geo is null`, func(r treeSrc) bool { return r.NoGeo }},
			} {
				want := treeIDs(tc.keep)
				require.Equal(t, want, all(url.Values{"where": {tc.where}}), tc.where)
			}
			// within_distance: every point well inside the circle is kept,
			// none well outside (the boundary is approximated within 0.5 %).
			for _, c := range []struct {
				lon, lat, m float64
				arg         string
			}{{4.84, 45.76, 1500, "1.5km"}, {4.80, 45.74, 800, "800m"}, {4.86, 45.78, 2000, "2000"}, {4.83, 45.75, 1609.344, "1mi"}} {
				where := fmt.Sprintf(`within_distance(geo, geom'POINT(%v %v)', %s)`, c.lon, c.lat, c.arg)
				got := map[string]bool{}
				for _, id := range all(url.Values{"where": {where}}) {
					got[id] = true
				}
				inside := 0
				for _, r := range treeRows {
					if r.NoGeo {
						require.False(t, got[r.ID], where)
						continue
					}
					dist := haversine(c.lon, c.lat, r.Lon, r.Lat)
					if dist < c.m*0.995 {
						require.True(t, got[r.ID], "%s: %s at %.0f m", where, r.ID, dist)
						inside++
					} else if dist > c.m*1.005 {
						require.False(t, got[r.ID], "%s: %s at %.0f m", where, r.ID, dist)
					}
				}
				require.Greater(t, inside, 5, where)
			}
			for _, where := range []string{
				`year(espece) = 2020`, `year(plante) = "2020"`, `year(plante) = 2020.5`, `year(nope) = 1`,
				`within_distance(hauteur, geom'POINT(0 0)', 1km)`, `in_bbox(espece, 1, 2, 3, 4)`, `geo = "4.8, 45.7"`,
				`within_distance(geo, geom'POINT(0 0)')`, `geo > 3`, `year(plante) in (2020)`,
			} {
				rec := get(h, base+"/arbres/records", url.Values{"where": {where}})
				require.Equal(t, 400, rec.Code, "%s: %s", where, rec.Body.String())
				require.Contains(t, rec.Body.String(), `"ODSQLError"`)
				require.Contains(t, rec.Body.String(), "position")
			}
		})
	}
}

// TestExploreCatalogPaging: the catalog's total and pages, whatever the
// page (the count is skipped when the page tells it).
func TestExploreCatalogPaging(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			h := treeServer(t, d.URL(t))
			for _, tc := range []struct {
				limit, offset string
				want          []string
			}{
				{"", "", []string{"arbres", "sansgeo"}},
				{"1", "0", []string{"arbres"}},
				{"1", "1", []string{"sansgeo"}},
				{"5", "1", []string{"sansgeo"}},
				{"1", "2", []string{}},
				{"10", "50", []string{}},
				{"0", "0", []string{}},
			} {
				q := url.Values{}
				if tc.limit != "" {
					q.Set("limit", tc.limit)
					q.Set("offset", tc.offset)
				}
				rec := get(h, base, q)
				require.Equal(t, 200, rec.Code, rec.Body.String())
				var cat struct {
					TotalCount int `json:"total_count"`
					Results    []struct {
						ID     string `json:"dataset_id"`
						Fields []struct {
							Name, Type string
						} `json:"fields"`
					} `json:"results"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &cat))
				require.Equal(t, 2, cat.TotalCount, q)
				got := []string{}
				for _, r := range cat.Results {
					got = append(got, r.ID)
					if r.ID == "arbres" {
						require.Equal(t, "geo_point_2d", r.Fields[5].Type)
					}
				}
				require.Equal(t, tc.want, got, q)
			}
			// Records: the total is right with and without the count.
			for _, q := range []url.Values{{"limit": {"7"}}, {"limit": {"100"}, "offset": {"250"}}, {"limit": {"100"}, "offset": {"300"}}, {"limit": {"0"}}, {"where": {"hauteur > 1000"}}} {
				rec := get(h, base+"/arbres/records", q)
				require.Equal(t, 200, rec.Code)
				var r recordsReply
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r))
				want := len(treeRows)
				if q.Get("where") != "" {
					want = 0
				}
				require.EqualValues(t, want, r.TotalCount, q)
			}
		})
	}
}
