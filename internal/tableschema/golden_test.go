package tableschema

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the current reports")

// validateSample validates testdata/samples/NAME against the shipped schema
// named by the prefix of NAME before its first dot.
func validateSample(t *testing.T, name string) *Report {
	t.Helper()
	s, err := LoadShipped(strings.SplitN(name, ".", 2)[0])
	require.NoError(t, err)
	f, err := os.Open(filepath.Join("testdata", "samples", name))
	require.NoError(t, err)
	defer f.Close()
	rep, err := ValidateCSV(context.Background(), s, f, Options{})
	require.NoError(t, err)
	return rep
}

func TestGoldenSamples(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join("testdata", "samples", "*.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, samples)
	for _, path := range samples {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			rep := validateSample(t, name)
			got, err := json.MarshalIndent(rep, "", "  ")
			require.NoError(t, err)
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".csv")+".json")
			if *update {
				require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -run TestGoldenSamples -update to create it")
			require.JSONEq(t, string(want), string(got))
		})
	}
}

func TestValidSamplesHaveNoError(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join("testdata", "samples", "*.valid.csv"))
	require.NoError(t, err)
	require.Len(t, samples, 12)
	for _, path := range samples {
		rep := validateSample(t, filepath.Base(path))
		require.True(t, rep.Valid, "%s: %+v", path, rep.Errors)
		require.Empty(t, rep.Errors, path)
		require.Equal(t, "UTF-8", rep.Encoding, path)
	}
}

// issueKey is "type@row:field", to assert the codes and rows of a report.
func issueKeys(issues []Issue) []string {
	out := make([]string, len(issues))
	for i, is := range issues {
		out[i] = is.Type + "@" + itoa(is.Row) + ":" + is.Field
	}
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestInvalidSamples(t *testing.T) {
	t.Run("lieux-covoiturage", func(t *testing.T) {
		rep := validateSample(t, "lieux-covoiturage.invalid.csv")
		require.False(t, rep.Valid)
		require.Equal(t, []string{"type-error@3:date_maj"}, issueKeys(rep.Errors))
		require.Contains(t, rep.Errors[0].Message, "aaaa-mm-jj")
	})
	t.Run("scdl-prenoms", func(t *testing.T) {
		rep := validateSample(t, "scdl-prenoms.invalid.csv")
		require.Equal(t, []string{
			"constraint-error@2:COLL_INSEE", "constraint-error@2:ENFANT_PRENOM",
			"constraint-error@3:COMMUNE_NOM", "constraint-error@3:ENFANT_PRENOM",
			"constraint-error@4:COMMUNE_NOM", "constraint-error@4:ENFANT_SEXE",
			"constraint-error@7:ENFANT_PRENOM",
		}, issueKeys(rep.Errors))
		require.Equal(t, "enum", rep.Errors[5].Constraint)
	})
	t.Run("stationnement", func(t *testing.T) {
		rep := validateSample(t, "stationnement.invalid.csv")
		require.Equal(t, []string{"constraint-error@2:id", "constraint-error@2:tarif_pmr", "french-siret-value@2:num_siret"}, issueKeys(rep.Errors))
	})
	t.Run("scdl-subventions cells", func(t *testing.T) {
		rep := validateSample(t, "scdl-subventions.invalid-cells.csv")
		keys := issueKeys(rep.Errors)
		for _, want := range []string{
			"constraint-error@2:pourcentageSubvention", // 100 > 1
			"type-error@5:dateConvention",              // 05/12/2016
			"constraint-error@5:rnaBeneficiaire",       // W3222
			"type-error@6:montant",                     // 100000,1
			"type-error@6:notificationUE",              // no
			"french-siret-value@6:idBeneficiaire",      // 32402138500000.0
			"constraint-error@7:idAttribuant",          // 9 digits
			"constraint-error@8:datesPeriodeVersement", // _ instead of /
			"type-error@8:notificationUE",              // yes
			"type-error@9:pourcentageSubvention",       // 0,5
			"one-of-required@9:idBeneficiaire",         // neither SIRET nor RNA
			"constraint-error@10:montant",              // required, empty
			"constraint-error@16:nature",               // comma instead of ;
		} {
			require.Contains(t, keys, want)
		}
		require.Equal(t, []string{"missing-header-warn@0:dispositifAide"}, issueKeys(rep.Warnings))
	})
	t.Run("scdl-subventions columns", func(t *testing.T) {
		rep := validateSample(t, "scdl-subventions.invalid-columns.csv")
		require.Equal(t, "missing-required-header@0:nomBeneficiaire", issueKeys(rep.Errors)[0])
		require.Equal(t, []string{"missing-header-warn@0:dispositifAide", "extra-header-warn@0:NOM_Beneficiaire", "disordered-header-warn@0:"}, issueKeys(rep.Warnings))
	})
}

func TestRealExports(t *testing.T) {
	tests := []struct {
		name      string
		encoding  string
		delimiter string
		defects   []string // types that must be reported
	}{
		{"scdl-subventions.real-dep-lot-2017.cp1252.csv", "windows-1252", ";", []string{"type-error", "blank-row", "missing-required-header"}},
		// Nièvre's export is comma-separated (checked byte by byte), not ';'.
		{"scdl-subventions.real-dep-nievre-2016.cp1252.csv", "windows-1252", ",", []string{"missing-required-header"}},
		{"scdl-subventions.real-dep-somme-2018.cp1252.csv", "windows-1252", ";", []string{"type-error", "constraint-error", "missing-required-header"}},
		{"scdl-subventions.real-haute-garonne-datalocale.csv", "UTF-8", ";", []string{"constraint-error"}},
		{"scdl-subventions.real-ville-poitiers-2017.csv", "UTF-8", ";", []string{"missing-required-header"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := validateSample(t, tt.name)
			require.Equal(t, tt.encoding, rep.Encoding)
			require.Equal(t, tt.delimiter, rep.Delimiter)
			require.False(t, rep.Valid)
			for _, d := range tt.defects {
				require.NotZero(t, rep.Stats.ErrorsByType[d], d)
			}
		})
	}
	t.Run("lot details", func(t *testing.T) {
		rep := validateSample(t, "scdl-subventions.real-dep-lot-2017.cp1252.csv")
		require.Equal(t, "NomAttribuant", rep.Header[0]) // capital N: not the schema's nomAttribuant
		var montant *Issue
		for i := range rep.Errors {
			if rep.Errors[i].Field == "montant" {
				montant = &rep.Errors[i]
				break
			}
		}
		require.NotNil(t, montant)
		require.Equal(t, 2, montant.Row)
		require.Equal(t, "40 000,00", montant.Value)
		require.Contains(t, montant.Message, "séparateur décimal")
	})
	t.Run("somme accents decoded", func(t *testing.T) {
		rep := validateSample(t, "scdl-subventions.real-dep-somme-2018.cp1252.csv")
		for _, e := range rep.Errors {
			if e.Field == "conditionsVersement" {
				require.Contains(t, e.Value, "Bénéficiaire")
				require.Contains(t, e.Value, "jusqu’à")
				return
			}
		}
		t.Fatal("no conditionsVersement error")
	})
}
