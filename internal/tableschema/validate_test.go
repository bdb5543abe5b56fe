package tableschema

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// sliceRows is a Rows over memory, as an XLSX or JSON reader would provide.
type sliceRows struct {
	header []string
	recs   [][]string
	i      int
}

func (s *sliceRows) Header() []string { return s.header }
func (s *sliceRows) Next() ([]string, int, error) {
	if s.i >= len(s.recs) {
		return nil, 0, io.EOF
	}
	s.i++
	return s.recs[s.i-1], s.i + 1, nil
}

const peopleSchema = `{"name":"people","version":"1.0","fields":[
	{"name":"id","type":"integer","constraints":{"required":true,"unique":true}},
	{"name":"nom","type":"string","constraints":{"required":true}},
	{"name":"age","type":"integer","constraints":{"minimum":0}},
	{"name":"parent","type":"integer"}
], "missingValues": ["", "NC"],
   "foreignKeys": [{"fields": ["parent"], "reference": {"resource": "", "fields": ["id"]}}]}`

func TestValidateRows(t *testing.T) {
	s, err := Parse([]byte(peopleSchema))
	require.NoError(t, err)
	rows := &sliceRows{header: []string{"id", "nom", "age", "parent"}, recs: [][]string{
		{"1", "Ana", "30", ""},
		{"2", "Bob", "NC", "1"},
		{"2", "Bob", "NC", "1"},      // duplicate-row + unique-error
		{"3", "", "-1", "9"},         // required, minimum, foreign-key
		{"x", "Eve", "4", "3"},       // type-error
		{"", "", "", ""},             // blank-row
		{"5", "Zoé", "4"},            // missing-cell
		{"6", "Léa", "4", "1", "??"}, // extra-cell
	}}
	rep, err := Validate(context.Background(), s, rows, Options{})
	require.NoError(t, err)
	keys := issueKeys(rep.Errors)
	require.Equal(t, []string{
		"duplicate-row@4:", "unique-error@4:id",
		"constraint-error@5:nom", "constraint-error@5:age", "foreign-key@5:parent",
		"type-error@6:id",
		"blank-row@7:",
		"missing-cell@8:parent",
		"extra-cell@9:",
	}, keys)
	require.EqualValues(t, 8, rep.Stats.Rows)
	require.EqualValues(t, 2, rep.Stats.ValidRows) // lines 2 and 3
	require.EqualValues(t, 9, rep.Stats.Errors)
	require.EqualValues(t, 1, rep.Stats.ErrorsByType["foreign-key"])
	require.False(t, rep.Valid)
	require.Equal(t, SchemaInfo{"people", "1.0"}, rep.Schema)
	require.Contains(t, rep.Errors[0].Message, "identique à la ligne 3")
	require.Equal(t, "minimum", rep.Errors[3].Constraint)
	require.Equal(t, 4, rep.Errors[0].Row)
	require.Equal(t, 3, rep.Errors[3].Column)
}

func TestValidateHeader(t *testing.T) {
	schema := `{"fields":[{"name":"a","constraints":{"required":true}},{"name":"b"},{"name":"c"}]}`
	tests := []struct {
		name     string
		csv      string
		opts     Options
		errors   []string
		warnings []string
	}{
		{"exact", "a,b,c\n1,2,3\n", Options{}, nil, nil},
		{"missing optional", "a,b\n1,2\n", Options{}, nil, []string{"missing-header-warn@0:c"}},
		{"missing required", "b,c\n1,2\n", Options{}, []string{"missing-required-header@0:a"}, nil},
		{"extra", "a,b,c,d\n1,2,3,4\n", Options{}, nil, []string{"extra-header-warn@0:d"}},
		{"disordered", "c,a,b\n1,2,3\n", Options{}, nil, []string{"disordered-header-warn@0:"}},
		{"case", "A,B,C\n1,2,3\n", Options{IgnoreHeaderCase: true}, nil, nil},
		{"case sensitive", "A,b,c\n1,2,3\n", Options{}, []string{"missing-required-header@0:a"}, []string{"extra-header-warn@0:A"}},
		{"duplicate", "a,b,b,c\n1,2,3,4\n", Options{}, []string{"duplicate-label@0:b"}, nil},
		{"blank", "a,,b,c\n1,2,3,4\n", Options{}, []string{"blank-label@0:"}, nil},
		{"header only", "a,b,c\n", Options{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := validateString(t, schema, tt.csv, tt.opts)
			require.Equal(t, tt.errors, nilIfEmpty(issueKeys(rep.Errors)))
			require.Equal(t, tt.warnings, nilIfEmpty(issueKeys(rep.Warnings)))
			require.Equal(t, len(tt.errors) == 0, rep.Valid)
		})
	}
	// a missing optional column is just empty; its values are not checked
	rep := validateString(t, `{"fields":[{"name":"a"},{"name":"b","type":"integer","constraints":{"required":false}}]}`, "a\nx\n", Options{})
	require.True(t, rep.Valid)
}

