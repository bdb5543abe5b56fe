package tableschema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestShippedSchemasParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("schemas", "*.schema.json"))
	require.NoError(t, err)
	require.Len(t, files, 19)
	infos := Shipped()
	require.Len(t, infos, len(files))
	for _, info := range infos {
		s, err := LoadShipped(info.Name)
		require.NoError(t, err, info.Name)
		require.NotEmpty(t, s.Fields, info.Name)
		require.NotEmpty(t, info.Title, info.Name)
		require.Equal(t, len(s.Fields), info.Fields)
		raw, err := ShippedDescriptor(info.Name)
		require.NoError(t, err)
		again, err := Parse(raw)
		require.NoError(t, err)
		require.Equal(t, s.FieldNames(), again.FieldNames())
	}
	s, err := LoadShipped("scdl-subventions")
	require.NoError(t, err)
	require.Equal(t, "2.1.1", s.Version)
	require.Equal(t, "subventions", s.Name)
	require.Len(t, s.Fields, 16)
	require.Len(t, s.checks, 3)
	_, err = LoadShipped("nope")
	require.ErrorIs(t, err, ErrUnknownSchema)
	_, err = LoadShipped("../schemas/SOURCES")
	require.Error(t, err)
}

func TestShippedSchemaQuirks(t *testing.T) {
	// deliberations uses nomenclature-actes-value, which is not supported: a warning, not a failure.
	s, err := LoadShipped("scdl-deliberations")
	require.NoError(t, err)
	require.Equal(t, []string{"nomenclature-actes-value"}, s.unsupported)
	require.Len(t, s.checks, 10)
	// a primaryKey given as a string implies required
	s, err = LoadShipped("arbres-urbains")
	require.NoError(t, err)
	require.Equal(t, []string{"id"}, s.PrimaryKey)
	f, _ := s.Field("id")
	require.True(t, f.Descriptor().Constraints.Required)
	// arrayItem on menus
	s, err = LoadShipped("scdl-menus-collectifs")
	require.NoError(t, err)
	f, ok := s.Field("menuPlatAllergene")
	require.True(t, ok)
	require.NotNil(t, f.(*ArrayField).Item())
}

func TestParseTolerance(t *testing.T) {
	s, err := Parse([]byte(`{
		"name": "x", "version": "1", "countryCode": "FR", "custom": {"a": 1},
		"missingValues": ["", "NC", "N/A"],
		"fields": [
			{"name": "a", "type": "string", "exemple": "x", "examples": ["y"], "contraints": {"required": true}},
			{"name": "b", "type": "integer", "constraints": {"required": "true", "maxLenght": 3}},
			{"name": "c", "format": "fmt:%d/%m/%Y", "type": "date"}
		],
		"primaryKey": "a",
		"uniqueKeys": [["b", "c"]],
		"foreignKeys": [{"fields": "b", "reference": {"resource": "", "fields": "a"}},
		                {"fields": ["b"], "reference": {"resource": "other", "fields": ["a"]}}],
		"custom_checks": [{"name": "opening-hours-value", "params": {"column": "a"}},
		                  {"name": "french-siret-value", "params": {"column": "zz"}}]
	}`))
	require.NoError(t, err)
	joined := strings.Join(s.Warnings, "\n")
	require.Contains(t, joined, `"contraints" ignored (did you mean "constraints"?)`)
	require.Contains(t, joined, `"exemple" ignored (did you mean "example"?)`)
	require.Contains(t, joined, `"maxLenght" ignored (did you mean "maxLength"?)`)
	require.Contains(t, joined, `resource "other"`)
	require.Contains(t, joined, `"opening-hours-value" is not supported`)
	require.Contains(t, joined, `unknown field "zz"`)
	require.NotContains(t, joined, "countryCode")
	require.Equal(t, []string{"", "NC", "N/A"}, s.MissingValues)
	require.Equal(t, []string{"a"}, s.PrimaryKey)
	require.Equal(t, [][]string{{"b", "c"}}, s.UniqueKeys)
	require.Equal(t, []ForeignKey{{Fields: []string{"b"}, ReferenceFields: []string{"a"}}}, s.ForeignKeys)
	f, _ := s.Field("b")
	require.True(t, f.Descriptor().Constraints.Required)
	f, _ = s.Field("c")
	require.Equal(t, "%d/%m/%Y", f.Format())
	f, _ = s.Field("a")
	require.True(t, f.Descriptor().Constraints.Required) // from primaryKey
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ desc, want string }{
		{`not json`, "not a JSON object"},
		{`{}`, `missing "fields"`},
		{`{"fields": []}`, `"fields" is empty`},
		{`{"fields": {"a": 1}}`, `"fields" is not an array`},
		{`{"fields": [{"type": "string"}]}`, "field #1: missing name"},
		{`{"fields": [{"name": "a"}, {"name": "a"}]}`, `field "a": duplicate field name`},
		{`{"fields": [{"name": "a", "type": "strin"}]}`, `field "a": unknown type "strin"`},
		{`{"fields": [{"name": "a", "type": 3}]}`, `field "a": type: want a string`},
		{`{"fields": [{"name": "a", "constraints": {"pattern": "(?<=x)a"}}]}`, `field "a" (any): constraint pattern: invalid regular expression`},
		{`{"fields": [{"name": "a", "type": "number", "constraints": {"minimum": "x"}}]}`, `field "a" (number): constraint minimum`},
		{`{"fields": [{"name": "a"}], "primaryKey": ["b"]}`, `primaryKey: unknown field "b"`},
		{`{"fields": [{"name": "a"}], "foreignKeys": [{"fields": ["a"], "reference": {"fields": ["a", "a"]}}]}`, `foreignKeys[0]: 1 fields reference 2 fields`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.desc))
		require.ErrorIs(t, err, ErrSchema, tt.desc)
		require.ErrorContains(t, err, tt.want, tt.desc)
	}
}

func TestSchemaFilesAreCopies(t *testing.T) {
	// The shipped copies must stay byte-identical to SOURCES.md's provenance;
	// at least make sure the manifest travels with them.
	_, err := os.Stat(filepath.Join("schemas", "SOURCES.md"))
	require.NoError(t, err)
}
