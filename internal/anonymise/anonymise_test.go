package anonymise

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var key = []byte("0123456789abcdef-test-key")

func intp(i int) *int { return &i }

func TestApply(t *testing.T) {
	tests := []struct {
		name       string
		field      Field
		centroid   func(lon, lat float64) (float64, float64, bool)
		in         string
		want       string
		count      int
		suppressed int
	}{
		{"drop", Field{Method: Drop}, nil, "x", "", 1, 0},
		{"mask default keeps 4", Field{Method: Mask}, nil, "0612345678", "******5678", 1, 0},
		{"mask short value entirely", Field{Method: Mask, Keep: intp(4)}, nil, "abc", "***", 1, 0},
		{"mask keep 0", Field{Method: Mask, Keep: intp(0)}, nil, "Dupré", "*****", 1, 0},
		{"pseudonymise hex 16", Field{Method: Pseudonymise}, nil, "jean.dupont@example.fr", Pseudonym(key, "jean.dupont@example.fr", "hex", 16), 1, 0},
		{"pseudonymise trims", Field{Method: Pseudonymise}, nil, " Dupont ", Pseudonym(key, "Dupont", "hex", 16), 1, 0},
		{"date to year", Field{Method: Generalise, As: AsDate}, nil, "1980-05-17", "1980", 1, 0},
		{"french date to month", Field{Method: Generalise, As: AsDate, To: "month"}, nil, "17/05/1980", "1980-05", 1, 0},
		{"unreadable date suppressed", Field{Method: Generalise, As: AsDate}, nil, "mai 1980", "", 0, 1},
		{"datetime to date", Field{Method: Generalise, As: AsDatetime}, nil, "2018-01-30T14:05:00Z", "2018-01-30", 1, 0},
		{"datetime to year", Field{Method: Generalise, As: AsDatetime, To: "year"}, nil, "2018-01-30 14:05", "2018", 1, 0},
		{"coordinate rounded", Field{Method: Generalise, As: AsCoordinate}, nil, "48.858370", "48.86", 1, 0},
		{"coordinate decimal comma", Field{Method: Generalise, As: AsCoordinate, Decimals: intp(1)}, nil, "2,294481", "2.3", 1, 0},
		{"coordinate garbage", Field{Method: Generalise, As: AsCoordinate}, nil, "N48°", "", 0, 1},
		{"geopoint rounded", Field{Method: Generalise, As: AsGeopoint, Decimals: intp(2)}, nil, "2.294481, 48.858370", "2.29, 48.86", 1, 0},
		{"geopoint centroid", Field{Method: Generalise, As: AsGeopoint}, func(lon, lat float64) (float64, float64, bool) { return 2.3522, 48.8566, true }, "2.294481, 48.858370", "2.3522, 48.8566", 1, 0},
		{"geopoint centroid miss falls back to rounding", Field{Method: Generalise, As: AsGeopoint}, func(lon, lat float64) (float64, float64, bool) { return 0, 0, false }, "2.294481,48.858370", "2.29, 48.86", 1, 0},
		{"geopoint out of range", Field{Method: Generalise, As: AsGeopoint}, nil, "200, 95", "", 0, 1},
		{"age bracket", Field{Method: Generalise, As: AsAge}, nil, "37", "35-44", 1, 0},
		{"age minor", Field{Method: Generalise, As: AsAge}, nil, "12", "<18", 1, 0},
		{"age old", Field{Method: Generalise, As: AsAge}, nil, "81 ans", "75+", 1, 0},
		{"age custom brackets", Field{Method: Generalise, As: AsAge, Brackets: []int{20, 60}}, nil, "59", "20-59", 1, 0},
		{"age garbage", Field{Method: Generalise, As: AsAge}, nil, "adulte", "", 0, 1},
		{"postcode", Field{Method: Generalise, As: AsPostcode}, nil, "75012", "75", 1, 0},
		{"postcode overseas", Field{Method: Generalise, As: AsPostcode}, nil, "97411", "974", 1, 0},
		{"postcode corse du sud", Field{Method: Generalise, As: AsPostcode}, nil, "20000", "2A", 1, 0},
		{"postcode haute corse", Field{Method: Generalise, As: AsPostcode}, nil, "20200", "2B", 1, 0},
		{"insee corsica", Field{Method: Generalise, As: AsPostcode}, nil, "2b033", "2B", 1, 0},
		{"postcode bad", Field{Method: Generalise, As: AsPostcode}, nil, "750", "", 0, 1},
		{"redact", Field{Method: RedactFreeText}, nil, "Contact : jean.dupont@example.fr ou 06 12 34 56 78", "Contact : [courriel] ou [téléphone]", 1, 0},
		{"redact nothing", Field{Method: RedactFreeText}, nil, "Soutien au festival 2017", "Soutien au festival 2017", 0, 0},
		{"empty untouched", Field{Method: Pseudonymise}, nil, "", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.field.Name = "f"
			a, err := New([]string{"id", "f"}, Config{Key: key, Fields: []Field{tt.field}, Centroid: tt.centroid})
			require.NoError(t, err)
			got := a.Apply([]string{"1", tt.in})
			if tt.field.Method == Drop {
				require.Equal(t, []string{"id"}, a.Header())
				require.Equal(t, []string{"1"}, got)
			} else {
				require.Equal(t, []string{"id", "f"}, a.Header())
				require.Equal(t, []string{"1", tt.want}, got)
			}
			require.Equal(t, []Report{{Field: "f", Method: tt.field.Method, Count: tt.count, Suppressed: tt.suppressed}}, a.Reports())
		})
	}
}

