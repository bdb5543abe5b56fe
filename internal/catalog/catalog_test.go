package catalog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/piprate/json-gold/ld"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/catalog"
	"github.com/civicflow/civicflow/internal/store"
)

const base = "https://data.ville-exemple.fr"

func sampleEntries() []catalog.Entry {
	t0 := time.Date(2026, 3, 12, 9, 30, 0, 0, time.UTC)
	return []catalog.Entry{
		{
			Dataset: store.Dataset{ID: "subventions-2025", Title: "Subventions « 2025 »", Description: "Les subventions\nattribuées par la ville — \"avec\" des \\ guillemets.",
				Department: "finances", SchemaName: "scdl-subventions", Licence: "etalab-2.0", Frequency: "annual",
				Keywords: store.Strings{"subventions", "associations"}, Spatial: "Ville d'Exemple", TemporalStart: "2025-01-01", TemporalEnd: "2025-12-31"},
			Release:        store.Release{Number: 3, Rows: 29, CreatedAt: t0},
			Issued:         t0.AddDate(0, -2, 0),
			DepartmentName: "Direction des finances",
		},
		{
			Dataset: store.Dataset{ID: "travaux", Title: "Travaux de voirie", Department: "voirie", Licence: "odc-odbl", Frequency: "weekly",
				Keywords: store.Strings{"Voirie", "Mobilité"}, Spatial: "https://id.insee.fr/geo/commune/69123"},
			Release: store.Release{Number: 1, Rows: 250, CreatedAt: t0.Add(time.Hour)},
		},
	}
}

func sampleGraph() *catalog.Graph {
	return catalog.Build(catalog.Options{BaseURL: base + "/", Title: "Données ouvertes de la Ville d'Exemple", Description: "Le catalogue",
		Publisher: catalog.Publisher{Name: "Ville d'Exemple"}}, sampleEntries())
}

// nt is a triple in N-Triples form, blank nodes named after the one
// triple that points at them (labels differ between serialisations).
type nt struct{ s, p, o string }

func termString(kind, value, datatype, lang string) string {
	switch kind {
	case "iri":
		return "<" + value + ">"
	case "blank":
		return "_:" + value
	}
	s := strconv.Quote(value)
	if lang != "" {
		return s + "@" + lang
	}
	if datatype != "" && datatype != "http://www.w3.org/2001/XMLSchema#string" {
		return s + "^^<" + datatype + ">"
	}
	return s
}

