package anonymise

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Category is a kind of personal data.
type Category string

// Categories recognised by Propose.
const (
	CatNIR       Category = "nir"
	CatEmail     Category = "email"
	CatPhone     Category = "telephone"
	CatLastName  Category = "nom"
	CatFirstName Category = "prenom"
	CatAddress   Category = "adresse"
	CatBirthDate Category = "date_naissance"
	CatAge       Category = "age"
	CatFreeText  Category = "texte_libre"
)

// Suggestion proposes anonymising one field; a steward confirms it.
type Suggestion struct {
	Field    Field    `json:"field"`
	Category Category `json:"category"`
	// Reason says what matched: the column name or sampled values.
	Reason string `json:"reason"`
}

// nameRules map column-name tokens (accents removed, lower case, split on
// camelCase, '_', '-', spaces) to a category and a default method.
var nameRules = []struct {
	tokens [][]string // any of these token sequences
	cat    Category
	field  Field
}{
	{[][]string{{"nir"}, {"num", "secu"}, {"numsecu"}, {"securite", "sociale"}, {"ssn"}}, CatNIR, Field{Method: Drop}},
	{[][]string{{"email"}, {"mail"}, {"courriel"}, {"e", "mail"}}, CatEmail, Field{Method: Pseudonymise}},
	{[][]string{{"tel"}, {"telephone"}, {"phone"}, {"portable"}, {"mobile"}, {"fax"}}, CatPhone, Field{Method: Drop}},
	{[][]string{{"date", "naissance"}, {"datenaissance"}, {"naissance"}, {"birth"}, {"birthdate"}, {"dob"}}, CatBirthDate, Field{Method: Generalise, As: AsDate, To: "year"}},
	{[][]string{{"age"}}, CatAge, Field{Method: Generalise, As: AsAge}},
	{[][]string{{"prenom"}, {"prenoms"}, {"firstname"}, {"first", "name"}, {"given", "name"}}, CatFirstName, Field{Method: Pseudonymise}},
	{[][]string{{"nom"}, {"name"}, {"lastname"}, {"last", "name"}, {"patronyme"}, {"surname"}, {"nomusage"}}, CatLastName, Field{Method: Pseudonymise}},
	{[][]string{{"adresse"}, {"address"}, {"domicile"}}, CatAddress, Field{Method: Drop}},
	{[][]string{{"commentaire"}, {"commentaires"}, {"observation"}, {"observations"}, {"remarque"}, {"remarques"}, {"message"}, {"note"}, {"notes"}}, CatFreeText, Field{Method: RedactFreeText}},
}

// orgTokens mark a column about an organisation, place or thing rather than a
// person ("nomAttribuant", "nom_commune", "adresse_equipement"); name-based
// rules for names and addresses are skipped for them.
var orgTokens = map[string]bool{
	"attribuant": true, "commune": true, "collectivite": true, "coll": true, "structure": true, "organisme": true,
	"association": true, "entreprise": true, "etablissement": true, "societe": true, "service": true,
	"equipement": true, "voie": true, "rue": true, "lieu": true, "site": true, "station": true, "fichier": true,
	"jeu": true, "dataset": true, "espece": true, "produit": true, "plat": true, "menu": true, "schema": true,
	"departement": true, "region": true, "epci": true, "acte": true, "operateur": true, "amenageur": true,
	"enseigne": true, "exploitant": true, "gestionnaire": true, "projet": true, "dispositif": true, "sub": true,
}

// Propose suggests personal fields of a dataset from its column names and,
// when given, a sample of records aligned with header (columns where at least
// a fifth of the non-empty sampled values hold an e-mail, NIR or phone
// number). It never proposes a column twice; name rules win over values.
func Propose(header []string, sample [][]string) []Suggestion {
	var out []Suggestion
	done := map[int]bool{}
	for i, col := range header {
		toks := tokens(col)
		org := false
		for _, t := range toks {
			if orgTokens[t] {
				org = true
			}
		}
		for _, r := range nameRules {
			if org && (r.cat == CatLastName || r.cat == CatFirstName || r.cat == CatAddress) {
				continue
			}
			if seq := matchAny(toks, r.tokens); seq != "" {
				f := r.field
				f.Name = col
				out = append(out, Suggestion{Field: f, Category: r.cat, Reason: "column name contains " + seq})
				done[i] = true
				break
			}
		}
	}
	for i, col := range header {
		if done[i] {
			continue
		}
		var n, email, nir, phone int
		for _, rec := range sample {
			if i >= len(rec) || strings.TrimSpace(rec[i]) == "" {
				continue
			}
			n++
			e, ni, p := Contains(rec[i])
			if e {
				email++
			}
			if ni {
				nir++
			}
			if p {
				phone++
			}
		}
		if n == 0 {
			continue
		}
		switch {
		case nir*5 >= n && nir > 0:
			out = append(out, Suggestion{Field: Field{Name: col, Method: RedactFreeText}, Category: CatNIR, Reason: "sampled values contain NIRs"})
		case email*5 >= n && email > 0:
			out = append(out, Suggestion{Field: Field{Name: col, Method: RedactFreeText}, Category: CatEmail, Reason: "sampled values contain e-mail addresses"})
		case phone*5 >= n && phone > 0:
			out = append(out, Suggestion{Field: Field{Name: col, Method: RedactFreeText}, Category: CatPhone, Reason: "sampled values contain phone numbers"})
		}
	}
	return out
}

// matchAny returns the first token sequence of seqs found contiguously in
// toks, joined with '_', or "".
func matchAny(toks []string, seqs [][]string) string {
	for _, seq := range seqs {
		for i := 0; i+len(seq) <= len(toks); i++ {
			ok := true
			for k, s := range seq {
				if toks[i+k] != s {
					ok = false
					break
				}
			}
			if ok {
				return strings.Join(seq, "_")
			}
		}
	}
	return ""
}

// tokens splits a column name into lower-case, accent-free words:
// "dateNaissance" → [date naissance], "NOM_USAGE" → [nom usage].
func tokens(name string) []string {
	strip := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC) // not shareable across goroutines
	if s, _, err := transform.String(strip, name); err == nil {
		name = s
	}
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(rs[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return out
}