func TestPseudonymStability(t *testing.T) {
	other := []byte("another-key-of-16+bytes")
	a1 := Pseudonym(key, "Dupont", "hex", 16)
	require.Len(t, a1, 16)
	require.Equal(t, a1, Pseudonym(key, "Dupont", "hex", 16), "stable for the same key")
	require.NotEqual(t, a1, Pseudonym(other, "Dupont", "hex", 16), "differs across keys")
	require.NotEqual(t, a1, Pseudonym(key, "Durand", "hex", 16), "differs across values")
	b := Pseudonym(key, "Dupont", "base32", 20)
	require.Len(t, b, 20)
	require.Equal(t, strings.ToLower(b), b)

	// Two anonymisers with the same key agree; records stay linkable.
	cfg := Config{Key: key, Fields: []Field{{Name: "email", Method: Pseudonymise, Length: 24}}}
	x, err := New([]string{"email"}, cfg)
	require.NoError(t, err)
	y, err := New([]string{"email"}, cfg)
	require.NoError(t, err)
	require.Equal(t, x.Apply([]string{"a@b.fr"}), y.Apply([]string{"a@b.fr"}))
	require.Len(t, x.Apply([]string{"a@b.fr"})[0], 24)
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"écrire à marie-claire.durand+asso@mairie-roques.fr.", "écrire à [courriel]."},
		{"tel 0612345678", "tel [téléphone]"},
		{"tel 06.12.34.56.78 ou 01-23-45-67-89", "tel [téléphone] ou [téléphone]"},
		{"appeler le +33 6 12 34 56 78", "appeler le [téléphone]"},
		{"ou le 0033 (0)1 23 45 67 89", "ou le [téléphone]"},
		{"NIR 1 84 12 76 451 089 46 déclaré", "NIR [NIR] déclaré"},
		{"nir 284122B04508946", "nir [NIR]"},
		{"montant 40000 le 12/03/2018", "montant 40000 le 12/03/2018"},
		{"SIRET 4430618410004712345", "SIRET 4430618410004712345"},
		{"réf 0612345678901", "réf 0612345678901"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, Redact(tt.in))
		})
	}
}