// canonical renames blank nodes after their referrer and sorts. A blank
// node several triples point at (a licence shared by the distributions) is
// named after the smallest referrer, whatever order the parser gave.
func canonical(ts []nt) []string {
	name := map[string]string{}
	for _, t := range ts {
		if strings.HasPrefix(t.o, "_:") && !strings.HasPrefix(t.s, "_:") {
			n := "[" + t.s + " " + t.p + "]"
			if old, ok := name[t.o]; !ok || n < old {
				name[t.o] = n
			}
		}
	}
	ren := func(x string) string {
		if n, ok := name[x]; ok {
			return n
		}
		return x
	}
	var out []string
	for _, t := range ts {
		out = append(out, ren(t.s)+" "+t.p+" "+ren(t.o))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func fromGraph(g *catalog.Graph) []nt {
	conv := func(t catalog.Term) string {
		switch t.Kind {
		case catalog.IRIKind:
			return termString("iri", t.Value, "", "")
		case catalog.BlankKind:
			return termString("blank", t.Value, "", "")
		}
		return termString("lit", t.Value, t.Datatype, t.Lang)
	}
	var out []nt
	for _, t := range g.Triples {
		out = append(out, nt{conv(t.S), conv(t.P), conv(t.O)})
	}
	return out
}

// parseJSONLD reads a JSON-LD document with a JSON-LD 1.1 processor
// (json-gold) into triples.
func parseJSONLD(t *testing.T, doc []byte) []nt {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(doc, &v))
	proc := ld.NewJsonLdProcessor()
	opts := ld.NewJsonLdOptions("")
	res, err := proc.ToRDF(v, opts)
	require.NoError(t, err)
	ds := res.(*ld.RDFDataset)
	conv := func(n ld.Node) string {
		switch x := n.(type) {
		case ld.IRI:
			return termString("iri", x.Value, "", "")
		case *ld.IRI:
			return termString("iri", x.Value, "", "")
		case ld.BlankNode:
			return termString("blank", strings.TrimPrefix(x.Attribute, "_:"), "", "")
		case *ld.BlankNode:
			return termString("blank", strings.TrimPrefix(x.Attribute, "_:"), "", "")
		case ld.Literal:
			return termString("lit", x.Value, x.Datatype, x.Language)
		case *ld.Literal:
			return termString("lit", x.Value, x.Datatype, x.Language)
		}
		t.Fatalf("unknown node %T", n)
		return ""
	}
	var out []nt
	for _, q := range ds.GetQuads("@default") {
		out = append(out, nt{conv(q.Subject), conv(q.Predicate), conv(q.Object)})
	}
	return out
}

func TestJSONLDParsesToTheGraph(t *testing.T) {
	g := sampleGraph()
	doc, err := g.MarshalJSONLD()
	require.NoError(t, err)
	got := canonical(parseJSONLD(t, doc))
	want := canonical(fromGraph(g))
	require.Equal(t, want, got)
}

func TestTurtleParsesToTheGraph(t *testing.T) {
	g := sampleGraph()
	var buf bytes.Buffer
	require.NoError(t, g.WriteTurtle(&buf))
	got := canonical(parseTurtle(t, buf.String()))
	require.Equal(t, canonical(fromGraph(g)), got)
}

// The triples data.gouv.fr's DCAT harvester reads (udata's rdf mapping):
// title, description, keywords and themes (tags), frequency, temporal
// coverage, identifier (remote_id), landing page (remote_url), and per
// distribution the URL, format, media type and licence.
func TestHarvesterTriples(t *testing.T) {
	doc, err := sampleGraph().MarshalJSONLD()
	require.NoError(t, err)
	ts := canonical(parseJSONLD(t, doc))
	has := func(s string) {
		t.Helper()
		require.Contains(t, ts, s)
	}
	const dcat, dct = "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/"
	cat := "<" + base + "/catalog>"
	ds := "<" + base + "/catalog/subventions-2025>"
	csv := "<" + base + "/api/explore/v2.1/catalog/datasets/subventions-2025/exports/csv>"
	has(cat + " <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <" + dcat + "Catalog>")
	has(cat + " <" + dct + "title> \"Données ouvertes de la Ville d'Exemple\"@fr")
	has(cat + " <" + dct + "publisher> <" + base + "/#collectivite>")
	has("<" + base + "/#collectivite> <http://xmlns.com/foaf/0.1/name> \"Ville d'Exemple\"@fr")
	has(cat + " <" + dcat + "dataset> " + ds)
	has(ds + " <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <" + dcat + "Dataset>")
	has(ds + " <" + dct + "identifier> \"subventions-2025\"")
	has(ds + " <" + dct + "title> " + strconv.Quote("Subventions « 2025 »") + "@fr")
	has(ds + " <" + dct + "description> " + strconv.Quote(sampleEntries()[0].Dataset.Description) + "@fr")
	has(ds + " <" + dcat + "keyword> \"associations\"@fr")
	has(ds + " <" + dcat + "theme> <http://publications.europa.eu/resource/authority/data-theme/GOVE>")
	has(ds + " <" + dct + "accrualPeriodicity> <http://publications.europa.eu/resource/authority/frequency/ANNUAL>")
	has(ds + " <" + dcat + "landingPage> " + ds)
	has(ds + " <" + dct + "conformsTo> <https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json>")
	has(ds + " <" + dct + "issued> \"2026-01-12T09:30:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime>")
	has(ds + " <" + dct + "modified> \"2026-03-12T09:30:00Z\"^^<http://www.w3.org/2001/XMLSchema#dateTime>")
	temporal := "[" + ds + " <" + dct + "temporal>]"
	has(ds + " <" + dct + "temporal> " + temporal)
	has(temporal + " <" + dcat + "startDate> \"2025-01-01\"^^<http://www.w3.org/2001/XMLSchema#date>")
	has(temporal + " <http://schema.org/endDate> \"2025-12-31\"^^<http://www.w3.org/2001/XMLSchema#date>")
	has(ds + " <" + dcat + "distribution> " + csv)
	has(csv + " <" + dcat + "downloadURL> " + csv)
	has(csv + " <" + dct + "format> <http://publications.europa.eu/resource/authority/file-type/CSV>")
	has(csv + " <" + dcat + "mediaType> <http://www.iana.org/assignments/media-types/text/csv>")
	has(csv + " <" + dct + "license> <https://www.etalab.gouv.fr/licence-ouverte-open-licence>")
	// The API as a data service, and the other dataset's licence and themes.
	has("<" + base + "/api/explore/v2.1> <" + dcat + "endpointURL> <" + base + "/api/explore/v2.1>")
	tr := "<" + base + "/catalog/travaux>"
	has(tr + " <" + dct + "license> <https://opendatacommons.org/licenses/odbl/1-0/>")
	has(tr + " <" + dcat + "theme> <http://publications.europa.eu/resource/authority/data-theme/TRAN>")
	has(tr + " <" + dct + "spatial> <https://id.insee.fr/geo/commune/69123>")
	has(tr + " <" + dct + "accrualPeriodicity> <http://publications.europa.eu/resource/authority/frequency/WEEKLY>")
	// A dataset without a description gets its title (DCAT-AP requires one).
	has(tr + " <" + dct + "description> \"Travaux de voirie\"@fr")
}

func TestEmptyCatalogIsValid(t *testing.T) {
	g := catalog.Build(catalog.Options{BaseURL: base, Title: "Catalogue", Description: "Vide", Publisher: catalog.Publisher{Name: "X", URI: "https://example.org/org"}}, nil)
	doc, err := g.MarshalJSONLD()
	require.NoError(t, err)
	ts := canonical(parseJSONLD(t, doc))
	require.Contains(t, ts, "<"+base+"/catalog> <http://purl.org/dc/terms/publisher> <https://example.org/org>")
	var buf bytes.Buffer
	require.NoError(t, g.WriteTurtle(&buf))
	require.Equal(t, ts, canonical(parseTurtle(t, buf.String())))
}

// Hostile metadata (quotes, backslashes, control characters, fake Turtle
// and JSON-LD syntax) stays a literal in both serialisations.
func TestHostileMetadataStaysLiteral(t *testing.T) {
	e := sampleEntries()[:1]
	e[0].Dataset.Title = "\"> . <http://evil> <http://evil> \"x\" . \x01\x7f @prefix"
	e[0].Dataset.Description = `{"@id": "http://evil", "@context": {}} """ '''` + "\r\n\t"
	e[0].Dataset.Keywords = store.Strings{`\u0022`, "a\"b", "_:b0"}
	e[0].Dataset.Licence = "http://licence.example/a b>c"
	g := catalog.Build(catalog.Options{BaseURL: base, Title: "T", Description: "D", Publisher: catalog.Publisher{Name: "P"}}, e)
	doc, err := g.MarshalJSONLD()
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, g.WriteTurtle(&buf))
	want := canonical(fromGraph(g))
	require.Equal(t, want, canonical(parseJSONLD(t, doc)))
	require.Equal(t, want, canonical(parseTurtle(t, buf.String())))
	for _, tr := range want {
		require.False(t, strings.HasPrefix(tr, "<http://evil>") || strings.HasSuffix(tr, " <http://evil>"), tr)
	}
}

