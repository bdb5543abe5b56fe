package web_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store/storetest"
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
