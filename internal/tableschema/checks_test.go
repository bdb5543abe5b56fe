package tableschema

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSiretSiren(t *testing.T) {
	tests := []struct {
		siret  string
		reason string // "" = valid
	}{
		{"23350001600040", ""},
		{"38047555800058", ""},
		{"21860194600013", ""},
		{"21860194600000", "clé de Luhn"},
		{"2186019460001", "14 chiffres attendus"},
		{"32402138500000.0", "14 chiffres attendus"},
		{"218 601 946 00013", ""}, // spaces ignored like python-stdnum
		{"2186019460001A", "que des chiffres"},
		{"35600000000048", ""}, // La Poste head office: Luhn
		{"35600000049837", ""}, // La Poste establishment: digit sum 50 % 5 == 0
		{"35600000049838", "La Poste"},
		{"35600000000049", "La Poste"}, // digit sum 27, not a multiple of 5
	}
	for _, tt := range tests {
		got := siretProblem(tt.siret)
		if tt.reason == "" {
			require.Empty(t, got, tt.siret)
		} else {
			require.Contains(t, got, tt.reason, tt.siret)
		}
	}
	require.Empty(t, sirenProblem("218601946"))
	require.Empty(t, sirenProblem("130025265"))
	require.Contains(t, sirenProblem("218601947"), "Luhn")
	require.Contains(t, sirenProblem("21860194"), "9 chiffres")
	require.True(t, luhnValid("79927398713"))
	require.False(t, luhnValid("79927398710"))
}

// validateString validates an in-memory CSV against a descriptor.
func validateString(t *testing.T, schema, csv string, opts Options) *Report {
	t.Helper()
	s, err := Parse([]byte(schema))
	require.NoError(t, err)
	rep, err := ValidateCSV(context.Background(), s, strings.NewReader(csv), opts)
	require.NoError(t, err)
	return rep
}

func TestCustomChecks(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		checks string
		csv    string
		want   []string // type@row:field
		msg    string   // part of the first message
	}{
		{"siret", `{"name":"s"}`, `{"name":"french-siret-value","params":{"column":"s"}}`,
			"s\n21860194600013\n21860194600000\n\n", []string{"french-siret-value@3:s"}, "Le SIRET « 21860194600000 » est invalide (clé de Luhn)"},
		{"siret new name", `{"name":"s"}`, `{"name":"siret","params":{"column":"s"}}`,
			"s\nabc\n", []string{"siret@2:s"}, "chiffres"},
		{"siren", `{"name":"s"}`, `{"name":"french-siren-value","params":{"column":"s"}}`,
			"s\n218601946\n218601947\n", []string{"french-siren-value@3:s"}, "Le SIREN « 218601947 »"},
		{"one-of-required", `{"name":"a"},{"name":"b"}`, `{"name":"one-of-required","params":{"column1":"a","column2":"b"}}`,
			"a,b\n1,\n,2\n1,2\n,\n", []string{"blank-row@5:"}, "vide"},
		{"one-of-required both empty", `{"name":"a"},{"name":"b"},{"name":"c"}`, `{"name":"one-of-required","params":{"column1":"a","column2":"b"}}`,
			"a,b,c\n,,x\n", []string{"one-of-required@2:a"}, "Au moins une des colonnes « a » ou « b »"},
		{"one-of-required columns absent", `{"name":"a"},{"name":"b"},{"name":"c"}`, `{"name":"one-of-required","params":{"column1":"a","column2":"b"}}`,
			"c\nx\n", []string{"one-of-required@0:"}, "toutes deux absentes"},
		{"one-of-required one column absent", `{"name":"a"},{"name":"b"},{"name":"c"}`, `{"name":"one-of-required","params":{"column1":"a","column2":"b"}}`,
			"a,c\n,x\n1,x\n", []string{"one-of-required@2:a"}, ""},
		{"cohesive", `{"name":"a"},{"name":"b"},{"name":"c"}`, `{"name":"cohesive-columns-value","params":{"column":"a","othercolumns":["b","c"]}}`,
			"a,b,c\n1,2,3\n,,\n1,,3\n", []string{"blank-row@3:", "cohesive-columns-value@4:a"}, ""},
		{"compare numbers", `{"name":"a","type":"integer"},{"name":"b","type":"integer"}`, `{"name":"compare-columns-value","params":{"column":"a","op":">=","column2":"b"}}`,
			"a,b\n10,9\n9,10\n10,10\n,3\n", []string{"compare-columns-value@3:a"}, "La valeur de « a » (9) doit être supérieure ou égale à celle de « b » (10)"},
		{"compare dates", `{"name":"a","type":"date"},{"name":"b","type":"date"}`, `{"name":"compare-columns-value","params":{"column":"a","op":"<","column2":"b"}}`,
			"a,b\n2020-01-01,2020-01-02\n2020-01-03,2020-01-02\n", []string{"compare-columns-value@3:a"}, "strictement inférieure"},
		{"compare skips invalid", `{"name":"a","type":"integer"},{"name":"b","type":"integer"}`, `{"name":"compare-columns-value","params":{"column":"a","op":"==","column2":"b"}}`,
			"a,b\nx,1\n", []string{"type-error@2:a"}, ""},
		{"sum", `{"name":"t","type":"integer"},{"name":"a","type":"integer"},{"name":"b","type":"integer"}`, `{"name":"sum-columns-value","params":{"column":"t","columns":["a","b"]}}`,
			"t,a,b\n5,2,3\n6,2,3\n", []string{"sum-columns-value@3:t"}, "somme"},
		{"year interval", `{"name":"y"}`, `{"name":"year-interval-value","params":{"column":"y","allow-year-only":"yes"}}`,
			"y\n2019\n2019/2020\n2020/2019\n2020-2021\n2020/2020\n", []string{"year-interval-value@4:y", "year-interval-value@5:y", "year-interval-value@6:y"}, "postérieure"},
		{"year interval strict", `{"name":"y"}`, `{"name":"year-interval-value","params":{"column":"y"}}`,
			"y\n2019\n", []string{"year-interval-value@2:y"}, "aaaa/aaaa"},
		{"gps", `{"name":"p","type":"geopoint","format":"array"}`, `{"name":"french_gps_coordinates","params":{"column":"p"}}`,
			"p\n\"[5.71,45.19]\"\n\"[45.19,5.71]\"\n\"[-73.5,45.5]\"\n\"[55.45,-21.1]\"\n", []string{"french_gps_coordinates@3:p", "french_gps_coordinates@4:p"}, "inversées"},
		{"unknown check", `{"name":"a"}`, `{"name":"opening-hours-value","params":{"column":"a"}}`,
			"a\nMo-Fr 08:00-12:00\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schema := `{"fields":[` + tt.fields + `],"custom_checks":[` + tt.checks + `]}`
			rep := validateString(t, schema, tt.csv, Options{})
			require.Equal(t, tt.want, nilIfEmpty(issueKeys(rep.Errors)))
			if tt.msg != "" {
				require.Contains(t, rep.Errors[0].Message, tt.msg)
			}
		})
	}
	rep := validateString(t, `{"fields":[{"name":"a"}],"custom_checks":[{"name":"opening-hours-value","params":{"column":"a"}}]}`, "a\nx\n", Options{})
	require.True(t, rep.Valid)
	require.Equal(t, []string{"check-not-supported@0:"}, issueKeys(rep.Warnings))
	require.Contains(t, rep.Warnings[0].Message, "opening-hours-value")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