func TestThemesAndFrequencies(t *testing.T) {
	codes := func(ts []catalog.Theme) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Code)
		}
		return out
	}
	require.Equal(t, []string{"ECON", "GOVE"}, codes(catalog.ThemesOf("scdl-subventions", nil)))
	require.Equal(t, []string{"TRAN"}, codes(catalog.ThemesOf("", []string{"Mobilité douce"})))
	require.Equal(t, []string{"ENVI"}, codes(catalog.ThemesOf("", []string{"Eau potable"})))
	require.Empty(t, codes(catalog.ThemesOf("", []string{"réseau"})), "eau only at the start of a word")
	require.Equal(t, []string{"EDUC", "HEAL"}, codes(catalog.ThemesOf("", []string{"Santé", "ÉCOLES"})))
	require.Equal(t, "http://publications.europa.eu/resource/authority/frequency/MONTHLY", catalog.FrequencyIRI("monthly"))
	require.Equal(t, "http://publications.europa.eu/resource/authority/frequency/IRREG", catalog.FrequencyIRI("irregular"))
	require.Equal(t, "", catalog.FrequencyIRI("whenever"))
	require.Equal(t, "https://www.etalab.gouv.fr/licence-ouverte-open-licence", catalog.LicenceOf("").URI)
	require.Equal(t, "https://www.etalab.gouv.fr/licence-ouverte-open-licence", catalog.LicenceOf("Etalab-2.0").URI)
	require.Equal(t, "", catalog.LicenceOf("Licence maison").URI)
}