func TestValidateKeys(t *testing.T) {
	schema := `{"fields":[{"name":"k1"},{"name":"k2"},{"name":"v","type":"number"}],
		"primaryKey":["k1","k2"], "uniqueKeys":[["v"]]}`
	rep := validateString(t, schema, "k1,k2,v\na,1,1.0\na,2,1\na,1,3\nb,,4\n", Options{})
	require.Equal(t, []string{"unique-error@3:v", "primary-key@4:k1, k2", "constraint-error@5:k2"}, issueKeys(rep.Errors))
	require.Contains(t, rep.Errors[1].Message, "déjà utilisée ligne 2")
}

func TestValidateMissingValuesAndOptions(t *testing.T) {
	schema := `{"fields":[{"name":"k"},{"name":"n","type":"number","constraints":{"required":true}}],"missingValues":["","NC"]}`
	rep := validateString(t, schema, "k,n\na,NC\nb,1\nc,abc\nNC,NC\n", Options{})
	require.Equal(t, []string{"constraint-error@2:n", "type-error@4:n", "blank-row@5:"}, issueKeys(rep.Errors))
	require.Equal(t, "required", rep.Errors[0].Constraint)
	require.Equal(t, "La valeur « abc » n'est pas un nombre décimal valide", rep.Errors[1].Message)
	// per-field missing values (v2) override the schema's
	schema = `{"fields":[{"name":"n","type":"number","missingValues":["-"]}]}`
	rep = validateString(t, schema, "n\n-\n\n", Options{})
	require.True(t, rep.Valid)
}

func TestValidateTruncation(t *testing.T) {
	var b strings.Builder
	b.WriteString("n\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "x%d\n", i)
	}
	rep := validateString(t, `{"fields":[{"name":"n","type":"integer"}]}`, b.String(), Options{MaxErrors: 100})
	require.True(t, rep.Truncated)
	require.Len(t, rep.Errors, 100)
	require.EqualValues(t, 5000, rep.Stats.Errors)
	require.Equal(t, 2, rep.Errors[0].Row)
	require.Equal(t, 101, rep.Errors[99].Row) // deterministic order by row
	for i := 1; i < len(rep.Errors); i++ {
		require.Less(t, rep.Errors[i-1].Row, rep.Errors[i].Row)
	}
}

func TestValidateMaxRowsAndProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString("n\n")
	for i := 0; i < 25000; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	var calls []int64
	rep := validateString(t, `{"fields":[{"name":"n","type":"integer"}]}`, b.String(), Options{
		MaxRows: 20000, ProgressEvery: 5000,
		Progress: func(read, valid int64) {
			require.Equal(t, read, valid)
			calls = append(calls, read)
		},
	})
	require.Equal(t, []int64{5000, 10000, 15000, 20000, 20000}, calls)
	require.EqualValues(t, 20000, rep.Stats.Rows)
	require.Equal(t, []string{"table-dimensions@0:"}, issueKeys(rep.Errors))
	// exactly MaxRows rows is fine
	rep = validateString(t, `{"fields":[{"name":"n","type":"integer"}]}`, "n\n1\n2\n", Options{MaxRows: 2})
	require.True(t, rep.Valid)
}

