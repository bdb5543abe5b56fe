package catalog

import (
	"net/url"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The controlled vocabularies of DCAT-AP: the EU data themes, the EU
// frequencies, the EU file types, and the licences' URIs.

const (
	themeNS     = "http://publications.europa.eu/resource/authority/data-theme/"
	frequencyNS = "http://publications.europa.eu/resource/authority/frequency/"
	fileTypeNS  = "http://publications.europa.eu/resource/authority/file-type/"
	// ThemeTaxonomy is the concept scheme of the EU data themes.
	ThemeTaxonomy = "http://publications.europa.eu/resource/authority/data-theme"
	// LanguageFR is French in the EU language vocabulary.
	LanguageFR  = "http://publications.europa.eu/resource/authority/language/FRA"
	mediaTypeNS = "http://www.iana.org/assignments/media-types/"
)

// Theme is an EU data theme.
type Theme struct {
	Code  string // "TRAN"
	Label string // French label
}

// IRI is the theme's URI in the EU vocabulary.
func (t Theme) IRI() string { return themeNS + t.Code }

// Themes are the 13 EU data themes with their French labels.
var Themes = []Theme{
	{"AGRI", "Agriculture, pêche, sylviculture et alimentation"},
	{"ECON", "Économie et finances"},
	{"EDUC", "Éducation, culture et sport"},
	{"ENER", "Énergie"},
	{"ENVI", "Environnement"},
	{"GOVE", "Gouvernement et secteur public"},
	{"HEAL", "Santé"},
	{"INTR", "Questions internationales"},
	{"JUST", "Justice, système juridique et sécurité publique"},
	{"REGI", "Régions et villes"},
	{"SOCI", "Population et société"},
	{"TECH", "Science et technologie"},
	{"TRAN", "Transports"},
}

// ThemeLabel is the French label of a theme code (the code when unknown).
func ThemeLabel(code string) string {
	for _, t := range Themes {
		if t.Code == code {
			return t.Label
		}
	}
	return code
}

// schemaThemes maps the shipped schemas to their themes.
var schemaThemes = map[string][]string{
	"scdl-subventions":            {"GOVE", "ECON"},
	"scdl-budget":                 {"GOVE", "ECON"},
	"scdl-deliberations":          {"GOVE"},
	"scdl-catalogue":              {"GOVE"},
	"scdl-equipements":            {"REGI", "SOCI"},
	"scdl-menus-collectifs":       {"HEAL", "EDUC"},
	"scdl-plats-menus-collectifs": {"HEAL", "EDUC"},
	"scdl-prenoms":                {"SOCI"},
	"decp-marches-publics":        {"ECON", "GOVE"},
	"hautes-remunerations":        {"GOVE"},
	"irve-statique":               {"ENER", "TRAN"},
	"irve-dynamique":              {"ENER", "TRAN"},
	"lieux-covoiturage":           {"TRAN"},
	"stationnement":               {"TRAN"},
	"stationnement-cyclable":      {"TRAN"},
	"arbres-urbains":              {"ENVI"},
	"fontaine-eau":                {"ENVI", "HEAL"},
	"dae":                         {"HEAL"},
	"mediation-numerique":         {"SOCI", "TECH"},
}

// keywordThemes maps word stems of keywords (lower case, no accents) to
// themes: a keyword containing the stem gives the theme.
var keywordThemes = []struct {
	stem  string
	theme string
}{
	{"agricul", "AGRI"}, {"aliment", "AGRI"}, {"peche", "AGRI"}, {"foret", "AGRI"},
	{"budget", "ECON"}, {"financ", "ECON"}, {"econom", "ECON"}, {"subvention", "ECON"}, {"marche", "ECON"}, {"commerce", "ECON"}, {"fiscal", "ECON"}, {"emploi", "ECON"},
	{"educ", "EDUC"}, {"ecole", "EDUC"}, {"scolaire", "EDUC"}, {"culture", "EDUC"}, {"sport", "EDUC"}, {"bibliotheque", "EDUC"}, {"musee", "EDUC"}, {"patrimoine", "EDUC"},
	{"energ", "ENER"}, {"electri", "ENER"}, {"recharge", "ENER"},
	{"environnement", "ENVI"}, {"arbre", "ENVI"}, {"dechet", "ENVI"}, {"eau", "ENVI"}, {"climat", "ENVI"}, {"air", "ENVI"}, {"espaces verts", "ENVI"}, {"biodiversite", "ENVI"}, {"proprete", "ENVI"},
	{"administration", "GOVE"}, {"deliberation", "GOVE"}, {"elu", "GOVE"}, {"conseil municipal", "GOVE"}, {"service public", "GOVE"}, {"collectivite", "GOVE"},
	{"sante", "HEAL"}, {"defibrillateur", "HEAL"}, {"hopital", "HEAL"},
	{"international", "INTR"}, {"jumelage", "INTR"},
	{"justice", "JUST"}, {"securite", "JUST"}, {"police", "JUST"}, {"delinquance", "JUST"},
	{"urbanisme", "REGI"}, {"territoire", "REGI"}, {"quartier", "REGI"}, {"commune", "REGI"}, {"adresse", "REGI"}, {"cadastre", "REGI"}, {"equipement", "REGI"},
	{"population", "SOCI"}, {"social", "SOCI"}, {"logement", "SOCI"}, {"solidarite", "SOCI"}, {"etat civil", "SOCI"}, {"prenom", "SOCI"}, {"association", "SOCI"},
	{"numerique", "TECH"}, {"recherche", "TECH"}, {"innovation", "TECH"},
	{"transport", "TRAN"}, {"voirie", "TRAN"}, {"mobilite", "TRAN"}, {"velo", "TRAN"}, {"stationnement", "TRAN"}, {"circulation", "TRAN"}, {"route", "TRAN"}, {"travaux", "TRAN"}, {"covoiturage", "TRAN"},
}

// Fold lower-cases s and removes its accents ("Éducation" → "education"),
// for matching keywords and searching.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// ThemesOf gives a dataset's EU themes: from its schema, then from its
// keywords, in the order of Themes, without duplicates.
func ThemesOf(schema string, keywords []string) []Theme {
	set := map[string]bool{}
	for _, c := range schemaThemes[schema] {
		set[c] = true
	}
	for _, k := range keywords {
		fk := " " + Fold(k) + " "
		for _, kt := range keywordThemes {
			// A stem matches at the start of a word ("eau" in "eau potable",
			// not in "réseau").
			if strings.Contains(fk, " "+kt.stem) {
				set[kt.theme] = true
			}
		}
	}
	var out []Theme
	for _, t := range Themes {
		if set[t.Code] {
			out = append(out, t)
		}
	}
	return out
}

// euFrequency maps the data.gouv.fr (udata) frequency ids to the EU
// frequency vocabulary (the mapping udata reads back when it harvests).
var euFrequency = map[string]string{
	"unknown": "UNKNOWN", "punctual": "NEVER", "continuous": "CONT", "oneMinute": "1MIN", "fiveMinutes": "5MIN",
	"tenMinutes": "10MIN", "fifteenMinutes": "15MIN", "thirtyMinutes": "30MIN", "hourly": "HOURLY", "bihourly": "BIHOURLY",
	"trihourly": "TRIHOURLY", "twelveHours": "12HRS", "severalTimesADay": "CONT", "threeTimesADay": "DAILY_3",
	"semidaily": "DAILY_2", "daily": "DAILY", "fiveTimesAWeek": "OTHER", "threeTimesAWeek": "WEEKLY_3",
	"semiweekly": "WEEKLY_2", "weekly": "WEEKLY", "biweekly": "BIWEEKLY", "threeTimesAMonth": "MONTHLY_3",
	"semimonthly": "MONTHLY_2", "monthly": "MONTHLY", "bimonthly": "BIMONTHLY", "quarterly": "QUARTERLY",
	"threeTimesAYear": "ANNUAL_3", "semiannual": "ANNUAL_2", "annual": "ANNUAL", "biennial": "BIENNIAL",
	"triennial": "TRIENNIAL", "quadrennial": "QUADRENNIAL", "quinquennial": "QUINQUENNIAL", "decennial": "DECENNIAL",
	"bidecennial": "BIDECENNIAL", "tridecennial": "TRIDECENNIAL", "irregular": "IRREG", "never": "NEVER",
	"notPlanned": "NOT_PLANNED", "other": "OTHER",
}

// FrequencyIRI is the EU frequency of a data.gouv.fr frequency id ("" for
// none).
func FrequencyIRI(freq string) string {
	if c, ok := euFrequency[freq]; ok {
		return frequencyNS + c
	}
	return ""
}

// Licence is a licence as the catalog describes it.
type Licence struct {
	ID    string // the dataset's value, e.g. "etalab-2.0"
	URI   string
	Label string // French name
}

// licences are the licences the French decree allows, with the URI
// data.gouv.fr matches when it harvests (its own licence URLs).
var licences = []struct {
	ids []string
	Licence
}{
	{[]string{"etalab-2.0", "lov2", "licence-ouverte-2.0"}, Licence{URI: "https://www.etalab.gouv.fr/licence-ouverte-open-licence", Label: "Licence Ouverte / Open Licence version 2.0"}},
	{[]string{"fr-lo", "etalab-1.0"}, Licence{URI: "https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf", Label: "Licence Ouverte / Open Licence version 1.0"}},
	{[]string{"odc-odbl", "odbl", "odbl-1.0"}, Licence{URI: "https://opendatacommons.org/licenses/odbl/1-0/", Label: "Open Database License (ODbL) 1.0"}},
	{[]string{"odc-by", "odc-by-1.0"}, Licence{URI: "https://opendatacommons.org/licenses/by/1-0/", Label: "Open Data Commons Attribution License 1.0"}},
	{[]string{"odc-pddl", "pddl"}, Licence{URI: "https://opendatacommons.org/licenses/pddl/1-0/", Label: "Open Data Commons Public Domain Dedication and Licence 1.0"}},
	{[]string{"cc-by", "cc-by-4.0"}, Licence{URI: "https://creativecommons.org/licenses/by/4.0/", Label: "Creative Commons Attribution 4.0"}},
	{[]string{"cc-by-sa", "cc-by-sa-4.0"}, Licence{URI: "https://creativecommons.org/licenses/by-sa/4.0/", Label: "Creative Commons Attribution – Partage dans les mêmes conditions 4.0"}},
	{[]string{"cc0", "cc0-1.0", "cc-zero"}, Licence{URI: "https://creativecommons.org/publicdomain/zero/1.0/", Label: "Creative Commons Zero 1.0"}},
}

// LicenceOf describes a dataset's licence value: a known id (case aside),
// an http(s) URL given as is, or an unknown name (URI "": the catalog
// describes it by its label only).
func LicenceOf(v string) Licence {
	v = strings.TrimSpace(v)
	if v == "" {
		v = "etalab-2.0"
	}
	lv := strings.ToLower(v)
	for _, l := range licences {
		if slices.Contains(l.ids, lv) {
			out := l.Licence
			out.ID = v
			return out
		}
	}
	if ValidIRI(v) {
		return Licence{ID: v, URI: v, Label: v}
	}
	return Licence{ID: v, Label: v}
}

// ValidIRI reports whether v is an absolute http(s) IRI that RDF
// serialisations carry as is: no spaces, no <>"{}|\^` characters.
func ValidIRI(v string) bool {
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		return false
	}
	if strings.ContainsAny(v, "<>\"{}|\\^`") {
		return false
	}
	for _, r := range v {
		if r <= 0x20 || r == 0x7f {
			return false
		}
	}
	u, err := url.Parse(v)
	return err == nil && u.Host != ""
}

// Format is a download format of the datasets.
type Format struct {
	Name      string // path segment of the export route: "csv"
	Title     string
	FileType  string // EU file type code
	MediaType string
}

// Formats are the exports every public dataset offers.
var Formats = []Format{
	{Name: "csv", Title: "Export CSV", FileType: "CSV", MediaType: "text/csv"},
	{Name: "json", Title: "Export JSON", FileType: "JSON", MediaType: "application/json"},
}