func TestConfigErrors(t *testing.T) {
	header := []string{"nom", "age"}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"unknown field", Config{Fields: []Field{{Name: "x", Method: Drop}}}},
		{"twice", Config{Fields: []Field{{Name: "nom", Method: Drop}, {Name: "nom", Method: Mask}}}},
		{"unknown method", Config{Fields: []Field{{Name: "nom", Method: "hash"}}}},
		{"pseudonymise without key", Config{Fields: []Field{{Name: "nom", Method: Pseudonymise}}}},
		{"short key", Config{Key: []byte("short"), Fields: []Field{{Name: "nom", Method: Pseudonymise}}}},
		{"bad encoding", Config{Key: key, Fields: []Field{{Name: "nom", Method: Pseudonymise, Encoding: "b64"}}}},
		{"too long", Config{Key: key, Fields: []Field{{Name: "nom", Method: Pseudonymise, Length: 65}}}},
		{"generalise without as", Config{Fields: []Field{{Name: "age", Method: Generalise}}}},
		{"bad date target", Config{Fields: []Field{{Name: "age", Method: Generalise, As: AsDate, To: "day"}}}},
		{"bad brackets", Config{Fields: []Field{{Name: "age", Method: Generalise, As: AsAge, Brackets: []int{30, 20}}}}},
		{"negative keep", Config{Fields: []Field{{Name: "nom", Method: Mask, Keep: intp(-1)}}}},
		{"bad decimals", Config{Fields: []Field{{Name: "age", Method: Generalise, As: AsCoordinate, Decimals: intp(9)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(header, tt.cfg)
			require.ErrorIs(t, err, ErrConfig)
		})
	}
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

func TestWrapDropsColumnsAndReports(t *testing.T) {
	rows := &sliceRows{
		header: []string{"nom", "prenom", "email", "date_naissance", "montant"},
		recs: [][]string{
			{"Dupont", "Jean", "jean@x.fr", "1980-05-17", "100"},
			{"Durand", "", "", "17/05/1981", "200"},
			{"Martin", "Léa", "lea@x.fr", "?", "300"},
		},
	}
	a, err := New(rows.header, Config{Key: key, Fields: []Field{
		{Name: "prenom", Method: Drop},
		{Name: "nom", Method: Pseudonymise, Length: 8},
		{Name: "email", Method: Mask, Keep: intp(5)},
		{Name: "date_naissance", Method: Generalise, As: AsDate},
	}})
	require.NoError(t, err)
	w := Wrap(rows, a)
	require.Equal(t, []string{"nom", "email", "date_naissance", "montant"}, w.Header())
	var got [][]string
	for {
		rec, _, err := w.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, rec)
	}
	require.Equal(t, [][]string{
		{Pseudonym(key, "Dupont", "hex", 8), "****@x.fr", "1980", "100"},
		{Pseudonym(key, "Durand", "hex", 8), "", "1981", "200"},
		{Pseudonym(key, "Martin", "hex", 8), "***@x.fr", "", "300"},
	}, got)
	require.Equal(t, []Report{
		{Field: "prenom", Method: Drop, Count: 2},
		{Field: "nom", Method: Pseudonymise, Count: 3},
		{Field: "email", Method: Mask, Count: 2},
		{Field: "date_naissance", Method: Generalise, Count: 2, Suppressed: 1},
	}, a.Reports())
}

func TestPropose(t *testing.T) {
	header := []string{"nomAttribuant", "idBeneficiaire", "NOM", "Prénom", "e-mail", "Téléphone", "adresse_domicile", "dateNaissance", "age", "NIR", "commentaire", "contact", "montant", "nom_commune", "objet"}
	sample := [][]string{
		{"Ville", "1", "Dupont", "Jean", "j@x.fr", "0612345678", "1 rue X", "1980-01-01", "44", "", "", "appeler jean@x.fr", "100", "Roques", "Soutien"},
		{"Ville", "2", "Durand", "Léa", "l@x.fr", "", "", "", "", "", "", "lea@x.fr", "200", "Roques", "Soutien"},
	}
	got := Propose(header, sample)
	byField := map[string]Suggestion{}
	for _, s := range got {
		byField[s.Field.Name] = s
	}
	want := map[string]struct {
		cat    Category
		method Method
	}{
		"NOM":              {CatLastName, Pseudonymise},
		"Prénom":           {CatFirstName, Pseudonymise},
		"e-mail":           {CatEmail, Pseudonymise},
		"Téléphone":        {CatPhone, Drop},
		"adresse_domicile": {CatAddress, Drop},
		"dateNaissance":    {CatBirthDate, Generalise},
		"age":              {CatAge, Generalise},
		"NIR":              {CatNIR, Drop},
		"commentaire":      {CatFreeText, RedactFreeText},
		"contact":          {CatEmail, RedactFreeText},
	}
	require.Len(t, got, len(want))
	for name, w := range want {
		s, ok := byField[name]
		require.True(t, ok, name)
		require.Equal(t, w.cat, s.Category, name)
		require.Equal(t, w.method, s.Field.Method, name)
		require.NotEmpty(t, s.Reason)
	}
	// Suggestions are valid configs.
	var fields []Field
	for _, s := range got {
		fields = append(fields, s.Field)
	}
	_, err := New(header, Config{Key: key, Fields: fields})
	require.NoError(t, err)
}

func TestTokens(t *testing.T) {
	require.Equal(t, []string{"date", "naissance"}, tokens("dateNaissance"))
	require.Equal(t, []string{"nom", "usage"}, tokens("NOM_USAGE"))
	require.Equal(t, []string{"e", "mail"}, tokens("e-mail"))
	require.Equal(t, []string{"prenom"}, tokens("Prénom"))
}
