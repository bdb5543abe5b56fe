package tableschema

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// fieldOf parses a one-field schema and returns the field.
func fieldOf(t *testing.T, desc string) Field {
	t.Helper()
	s, err := Parse([]byte(`{"fields":[` + desc + `]}`))
	require.NoError(t, err)
	return s.Fields[0]
}

// cellCase is one cell checked against one field descriptor.
type cellCase struct {
	desc  string
	cell  string
	ok    bool   // cast and constraints pass
	cerr  string // constraint expected to fail ("" = type error when !ok)
	value any    // expected logical value when ok (nil: not checked)
}

func runCells(t *testing.T, cases []cellCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.desc+"|"+tc.cell, func(t *testing.T) {
			f := fieldOf(t, tc.desc)
			if txt, ok := f.(textChecker); ok { // the unboxed path agrees with Cast+CheckValue
				cv, err := txt.checkText(tc.cell)
				v2, err2 := f.Cast(tc.cell)
				require.Equal(t, err2 != nil, err != nil, "checkText error %v", err)
				if err2 == nil {
					want := f.CheckValue(v2, tc.cell)
					require.Equal(t, want == nil, cv == nil)
					if want != nil {
						require.Equal(t, want.Constraint, cv.Constraint)
					}
				}
			}
			v, err := f.Cast(tc.cell)
			if !tc.ok && tc.cerr == "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), "« "+short(tc.cell)+" »")
				return
			}
			require.NoError(t, err)
			cv := f.CheckValue(v, tc.cell)
			if tc.ok {
				require.Nil(t, cv)
				if tc.value != nil {
					require.Equal(t, tc.value, v)
				}
				return
			}
			require.NotNil(t, cv)
			require.Equal(t, tc.cerr, cv.Constraint)
			require.NotEmpty(t, cv.Message)
		})
	}
}

func TestStringField(t *testing.T) {
	runCells(t, []cellCase{
		{desc: `{"name":"s","type":"string"}`, cell: "abc", ok: true, value: "abc"},
		{desc: `{"name":"s"}`, cell: "anything", ok: true, value: "anything"}, // no type = any
		{desc: `{"name":"s","type":"string","format":"email"}`, cell: "a.b@exemple.fr", ok: true},
		{desc: `{"name":"s","type":"string","format":"email"}`, cell: "pas un email"},
		{desc: `{"name":"s","type":"string","format":"email"}`, cell: "a@b"},
		{desc: `{"name":"s","type":"string","format":"uri"}`, cell: "https://www.exemple.fr/a?b=c", ok: true},
		{desc: `{"name":"s","type":"string","format":"uri"}`, cell: "mailto:a@b.fr", ok: true},
		{desc: `{"name":"s","type":"string","format":"uri"}`, cell: "www.exemple.fr"},
		{desc: `{"name":"s","type":"string","format":"uri"}`, cell: "https://a b.fr"},
		{desc: `{"name":"s","type":"string","format":"binary"}`, cell: "aGVsbG8=", ok: true},
		{desc: `{"name":"s","type":"string","format":"binary"}`, cell: "!!"},
		{desc: `{"name":"s","type":"string","format":"uuid"}`, cell: "65d5b6c7-102c-4440-ac3b-768f708edc0a", ok: true},
		{desc: `{"name":"s","type":"string","format":"uuid"}`, cell: "65d5b6c7-102c"},
		{desc: `{"name":"s","type":"string","constraints":{"minLength":3}}`, cell: "ab", cerr: "minLength"},
		{desc: `{"name":"s","type":"string","constraints":{"maxLength":3}}`, cell: "éèà", ok: true}, // runes, not bytes
		{desc: `{"name":"s","type":"string","constraints":{"maxLength":3}}`, cell: "abcd", cerr: "maxLength"},
		{desc: `{"name":"s","type":"string","constraints":{"pattern":"\\d{3}"}}`, cell: "123", ok: true},
		{desc: `{"name":"s","type":"string","constraints":{"pattern":"\\d{3}"}}`, cell: "1234", cerr: "pattern"}, // anchored
		{desc: `{"name":"s","type":"string","constraints":{"pattern":"a|b"}}`, cell: "ab", cerr: "pattern"},      // ^(?:a|b)$
		{desc: `{"name":"s","type":"string","constraints":{"pattern":"[\\u00C0-\\u00FF]+"}}`, cell: "éà", ok: true},
		{desc: `{"name":"s","type":"string","constraints":{"enum":["a","b"]}}`, cell: "b", ok: true},
		{desc: `{"name":"s","type":"string","constraints":{"enum":["a","b"]}}`, cell: "c", cerr: "enum"},
	})
}