func TestValidateCSVBadInputs(t *testing.T) {
	schema := `{"fields":[{"name":"a"},{"name":"b"}]}`
	tests := []struct {
		name, csv, want string
		row             int
	}{
		{"empty", "", "Le fichier est vide", 0},
		{"binary", "\x00\x01\x02PK\x03\x04", "n'est pas un fichier texte", 0},
		{"100,000 columns", strings.Repeat("c,", 99999) + "c\n", "plus de 1000 colonnes", 1},
		{"unclosed quote", "a,b\n1,2\n\"3,4\n", "Guillemet non fermé", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := validateString(t, schema, tt.csv, Options{})
			require.False(t, rep.Valid)
			require.Equal(t, "source-error", rep.Errors[len(rep.Errors)-1].Type)
			require.Contains(t, rep.Errors[len(rep.Errors)-1].Message, tt.want)
			require.Equal(t, tt.row, rep.Errors[len(rep.Errors)-1].Row)
		})
	}
	rep := validateString(t, schema, "a,b\n", Options{})
	require.True(t, rep.Valid)
	require.EqualValues(t, 0, rep.Stats.Rows)
}

func TestValidateContextCancel(t *testing.T) {
	s, err := Parse([]byte(`{"fields":[{"name":"n","type":"integer"}]}`))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	rows := &endlessRows{}
	_, err = Validate(ctx, s, rows, Options{ProgressEvery: 1000, Progress: func(read, _ int64) {
		if n.Add(1) == 3 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
}

type endlessRows struct{ n int }

func (e *endlessRows) Header() []string { return []string{"n"} }
func (e *endlessRows) Next() ([]string, int, error) {
	e.n++
	return []string{"1"}, e.n + 1, nil
}

// generatedCSV streams a huge CSV without storing it.
type generatedCSV struct {
	remaining int64
	buf       []byte
	row       int
}

func (g *generatedCSV) Read(p []byte) (int, error) {
	if g.remaining <= 0 {
		return 0, io.EOF
	}
	for len(g.buf) < len(p) {
		g.row++
		g.buf = fmt.Appendf(g.buf, "%d;Association numéro %d;%d.50\n", g.row, g.row, g.row%1000)
	}
	n := copy(p, g.buf)
	if int64(n) > g.remaining {
		n = int(g.remaining)
	}
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	g.remaining -= int64(n)
	return n, nil
}

func TestHugeFileIsStreamed(t *testing.T) {
	size := int64(200 << 20)
	if testing.Short() {
		size = 20 << 20
	}
	s, err := Parse([]byte(`{"fields":[{"name":"id","type":"integer"},{"name":"nom"},{"name":"montant","type":"number"}]}`))
	require.NoError(t, err)
	src := io.MultiReader(strings.NewReader("id;nom;montant\n"), &generatedCSV{remaining: size})

	var peak uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	rep, err := ValidateCSV(context.Background(), s, src, Options{MaxKeys: 200_000, ProgressEvery: 200000, Progress: func(int64, int64) {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}})
	require.NoError(t, err)
	require.Greater(t, rep.Stats.Rows, int64(size/50))
	require.Equal(t, ";", rep.Delimiter)
	// the input is 200 MB; the heap holds in-flight batches and the row
	// hashes of the duplicate-row check, capped by MaxKeys (GC slack included)
	grown := int64(peak) - int64(base)
	require.Less(t, grown, int64(80<<20), "heap grew by %d MiB", grown>>20)
	require.Equal(t, []string{"check-limit-warn@0:"}, issueKeys(rep.Warnings))
	t.Logf("rows=%d heap growth=%d MiB", rep.Stats.Rows, grown>>20)

	// and with MaxRows it stops early
	src = io.MultiReader(strings.NewReader("id;nom;montant\n"), &generatedCSV{remaining: size})
	rep, err = ValidateCSV(context.Background(), s, src, Options{MaxRows: 1000})
	require.NoError(t, err)
	require.EqualValues(t, 1000, rep.Stats.Rows)
	require.Equal(t, "table-dimensions", rep.Errors[0].Type)
}

func TestReportJSONShape(t *testing.T) {
	rep := validateSample(t, "scdl-subventions.invalid-cells.csv")
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"valid", "encoding", "delimiter", "schema", "stats", "errors", "warnings", "truncated"} {
		require.Contains(t, m, k)
	}
	require.Equal(t, map[string]any{"name": "subventions", "version": "2.1.1"}, m["schema"])
	stats := m["stats"].(map[string]any)
	for _, k := range []string{"rows", "errors", "warnings"} {
		require.Contains(t, stats, k)
	}
	e := m["errors"].([]any)[0].(map[string]any)
	for _, k := range []string{"type", "row", "field", "value", "message"} {
		require.Contains(t, e, k)
	}
	// an empty report still has arrays, not nulls
	rep = validateString(t, `{"fields":[{"name":"a"}]}`, "a\n1\n", Options{})
	b, _ = json.Marshal(rep)
	require.Contains(t, string(b), `"errors":[]`)
	require.Contains(t, string(b), `"warnings":[]`)
}

func TestLineSet(t *testing.T) {
	s := &lineSet{}
	for i := 1; i <= 100000; i++ {
		_, dup := s.seen(uint64(i)*0x9E3779B97F4A7C15, i+2)
		require.False(t, dup)
	}
	for i := 1; i <= 100000; i += 997 {
		first, dup := s.seen(uint64(i)*0x9E3779B97F4A7C15, 1)
		require.True(t, dup)
		require.EqualValues(t, i+2, first)
	}
	_, dup := s.seen(0, 5)
	require.False(t, dup)
	first, dup := s.seen(0, 6)
	require.True(t, dup)
	require.EqualValues(t, 5, first)
	require.Equal(t, 100001, s.len())
}

// TestRecycledBatchesKeepValues checks that issue values and foreign key
// values, which point into a batch's arena while rows are checked, survive
// the recycling of the batch (reader fast path and generic Rows).
func TestRecycledBatchesKeepValues(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,n,parent\n")
	const rows = 40_000
	for i := 1; i <= rows; i++ {
		n := strconv.Itoa(i)
		if i%7 == 0 {
			n = "bad-" + n
		}
		parent := strconv.Itoa(i - 1)
		if i == 1 {
			parent = ""
		}
		if i%1000 == 0 {
			parent = "missing-" + strconv.Itoa(i)
		}
		fmt.Fprintf(&b, "%d,%s,%s\n", i, n, parent)
	}
	schema := `{"fields":[{"name":"id","type":"integer"},{"name":"n","type":"integer"},{"name":"parent"}],
	  "foreignKeys":[{"fields":["parent"],"reference":{"resource":"","fields":["id"]}}]}`
	s, err := Parse([]byte(schema))
	require.NoError(t, err)
	check := func(rep *Report) {
		var typeErrs, fkErrs int
		for _, is := range rep.Errors {
			switch is.Type {
			case TypeTypeError:
				typeErrs++
				require.Equal(t, "bad-"+strconv.Itoa(is.Row-1), is.Value)
				require.Contains(t, is.Message, is.Value)
			case TypeForeignKey:
				fkErrs++
				require.Equal(t, "missing-"+strconv.Itoa(is.Row-1), is.Value)
			}
		}
		require.Equal(t, rows/7, typeErrs)
		require.Equal(t, rows/1000, fkErrs)
	}
	rep, err := ValidateCSV(context.Background(), s, strings.NewReader(b.String()), Options{MaxErrors: 100_000})
	require.NoError(t, err)
	check(rep)
	cr, err := NewCSVReader(strings.NewReader(b.String()), CSVOptions{})
	require.NoError(t, err)
	rep, err = Validate(context.Background(), s, rowsOnly{cr}, Options{MaxErrors: 100_000})
	require.NoError(t, err)
	check(rep)
}

// rowsOnly hides the *CSVReader type, to take Validate's generic path.
type rowsOnly struct{ Rows }
