package harmonise

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
)

// readSample decodes a real export (cp1252 when asked) with a plain CSV reader;
// the production path sniffs dialects in tableschema, which this package does
// not import.
func readSample(t *testing.T, name string, cp1252 bool, comma rune) (header []string, recs [][]string, lines []int) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	if cp1252 {
		raw, err = charmap.Windows1252.NewDecoder().Bytes(raw)
		require.NoError(t, err)
	}
	r := csv.NewReader(bytes.NewReader(raw))
	r.Comma = comma
	r.FieldsPerRecord = -1
	header, err = r.Read()
	require.NoError(t, err)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		line, _ := r.FieldPos(0)
		recs = append(recs, rec)
		lines = append(lines, line)
	}
	return header, recs, lines
}

func TestGoldenRealSubventions(t *testing.T) {
	subventions := map[string]Kind{
		"idAttribuant": SIRET, "idBeneficiaire": SIRET, "dateConvention": Date, "montant": Number,
		"datesPeriodeVersement": DatePeriod, "datesperiodeVersement": DatePeriod, "datesperiodeversement": DatePeriod,
		"notificationUE": Boolean, "pourcentageSubvention": Number,
	}
	legacy := map[string]Kind{
		"ANNEE": Year, "COLL_SIRET": SIRET, "ACTE_DATE": Date, "ATTRIB_SIRET": SIRET, "SUB_MONTANT": Number,
		"SUB_DATE_DEBUT": Date, "SUB_DATE_FIN": Date, "NOTIF_EU": Boolean, "Notification à la commission Européenne": Boolean,
	}
	tests := []struct {
		file   string
		cp1252 bool
		comma  rune
		kinds  map[string]Kind
		rows   int
		fixes  map[Rule]int
		issues map[Rule]int
		// one fix that must be among the examples
		example Fix
	}{
		{
			file: "scdl-subventions.real-dep-lot-2017.cp1252.csv", cp1252: true, comma: ';', kinds: subventions,
			rows: 34,
			// 13 amounts "40 000,00", 5 periods with "_", 2 objects ending in a space; 21 blank rows untouched.
			fixes:   map[Rule]int{RuleThousands: 13, RuleDecimalComma: 13, RulePeriodSeparator: 5, RuleTrim: 2},
			issues:  map[Rule]int{},
			example: Fix{Line: 2, Field: "montant", From: "40000,00", To: "40000.00", Rule: RuleDecimalComma},
		},
		{
			file: "scdl-subventions.real-dep-nievre-2016.cp1252.csv", cp1252: true, comma: ',', kinds: legacy,
			rows: 97,
			// NBSP thousands repaired; "NC", "SEM", "ODHLM" in amounts and the 9-digit SIREN in COLL_SIRET reported.
			fixes:   map[Rule]int{RuleThousands: 90},
			issues:  map[Rule]int{IssueInvalidNumber: 6, IssueSIRETLength: 97},
			example: Fix{Line: 2, Field: "SUB_MONTANT", From: "17\u00a0833", To: "17833", Rule: RuleThousands},
		},
		{
			file: "scdl-subventions.real-dep-somme-2018.cp1252.csv", cp1252: true, comma: ';', kinds: subventions,
			rows: 11,
			// 11 dates 2018/01/30 + 11 periods 2018/01/30_2022/01/29 reformatted; 11 amounts "137 825,00".
			fixes:   map[Rule]int{RuleDateFormat: 22, RulePeriodSeparator: 11, RuleThousands: 11, RuleDecimalComma: 11},
			issues:  map[Rule]int{},
			example: Fix{Line: 2, Field: "dateConvention", From: "2018/01/30", To: "2018-01-30", Rule: RuleDateFormat},
		},
		{
			file: "scdl-subventions.real-haute-garonne-datalocale.csv", comma: ';', kinds: subventions,
			rows: 69,
			// Already clean but for the "_" period separator.
			fixes:   map[Rule]int{RulePeriodSeparator: 40},
			issues:  map[Rule]int{},
			example: Fix{Line: 2, Field: "datesPeriodeVersement", From: "2017-01-01_2017-12-31", To: "2017-01-01/2017-12-31", Rule: RulePeriodSeparator},
		},
		{
			file: "scdl-subventions.real-ville-poitiers-2017.csv", comma: ';', kinds: legacy,
			rows: 562,
			// 2×562 SIRETs saved as floats; the NIC was lost, so only 61 beneficiaries pass Luhn and the
			// collectivité's own 21860194600000 never does; "NON" → "non".
			fixes:   map[Rule]int{RuleSIRETFloat: 1124, RuleBoolean: 562},
			issues:  map[Rule]int{IssueSIRETChecksum: 1063},
			example: Fix{Line: 2, Field: "ATTRIB_SIRET", From: "45032466000000.0", To: "45032466000000", Rule: RuleSIRETFloat},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			header, recs, lines := readSample(t, tt.file, tt.cp1252, tt.comma)
			h := New(ColumnsFor(header, tt.kinds), Options{TrueValue: "oui", FalseValue: "non", MaxExamples: 1000})
			for i, rec := range recs {
				out := h.Apply(rec, lines[i])
				require.Len(t, out, len(rec))
			}
			s := h.Summary()
			t.Logf("fixes=%v issues=%v", s.Fixes, s.Issues)
			require.Equal(t, tt.rows, s.Rows)
			require.Equal(t, tt.fixes, s.Fixes)
			require.Equal(t, tt.issues, s.Issues)
			require.Contains(t, s.Examples, tt.example)
		})
	}
}