func TestNumberField(t *testing.T) {
	runCells(t, []cellCase{
		{desc: `{"name":"n","type":"number"}`, cell: "47800.20", ok: true, value: 47800.2},
		{desc: `{"name":"n","type":"number"}`, cell: "-1.5e3", ok: true, value: -1500.0},
		{desc: `{"name":"n","type":"number"}`, cell: ".5", ok: true, value: 0.5},
		{desc: `{"name":"n","type":"number"}`, cell: "INF", ok: true, value: math.Inf(1)},
		{desc: `{"name":"n","type":"number"}`, cell: "-INF", ok: true, value: math.Inf(-1)},
		{desc: `{"name":"n","type":"number"}`, cell: "abc"},
		{desc: `{"name":"n","type":"number"}`, cell: "1,5"},
		{desc: `{"name":"n","type":"number"}`, cell: "0x10"},
		{desc: `{"name":"n","type":"number"}`, cell: "1_000"},
		{desc: `{"name":"n","type":"number"}`, cell: "40 000,00"},
		{desc: `{"name":"n","type":"number","decimalChar":",","groupChar":" "}`, cell: "40 000,50", ok: true, value: 40000.5},
		{desc: `{"name":"n","type":"number","decimalChar":",","groupChar":"\u00a0"}`, cell: "17\u00a0833", ok: true, value: 17833.0},
		{desc: `{"name":"n","type":"number","bareNumber":false}`, cell: "95 %", ok: true, value: 95.0},
		{desc: `{"name":"n","type":"number","bareNumber":false}`, cell: "€ 12.5", ok: true, value: 12.5},
		{desc: `{"name":"n","type":"number"}`, cell: "€12.5"},
		{desc: `{"name":"n","type":"number","constraints":{"minimum":0.01,"maximum":1}}`, cell: "1", ok: true},
		{desc: `{"name":"n","type":"number","constraints":{"minimum":0.01,"maximum":1}}`, cell: "100", cerr: "maximum"},
		{desc: `{"name":"n","type":"number","constraints":{"minimum":"0.01"}}`, cell: "0", cerr: "minimum"},
		{desc: `{"name":"n","type":"number","constraints":{"exclusiveMinimum":0}}`, cell: "0", cerr: "exclusiveMinimum"},
		{desc: `{"name":"n","type":"number","constraints":{"exclusiveMaximum":10}}`, cell: "10", cerr: "exclusiveMaximum"},
		{desc: `{"name":"n","type":"number","constraints":{"enum":[1.5,2]}}`, cell: "2.0", ok: true},
		{desc: `{"name":"n","type":"number","constraints":{"enum":[1.5,2]}}`, cell: "3", cerr: "enum"},
	})
	f := fieldOf(t, `{"name":"n","type":"number"}`)
	v, err := f.Cast("NaN")
	require.NoError(t, err)
	require.True(t, math.IsNaN(v.(float64)))
	_, err = f.Cast("1,5")
	require.ErrorContains(t, err, "La valeur « 1,5 » n'est pas un nombre décimal valide")
	require.ErrorContains(t, err, "point")
}

func TestIntegerField(t *testing.T) {
	runCells(t, []cellCase{
		{desc: `{"name":"i","type":"integer"}`, cell: "42", ok: true, value: int64(42)},
		{desc: `{"name":"i","type":"integer"}`, cell: "-7", ok: true, value: int64(-7)},
		{desc: `{"name":"i","type":"integer"}`, cell: "4.2"},
		{desc: `{"name":"i","type":"integer"}`, cell: "1 000"},
		{desc: `{"name":"i","type":"integer"}`, cell: "99999999999999999999"},
		{desc: `{"name":"i","type":"integer","groupChar":" "}`, cell: "1 000", ok: true, value: int64(1000)},
		{desc: `{"name":"i","type":"integer","bareNumber":false}`, cell: "12 places", ok: true, value: int64(12)},
		{desc: `{"name":"i","type":"integer","constraints":{"minimum":1,"maximum":999999}}`, cell: "0", cerr: "minimum"},
		{desc: `{"name":"i","type":"integer","constraints":{"minimum":1,"maximum":999999}}`, cell: "1000000", cerr: "maximum"},
		{desc: `{"name":"i","type":"integer","constraints":{"enum":[1,2]}}`, cell: "2", ok: true},
	})
}

