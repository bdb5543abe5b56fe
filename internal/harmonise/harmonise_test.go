package harmonise

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidSIRETSIREN(t *testing.T) {
	tests := []struct {
		name  string
		siret string
		want  bool
	}{
		{"valid", "73282932000074", true},
		{"valid 2", "44306184100047", true},
		{"bad checksum", "73282932000075", false},
		{"siren part invalid", "73282932100074", false},
		{"too short", "7328293200007", false},
		{"letters", "7328293200007A", false},
		{"La Poste establishment, digit sum % 5", "35600000049837", true},
		{"La Poste establishment, bad sum", "35600000049838", false},
		{"La Poste head office follows Luhn", "35600000000048", true},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ValidSIRET(tt.siret))
		})
	}
	require.True(t, ValidSIREN("732829320"))
	require.True(t, ValidSIREN("356000000"))
	require.False(t, ValidSIREN("732829321"))
	require.False(t, ValidSIREN("73282932"))
}

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		opts  Options
		in    string
		want  string
		fixes []Rule
		issue Rule
	}{
		{"text trimmed of NBSP and thin space", Text, Options{}, "\u00a0Mairie\u2009 ", "Mairie", []Rule{RuleTrim}, ""},
		{"text inner spaces kept", Text, Options{}, "a  b", "a  b", nil, ""},
		{"number space thousands + comma", Number, Options{}, "40 000,00", "40000.00", []Rule{RuleThousands, RuleDecimalComma}, ""},
		{"number NBSP thousands", Number, Options{}, "1\u00a0457\u00a0000", "1457000", []Rule{RuleThousands}, ""},
		{"number narrow NBSP", Number, Options{}, "12\u202f345,6", "12345.6", []Rule{RuleThousands, RuleDecimalComma}, ""},
		{"number dots as groups", Number, Options{}, "1.234.567,89", "1234567.89", []Rule{RuleThousands, RuleDecimalComma}, ""},
		{"number english groups", Number, Options{}, "1,234,567.89", "1234567.89", []Rule{RuleThousands}, ""},
		{"number decimal comma", Number, Options{}, "1234,56", "1234.56", []Rule{RuleDecimalComma}, ""},
		{"number plain", Number, Options{}, "10000.0", "10000.0", nil, ""},
		{"number exponent", Number, Options{}, "-1.5E3", "-1.5E3", nil, ""},
		{"number single dot kept", Number, Options{}, "1.234", "1.234", nil, ""},
		{"number bad grouping", Number, Options{}, "12 34", "12 34", nil, IssueInvalidNumber},
		{"number text", Number, Options{}, "SEM", "SEM", nil, IssueInvalidNumber},
		{"number mixed marks", Number, Options{}, "1,2.3,4", "1,2.3,4", nil, IssueInvalidNumber},
		{"integer 12,0", Integer, Options{}, "12,0", "12", []Rule{RuleDecimalComma, RuleIntegerFraction}, ""},
		{"integer 12.00", Integer, Options{}, "12.00", "12", []Rule{RuleIntegerFraction}, ""},
		{"integer grouped", Integer, Options{}, "1 200", "1200", []Rule{RuleThousands}, ""},
		{"integer fraction refused", Integer, Options{}, "12,5", "12,5", nil, IssueInvalidInteger},
		{"date dd/mm/yyyy", Date, Options{}, "30/01/2018", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date yyyy/mm/dd", Date, Options{}, "2018/01/30", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date dd-mm-yyyy", Date, Options{}, "30-01-2018", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date dd.mm.yyyy", Date, Options{}, "30.01.2018", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date yyyymmdd", Date, Options{}, "20180130", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date short parts", Date, Options{}, "2018-1-3", "2018-01-03", []Rule{RuleDateFormat}, ""},
		{"date d/m/yyyy", Date, Options{}, "5/12/2016", "2016-12-05", []Rule{RuleDateFormat}, ""},
		{"date iso untouched", Date, Options{}, "2018-01-30", "2018-01-30", nil, ""},
		{"date midnight dropped", Date, Options{}, "30/01/2018 00:00:00", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date with time refused", Date, Options{}, "2018-01-30 14:00", "2018-01-30 14:00", nil, IssueInvalidDate},
		{"date month-first configured", Date, Options{DateOrder: MonthFirst}, "01/30/2018", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date strict ambiguous", Date, Options{DateOrder: Strict}, "01/02/2018", "01/02/2018", nil, IssueAmbiguousDate},
		{"date strict evident", Date, Options{DateOrder: Strict}, "30/01/2018", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date strict evident month-first", Date, Options{DateOrder: Strict}, "01/30/2018", "2018-01-30", []Rule{RuleDateFormat}, ""},
		{"date other order only", Date, Options{}, "01/30/2018", "01/30/2018", nil, IssueAmbiguousDate},
		{"date two-digit year", Date, Options{}, "30/01/18", "30/01/18", nil, IssueAmbiguousDate},
		{"date no such day", Date, Options{}, "31/02/2018", "31/02/2018", nil, IssueInvalidDate},
		{"date garbage", Date, Options{}, "janvier", "janvier", nil, IssueInvalidDate},
		{"datetime french", Datetime, Options{}, "30/01/2018 14:05", "2018-01-30T14:05:00", []Rule{RuleDatetimeFormat}, ""},
		{"datetime space", Datetime, Options{}, "2018-01-30 14:05:07", "2018-01-30T14:05:07", []Rule{RuleDatetimeFormat}, ""},
		{"datetime zone kept", Datetime, Options{}, "2018-01-30T14:05:07+0100", "2018-01-30T14:05:07+01:00", []Rule{RuleDatetimeFormat}, ""},
		{"datetime iso untouched", Datetime, Options{}, "2018-01-30T14:05:07Z", "2018-01-30T14:05:07Z", nil, ""},
		{"datetime without time", Datetime, Options{}, "2018-01-30", "2018-01-30", nil, IssueInvalidDatetime},
		{"period underscore", DatePeriod, Options{}, "2018-01-01_2018-03-31", "2018-01-01/2018-03-31", []Rule{RulePeriodSeparator}, ""},
		{"period slashed dates", DatePeriod, Options{}, "2018/01/30_2022/01/29", "2018-01-30/2022-01-29", []Rule{RuleDateFormat, RulePeriodSeparator}, ""},
		{"period single date", DatePeriod, Options{}, "2017-08-16", "2017-08-16", nil, ""},
		{"period iso", DatePeriod, Options{}, "2017-01-01/2017-12-31", "2017-01-01/2017-12-31", nil, ""},
		{"period reversed", DatePeriod, Options{}, "2018-03-31_2018-01-01", "2018-03-31_2018-01-01", nil, IssueInvalidPeriod},
		{"siret float", SIRET, Options{}, "44306184100047.0", "44306184100047", []Rule{RuleSIRETFloat}, ""},
		{"siret exponent", SIRET, Options{}, "4.4306184100047E13", "44306184100047", []Rule{RuleSIRETFloat}, ""},
		{"siret float bad luhn", SIRET, Options{}, "45032466000000.0", "45032466000000", []Rule{RuleSIRETFloat}, IssueSIRETChecksum},
		{"siret spaces", SIRET, Options{}, "443 061 841 00047", "44306184100047", []Rule{RuleSIRETSpaces}, ""},
		{"siret padded when valid", SIRET, Options{}, "1000000800010", "01000000800010", []Rule{RuleSIRETPad}, ""},
		{"siret not padded when invalid", SIRET, Options{}, "1000000800011", "1000000800011", nil, IssueSIRETLength},
		{"siret padded from float", SIRET, Options{}, "1000000800010.0", "01000000800010", []Rule{RuleSIRETFloat, RuleSIRETPad}, ""},
		{"siret siren in column", SIRET, Options{}, "225800010", "225800010", nil, IssueSIRETLength},
		{"siret letters", SIRET, Options{}, "n/a", "n/a", nil, IssueSIRETLength},
		{"siren float", SIREN, Options{}, "732829320.0", "732829320", []Rule{RuleSIRENFloat}, ""},
		{"siren bad", SIREN, Options{}, "732829321", "732829321", nil, IssueSIRENChecksum},
		{"insee leading zero", INSEECommune, Options{}, "1004", "01004", []Rule{RuleINSEELeadingZero}, ""},
		{"insee corsica case", INSEECommune, Options{}, "2a004", "2A004", []Rule{RuleINSEECase}, ""},
		{"insee float", INSEECommune, Options{}, "1004.0", "01004", []Rule{RuleINSEEFloat, RuleINSEELeadingZero}, ""},
		{"insee ok", INSEECommune, Options{}, "75056", "75056", nil, ""},
		{"insee invalid", INSEECommune, Options{}, "20004", "20004", nil, IssueInvalidINSEE},
		{"boolean oui default targets", Boolean, Options{}, "Oui", "true", []Rule{RuleBoolean}, ""},
		{"boolean NON to schema values", Boolean, Options{TrueValue: "oui", FalseValue: "non"}, "NON", "non", []Rule{RuleBoolean}, ""},
		{"boolean x", Boolean, Options{TrueValue: "oui", FalseValue: "non"}, "x", "oui", []Rule{RuleBoolean}, ""},
		{"boolean already target", Boolean, Options{TrueValue: "oui", FalseValue: "non"}, "non", "non", nil, ""},
		{"boolean unknown", Boolean, Options{}, "peut-être", "peut-être", nil, IssueInvalidBoolean},
		{"year float", Year, Options{}, "2017.0", "2017", []Rule{RuleYearFloat}, ""},
		{"year bad", Year, Options{}, "17", "17", nil, IssueInvalidYear},
		{"missing value untouched", Number, Options{MissingValues: []string{"NC"}}, "NC", "NC", nil, ""},
		{"empty untouched", SIRET, Options{}, "  ", "", []Rule{RuleTrim}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New([]Column{{Name: "f", Kind: tt.kind}}, tt.opts)
			got := h.Apply([]string{tt.in}, 2)
			require.Equal(t, []string{tt.want}, got)
			s := h.Summary()
			wantFixes := map[Rule]int{}
			for _, r := range tt.fixes {
				wantFixes[r]++
			}
			require.Equal(t, wantFixes, s.Fixes)
			if tt.issue == "" {
				require.Empty(t, s.Issues)
			} else {
				require.Equal(t, map[Rule]int{tt.issue: 1}, s.Issues)
				require.Len(t, s.IssueExamples, 1)
				require.Equal(t, 2, s.IssueExamples[0].Line)
				require.NotEmpty(t, s.IssueExamples[0].Message)
			}
			require.Len(t, s.Examples, len(tt.fixes))
			if len(tt.fixes) > 0 {
				require.Equal(t, tt.in, s.Examples[0].From)
				require.Equal(t, tt.want, s.Examples[len(s.Examples)-1].To)
			}
		})
	}
}

func TestApplyKeepsInputAndExtraCells(t *testing.T) {
	h := New([]Column{{Name: "montant", Kind: Number}}, Options{})
	in := []string{"1 000", " extra "}
	got := h.Apply(in, 7)
	require.Equal(t, []string{"1000", " extra "}, got)
	require.Equal(t, []string{"1 000", " extra "}, in)
	require.Equal(t, 1, h.Summary().Rows)
}

func TestExamplesCapped(t *testing.T) {
	h := New([]Column{{Name: "d", Kind: Date}}, Options{MaxExamples: 2})
	for i := 0; i < 10; i++ {
		h.Apply([]string{"30/01/2018"}, i+2)
	}
	s := h.Summary()
	require.Equal(t, 10, s.Fixes[RuleDateFormat])
	require.Len(t, s.Examples, 2)
}

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

func TestWrap(t *testing.T) {
	rows := &sliceRows{header: []string{"d", "n"}, recs: [][]string{{"30/01/2018", "1,5"}, {"2018-01-30", "2"}}}
	h := New(ColumnsFor(rows.header, map[string]Kind{"d": Date, "n": Number}), Options{})
	w := Wrap(rows, h)
	require.Equal(t, []string{"d", "n"}, w.Header())
	rec, line, err := w.Next()
	require.NoError(t, err)
	require.Equal(t, 2, line)
	require.Equal(t, []string{"2018-01-30", "1.5"}, rec)
	_, _, err = w.Next()
	require.NoError(t, err)
	_, _, err = w.Next()
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, map[Rule]int{RuleDateFormat: 1, RuleDecimalComma: 1}, h.Summary().Fixes)
}

func TestParseKind(t *testing.T) {
	for k := Text; k <= DatePeriod; k++ {
		got, err := ParseKind(k.String())
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	_, err := ParseKind("nope")
	require.Error(t, err)
}