// ---- a Turtle reader for the tests (the subset RDF 1.1 Turtle that
// WriteTurtle writes, read strictly: any other token fails the test) ----

func parseTurtle(t *testing.T, src string) []nt {
	t.Helper()
	p := &ttl{t: t, src: src, prefixes: map[string]string{}}
	return p.doc()
}

type ttl struct {
	t        *testing.T
	src      string
	pos      int
	prefixes map[string]string
	out      []nt
}

func (p *ttl) fail(msg string, args ...any) {
	p.t.Helper()
	end := min(p.pos+40, len(p.src))
	p.t.Fatalf("turtle at %d (%q): %s", p.pos, p.src[p.pos:end], fmt.Sprintf(msg, args...))
}

func (p *ttl) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		case '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func (p *ttl) expect(s string) {
	p.ws()
	if !strings.HasPrefix(p.src[p.pos:], s) {
		p.fail("expected %q", s)
	}
	p.pos += len(s)
}

func (p *ttl) doc() []nt {
	for {
		p.ws()
		if p.pos >= len(p.src) {
			return p.out
		}
		if strings.HasPrefix(p.src[p.pos:], "@prefix") {
			p.pos += len("@prefix")
			p.ws()
			name := p.pname()
			if !strings.HasSuffix(name, ":") {
				p.fail("prefix name")
			}
			p.ws()
			p.prefixes[strings.TrimSuffix(name, ":")] = p.iriref()
			p.expect(".")
			continue
		}
		s := p.term(false)
		for {
			p.ws()
			pred := "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
			if strings.HasPrefix(p.src[p.pos:], "a ") {
				p.pos++
			} else {
				pred = p.term(false)
			}
			for {
				p.out = append(p.out, nt{s, pred, p.term(true)})
				p.ws()
				if p.pos < len(p.src) && p.src[p.pos] == ',' {
					p.pos++
					continue
				}
				break
			}
			if p.pos < len(p.src) && p.src[p.pos] == ';' {
				p.pos++
				continue
			}
			p.expect(".")
			break
		}
	}
}

func (p *ttl) pname() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ':' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *ttl) iriref() string {
	p.expect("<")
	end := strings.IndexByte(p.src[p.pos:], '>')
	if end < 0 {
		p.fail("unterminated IRI")
	}
	v := p.src[p.pos : p.pos+end]
	if strings.ContainsAny(v, " \"{}|^`\\<\n") {
		p.fail("bad IRI %q", v)
	}
	p.pos += end + 1
	return v
}

func (p *ttl) term(object bool) string {
	p.ws()
	if p.pos >= len(p.src) {
		p.fail("unexpected end")
	}
	switch c := p.src[p.pos]; {
	case c == '<':
		return "<" + p.iriref() + ">"
	case c == '"' && object:
		v := p.str()
		if strings.HasPrefix(p.src[p.pos:], "@") {
			p.pos++
			return strconv.Quote(v) + "@" + p.pname()
		}
		if strings.HasPrefix(p.src[p.pos:], "^^") {
			p.pos += 2
			dt := p.term(false)
			return strconv.Quote(v) + "^^" + dt
		}
		return strconv.Quote(v)
	case strings.HasPrefix(p.src[p.pos:], "_:"):
		p.pos += 2
		return "_:" + p.pname()
	default:
		name := p.pname()
		prefix, local, ok := strings.Cut(name, ":")
		ns, known := p.prefixes[prefix]
		if !ok || !known {
			p.fail("unknown name %q", name)
		}
		return "<" + ns + local + ">"
	}
}

func (p *ttl) str() string {
	p.pos++ // "
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			p.fail("unterminated string")
		}
		c := p.src[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String()
		case '\n', '\r':
			p.fail("raw newline in a short string")
		case '\\':
			p.pos++
			switch e := p.src[p.pos]; e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '\'':
				b.WriteByte(e)
			case 'u':
				n, err := strconv.ParseUint(p.src[p.pos+1:p.pos+5], 16, 32)
				if err != nil {
					p.fail("bad \\u escape")
				}
				b.WriteRune(rune(n))
				p.pos += 4
			default:
				p.fail("bad escape \\%c", e)
			}
			p.pos++
		default:
			r, size := utf8.DecodeRuneInString(p.src[p.pos:])
			b.WriteRune(r)
			p.pos += size
		}
	}
}