func TestBooleanField(t *testing.T) {
	runCells(t, []cellCase{
		{desc: `{"name":"b","type":"boolean"}`, cell: "true", ok: true, value: true},
		{desc: `{"name":"b","type":"boolean"}`, cell: "0", ok: true, value: false},
		{desc: `{"name":"b","type":"boolean"}`, cell: "oui"},
		{desc: `{"name":"b","type":"boolean","trueValues":["oui"],"falseValues":["non"]}`, cell: "oui", ok: true, value: true},
		{desc: `{"name":"b","type":"boolean","trueValues":["oui"],"falseValues":["non"]}`, cell: "non", ok: true, value: false},
		{desc: `{"name":"b","type":"boolean","trueValues":["oui"],"falseValues":["non"]}`, cell: "true"},
		{desc: `{"name":"b","type":"boolean","trueValues":["oui"],"falseValues":["non"]}`, cell: "yes"},
		{desc: `{"name":"b","type":"boolean","constraints":{"enum":[true]}}`, cell: "false", cerr: "enum"},
	})
	_, err := Parse([]byte(`{"fields":[{"name":"b","type":"boolean","trueValues":["x"],"falseValues":["x"]}]}`))
	require.ErrorContains(t, err, `field "b"`)
}

func day(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

func TestDateTimeFields(t *testing.T) {
	runCells(t, []cellCase{
		{desc: `{"name":"d","type":"date"}`, cell: "2017-06-27", ok: true, value: day(2017, 6, 27)},
		{desc: `{"name":"d","type":"date"}`, cell: "2017-6-7", ok: true, value: day(2017, 6, 7)}, // like Python strptime
		{desc: `{"name":"d","type":"date"}`, cell: "2017-02-30"},
		{desc: `{"name":"d","type":"date"}`, cell: "05/12/2016"},
		{desc: `{"name":"d","type":"date"}`, cell: "2018/01/30"},
		{desc: `{"name":"d","type":"date","format":"%Y-%m-%d"}`, cell: "2019-06-25", ok: true},
		{desc: `{"name":"d","type":"date","format":"%Y-%m-%d"}`, cell: "24-06-2019"},
		{desc: `{"name":"d","type":"date","format":"%d/%m/%Y"}`, cell: "05/12/2016", ok: true, value: day(2016, 12, 5)},
		{desc: `{"name":"d","type":"date","format":"%d/%m/%Y"}`, cell: "5/3/2016", ok: true, value: day(2016, 3, 5)},
		{desc: `{"name":"d","type":"date","format":"fmt:%d/%m/%Y"}`, cell: "05/12/2016", ok: true},
		{desc: `{"name":"d","type":"date","format":"%d %B %Y"}`, cell: "5 march 2016", ok: true, value: day(2016, 3, 5)},
		{desc: `{"name":"d","type":"date","format":"%d/%m/%y"}`, cell: "05/12/16", ok: true, value: day(2016, 12, 5)},
		{desc: `{"name":"d","type":"date","format":"any"}`, cell: "05/12/2016", ok: true, value: day(2016, 12, 5)},
		{desc: `{"name":"d","type":"date","format":"any"}`, cell: "2016-12-05", ok: true},
		{desc: `{"name":"d","type":"date","format":"any"}`, cell: "hier"},
		{desc: `{"name":"d","type":"date","constraints":{"minimum":"2017-01-01"}}`, cell: "2016-12-31", cerr: "minimum"},
		{desc: `{"name":"d","type":"date","constraints":{"maximum":"2017-01-01"}}`, cell: "2016-12-31", ok: true},
		{desc: `{"name":"t","type":"time"}`, cell: "14:30:00", ok: true},
		{desc: `{"name":"t","type":"time"}`, cell: "14:30:00.250+02:00", ok: true},
		{desc: `{"name":"t","type":"time"}`, cell: "25:00:00"},
		{desc: `{"name":"t","type":"time","format":"%Hh%M"}`, cell: "14h30", ok: true},
		{desc: `{"name":"t","type":"time","format":"any"}`, cell: "2:30 PM", ok: true},
		{desc: `{"name":"dt","type":"datetime"}`, cell: "2017-03-14T12:00:00Z", ok: true, value: time.Date(2017, 3, 14, 12, 0, 0, 0, time.UTC)},
		{desc: `{"name":"dt","type":"datetime"}`, cell: "2017-03-14T12:00:00+01:00", ok: true},
		{desc: `{"name":"dt","type":"datetime"}`, cell: "2017-03-14 12:00:00.123", ok: true},
		{desc: `{"name":"dt","type":"datetime"}`, cell: "14/03/2017 12:00"},
		{desc: `{"name":"dt","type":"datetime","format":"%d/%m/%Y %H:%M"}`, cell: "14/03/2017 12:00", ok: true},
		{desc: `{"name":"dt","type":"datetime","format":"%Y-%m-%dT%H:%M:%S%z"}`, cell: "2017-03-14T12:00:00+0100", ok: true},
		{desc: `{"name":"y","type":"year"}`, cell: "2016", ok: true, value: int64(2016)},
		{desc: `{"name":"y","type":"year"}`, cell: "16"},
		{desc: `{"name":"y","type":"year","constraints":{"minimum":2000}}`, cell: "1999", cerr: "minimum"},
		{desc: `{"name":"ym","type":"yearmonth"}`, cell: "2016-03", ok: true, value: YearMonth{2016, 3}},
		{desc: `{"name":"ym","type":"yearmonth"}`, cell: "2016-13"},
		{desc: `{"name":"ym","type":"yearmonth","constraints":{"maximum":"2016-02"}}`, cell: "2016-03", cerr: "maximum"},
		{desc: `{"name":"du","type":"duration"}`, cell: "P1Y2M10DT2H30M", ok: true, value: Duration{Years: 1, Months: 2, Days: 10, Hours: 2, Minutes: 30}},
		{desc: `{"name":"du","type":"duration"}`, cell: "PT0.5S", ok: true},
		{desc: `{"name":"du","type":"duration"}`, cell: "P"},
		{desc: `{"name":"du","type":"duration"}`, cell: "2 heures"},
		{desc: `{"name":"du","type":"duration","constraints":{"maximum":"P1D"}}`, cell: "PT25H", cerr: "maximum"},
	})
	_, err := Parse([]byte(`{"fields":[{"name":"d","type":"date","format":"%Q"}]}`))
	require.ErrorContains(t, err, `field "d"`)
}

func TestGeoAndJSONFields(t *testing.T) {
	runCells(t, []cellCase{
		{desc: `{"name":"g","type":"geopoint"}`, cell: "2.3522, 48.8566", ok: true, value: GeoPoint{2.3522, 48.8566}},
		{desc: `{"name":"g","type":"geopoint"}`, cell: "2.3522"},
		{desc: `{"name":"g","type":"geopoint"}`, cell: "200, 48"},
		{desc: `{"name":"g","type":"geopoint","format":"array"}`, cell: "[7.48710500,48.345345]", ok: true, value: GeoPoint{7.487105, 48.345345}},
		{desc: `{"name":"g","type":"geopoint","format":"array"}`, cell: "[5.7145295,45.191463]\n", ok: true},
		{desc: `{"name":"g","type":"geopoint","format":"array"}`, cell: "7.4, 48.3"},
		{desc: `{"name":"g","type":"geopoint","format":"array"}`, cell: "[1,2,3]"},
		{desc: `{"name":"g","type":"geopoint","format":"object"}`, cell: `{"lon": 2.35, "lat": 48.85}`, ok: true},
		{desc: `{"name":"g","type":"geopoint","format":"object"}`, cell: `{"x": 2.35, "y": 48.85}`},
		{desc: `{"name":"g","type":"geojson"}`, cell: `{"type":"Point","coordinates":[2.35,48.85]}`, ok: true},
		{desc: `{"name":"g","type":"geojson"}`, cell: `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}`, ok: true},
		{desc: `{"name":"g","type":"geojson"}`, cell: `{"type":"FeatureCollection","features":[]}`, ok: true},
		{desc: `{"name":"g","type":"geojson"}`, cell: `{"type":"Point"}`},
		{desc: `{"name":"g","type":"geojson"}`, cell: `{"type":"Cercle"}`},
		{desc: `{"name":"g","type":"geojson","format":"topojson"}`, cell: `{"type":"Topology","objects":{}}`, ok: true},
		{desc: `{"name":"g","type":"geojson","format":"topojson"}`, cell: `{"type":"Point","coordinates":[1,2]}`},
		{desc: `{"name":"o","type":"object"}`, cell: `{"a":1}`, ok: true, value: map[string]any{"a": 1.0}},
		{desc: `{"name":"o","type":"object"}`, cell: `[1]`},
		{desc: `{"name":"a","type":"array"}`, cell: `["a","b"]`, ok: true, value: []any{"a", "b"}},
		{desc: `{"name":"a","type":"array"}`, cell: `a,b`},
		{desc: `{"name":"a","type":"array","constraints":{"maxLength":1}}`, cell: `["a","b"]`, cerr: "maxLength"},
		{desc: `{"name":"a","type":"array","arrayItem":{"type":"string","constraints":{"enum":["lait","oeufs"]}}}`, cell: `["lait","oeufs"]`, ok: true},
		{desc: `{"name":"a","type":"array","arrayItem":{"type":"string","constraints":{"enum":["lait","oeufs"]}}}`, cell: `["lait","beurre"]`, cerr: "arrayItem"},
		{desc: `{"name":"a","type":"array","arrayItem":{"type":"integer"}}`, cell: `[1, 2]`, ok: true},
		{desc: `{"name":"a","type":"array","arrayItem":{"type":"integer"}}`, cell: `[1, "x"]`, cerr: "arrayItem"},
		{desc: `{"name":"a","type":"array","arrayItem":{"type":"string","constraints":{"required":true}}}`, cell: `["a", ""]`, cerr: "arrayItem"},
		{desc: `{"name":"l","type":"list","itemType":"integer","delimiter":";"}`, cell: `1;2;3`, ok: true, value: []any{int64(1), int64(2), int64(3)}},
		{desc: `{"name":"l","type":"list","itemType":"integer"}`, cell: `1,x`},
		{desc: `{"name":"x","type":"any"}`, cell: `whatever`, ok: true},
	})
	f := fieldOf(t, `{"name":"a","type":"array","arrayItem":{"type":"string","constraints":{"enum":["lait"]}}}`)
	v, err := f.Cast(`["beurre"]`)
	require.NoError(t, err)
	cv := f.CheckValue(v, `["beurre"]`)
	require.Contains(t, cv.Message, "L'élément n°1")
	require.Contains(t, cv.Message, "« beurre »")
}

func TestSQLTypes(t *testing.T) {
	want := map[string]string{"string": "TEXT", "number": "NUMERIC", "integer": "BIGINT", "boolean": "BOOLEAN",
		"date": "DATE", "time": "TIME", "datetime": "TIMESTAMP", "year": "INTEGER", "yearmonth": "TEXT",
		"duration": "TEXT", "geopoint": "TEXT", "geojson": "JSON", "object": "JSON", "array": "JSON", "list": "JSON", "any": "TEXT"}
	require.ElementsMatch(t, keys(want), FieldTypes())
	for typ, sql := range want {
		f := fieldOf(t, `{"name":"x","type":"`+typ+`"}`)
		require.Equal(t, sql, f.SQLType(), typ)
		require.Equal(t, typ, f.Type())
		require.Equal(t, "x", f.Name())
	}
}

func keys(m map[string]string) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestStrptimeDirectives(t *testing.T) {
	tests := []struct {
		pattern, cell string
		want          time.Time
		ok            bool
	}{
		{"%Y-%m-%d", "2020-02-29", day(2020, 2, 29), true},
		{"%Y-%m-%d", "2019-02-29", time.Time{}, false},
		{"%Y%m%d", "20200102", day(2020, 1, 2), true},
		{"%d.%m.%Y", "1.2.2020", day(2020, 2, 1), true},
		{"%j/%Y", "032/2020", time.Time{}, false}, // %j before %Y: year unknown when the day is resolved, fine either way
		{"%Y %j", "2020 032", day(2020, 2, 1), true},
		{"%Y-%m-%d %I:%M %p", "2020-01-02 01:05 PM", time.Date(2020, 1, 2, 13, 5, 0, 0, time.UTC), true},
		{"%Y-%m-%dT%H:%M:%S.%f", "2020-01-02T03:04:05.5", time.Date(2020, 1, 2, 3, 4, 5, 500000000, time.UTC), true},
		{"%d %b %Y", "02 Jan 2020", day(2020, 1, 2), true},
		{"%d/%m/%Y", "02/01/2020 ", time.Time{}, false},
		{"%d  %m", "1 \t 2", time.Date(1900, 2, 1, 0, 0, 0, 0, time.UTC), true},
		{"100%%", "100%", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		l, err := compileStrptime(tt.pattern)
		require.NoError(t, err)
		got, ok := l.parse(tt.cell)
		if tt.pattern == "%j/%Y" {
			continue
		}
		require.Equal(t, tt.ok, ok, "%s %q", tt.pattern, tt.cell)
		if ok {
			require.True(t, tt.want.Equal(got), "%s %q: got %v", tt.pattern, tt.cell, got)
		}
	}
	require.Equal(t, "jj/mm/aaaa", humanPattern("%d/%m/%Y"))
}

func TestConstraintValuesAreCastWithTheFieldRules(t *testing.T) {
	for _, desc := range []string{
		`{"name":"n","type":"number","constraints":{"minimum":"abc"}}`,
		`{"name":"d","type":"date","constraints":{"maximum":"31/12/2020"}}`,
		`{"name":"b","type":"boolean","constraints":{"minimum":true}}`,
		`{"name":"s","type":"string","constraints":{"pattern":"(?=x)"}}`,
		`{"name":"i","type":"integer","constraints":{"minLength":2}}`,
		`{"name":"s","type":"string","constraints":{"maxLength":-1}}`,
		`{"name":"s","type":"string","constraints":{"required":"peut-être"}}`,
		`{"name":"g","type":"geopoint","format":"wkt"}`,
		`{"name":"x","type":"money"}`,
	} {
		_, err := Parse([]byte(`{"fields":[` + desc + `]}`))
		require.Error(t, err, desc)
		require.ErrorIs(t, err, ErrSchema)
		var d map[string][]map[string]any
		require.NoError(t, json.Unmarshal([]byte(`{"fields":[`+desc+`]}`), &d))
		require.ErrorContains(t, err, `field "`+d["fields"][0]["name"].(string)+`"`, desc)
	}
}

func TestFastPathsAgree(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "+2.5", "1.", ".5", "-.5", "123456789012345", "1234567890123456", "0.01",
		"99.99", "1e5", "1.5e-3", " 1", "1 ", "", ".", "-", "+", "1.2.3", "12a", "0.1000000000000001", "9007199254740993",
		"123.456789012345", "-0", "00012.5000"} {
		want, wantErr := strconv.ParseFloat(s, 64)
		if v, _, ok := simpleDecimal(s); ok {
			require.NoError(t, wantErr, s)
			require.Equal(t, want, v, s)
			require.Equal(t, math.Signbit(want), math.Signbit(v), s)
		}
		_, ok := parseDecimal(s)
		require.Equal(t, ok, decimalSyntax(s), s)
	}
	for _, s := range []string{"2020-02-29", "2021-02-29", "1900-02-29", "2000-02-29", "2020-04-31", "2020-12-31",
		"2020-13-01", "2020-00-10", "2020-01-00", "0000-02-29", "2020-1-01", "20200101", "2020/01/01", "9999-12-31"} {
		_, ok := parseISODate(s)
		if validISODate(s) {
			require.True(t, ok, s)
		} else if len(s) == 10 && s[4] == '-' && s[7] == '-' {
			require.False(t, ok, s)
		}
	}
	for _, s := range []string{"", "abc", "aide en numéraire", "\xe9t\xe9", "abcdefgh\xc3", "abcdefgh\xc3\xa9ijklmnop\xff",
		"\xed\xa0\x80", "Association n°12 — “été” 🎉 ok", "12345678901234567\xf0\x9f\x8e"} {
		require.Equal(t, utf8.Valid([]byte(s)), validUTF8([]byte(s)), "%q", s)
	}
}
