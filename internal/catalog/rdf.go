package catalog

import (
	"bufio"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"
)

// A small RDF model: the catalog is built once as a set of triples, then
// written as Turtle or JSON-LD, so that the two serialisations always say
// the same thing (the tests parse both and compare them).

// Namespaces of the vocabularies the catalog uses, by prefix.
var Namespaces = []struct{ Prefix, IRI string }{
	{"adms", "http://www.w3.org/ns/adms#"},
	{"dcat", "http://www.w3.org/ns/dcat#"},
	{"dcatap", "http://data.europa.eu/r5r/"},
	{"dct", "http://purl.org/dc/terms/"},
	{"foaf", "http://xmlns.com/foaf/0.1/"},
	{"locn", "http://www.w3.org/ns/locn#"},
	{"rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"},
	{"rdfs", "http://www.w3.org/2000/01/rdf-schema#"},
	{"schema", "http://schema.org/"},
	{"skos", "http://www.w3.org/2004/02/skos/core#"},
	{"vcard", "http://www.w3.org/2006/vcard/ns#"},
	{"xsd", "http://www.w3.org/2001/XMLSchema#"},
}

// TermKind says what a term is.
type TermKind uint8

// Term kinds.
const (
	IRIKind TermKind = iota
	BlankKind
	LiteralKind
)

// Term is an RDF term: an IRI, a blank node (Value is its label) or a
// literal (Value, with a Datatype IRI or a Lang tag).
type Term struct {
	Kind     TermKind
	Value    string
	Datatype string
	Lang     string
}

// Triple is one statement.
type Triple struct{ S, P, O Term }

const (
	xsdNS   = "http://www.w3.org/2001/XMLSchema#"
	rdfType = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
)

// IRI is an IRI term.
func IRI(v string) Term { return Term{Kind: IRIKind, Value: v} }

// Blank is a blank node labelled l.
func Blank(l string) Term { return Term{Kind: BlankKind, Value: l} }

// Text is a plain string literal.
func Text(v string) Term { return Term{Kind: LiteralKind, Value: v} }

// TextFr is a French literal.
func TextFr(v string) Term { return Term{Kind: LiteralKind, Value: v, Lang: "fr"} }

// Typed is a literal of the XML Schema type t ("date", "dateTime"…).
func Typed(v, t string) Term { return Term{Kind: LiteralKind, Value: v, Datatype: xsdNS + t} }

// Graph is an ordered set of triples.
type Graph struct {
	Triples []Triple
}

// Add appends a triple; empty literals are skipped (an absent value).
func (g *Graph) Add(s Term, p string, o Term) {
	if o.Kind == LiteralKind && o.Value == "" {
		return
	}
	g.Triples = append(g.Triples, Triple{S: s, P: IRI(expand(p)), O: o})
}

// expand turns "dct:title" into its IRI; full IRIs are left alone.
func expand(p string) string {
	if p == "a" {
		return rdfType
	}
	prefix, local, ok := strings.Cut(p, ":")
	if ok && !strings.HasPrefix(local, "//") {
		for _, ns := range Namespaces {
			if ns.Prefix == prefix {
				return ns.IRI + local
			}
		}
	}
	return p
}

// compact writes an IRI as prefix:local when a namespace covers it and the
// local part is a safe Turtle/JSON-LD name, else ok=false.
func compact(iri string) (string, bool) {
	for _, ns := range Namespaces {
		if local, ok := strings.CutPrefix(iri, ns.IRI); ok && safeLocal(local) {
			return ns.Prefix + ":" + local, true
		}
	}
	return "", false
}

func safeLocal(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case (r >= '0' && r <= '9' || r == '_' || r == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// subjects groups the triples by subject, in first-appearance order: the
// subjects, and for each the indexes of its triples.
func (g *Graph) subjects() ([]Term, map[Term][]int32) {
	var order []Term
	by := map[Term][]int32{}
	for i, t := range g.Triples {
		idx, seen := by[t.S]
		if !seen {
			order = append(order, t.S)
		}
		by[t.S] = append(idx, int32(i))
	}
	return order, by
}

// ---- Turtle ----

// WriteTurtle writes the graph as Turtle (RDF 1.1), grouped by subject.
func (g *Graph) WriteTurtle(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, ns := range Namespaces {
		bw.WriteString("@prefix " + ns.Prefix + ": <" + ns.IRI + "> .\n")
	}
	order, by := g.subjects()
	for _, s := range order {
		bw.WriteString("\n" + turtleTerm(s))
		idx := by[s]
		for i, ti := range idx {
			t := g.Triples[ti]
			sep := " ;\n    "
			if i == 0 {
				sep = "\n    "
			}
			if i > 0 && g.Triples[idx[i-1]].P == t.P {
				bw.WriteString(" ,\n        " + turtleTerm(t.O))
				continue
			}
			p := turtleTerm(t.P)
			if t.P.Value == rdfType {
				p = "a"
			}
			bw.WriteString(sep + p + " " + turtleTerm(t.O))
		}
		bw.WriteString(" .\n")
	}
	return bw.Flush()
}

func turtleTerm(t Term) string {
	switch t.Kind {
	case BlankKind:
		return "_:" + t.Value
	case LiteralKind:
		s := turtleString(t.Value)
		switch {
		case t.Lang != "":
			return s + "@" + t.Lang
		case t.Datatype != "":
			if c, ok := compact(t.Datatype); ok {
				return s + "^^" + c
			}
			return s + "^^<" + iriEscape(t.Datatype) + ">"
		}
		return s
	}
	if c, ok := compact(t.Value); ok {
		return c
	}
	return "<" + iriEscape(t.Value) + ">"
}

// turtleString quotes a literal: "…" with \ escapes, every control
// character as \uXXXX.
func turtleString(v string) string {
	plain := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == '"' || c == '\\' || c == 0x7f || c == 0xef { // 0xef: maybe U+FFFE/U+FFFF
			plain = false
			break
		}
	}
	if plain {
		return `"` + v + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f || r == 0xfffe || r == 0xffff {
				b.WriteString(`\u` + strings.ToUpper(leftPad(strconv.FormatInt(int64(r), 16), 4)))
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// iriEscape percent-encodes the characters an IRIREF may not hold.
func iriEscape(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r <= 0x20 || strings.ContainsRune("<>\"{}|^`\\", r) {
			b.WriteString("%" + strings.ToUpper(leftPad(strconv.FormatInt(int64(r), 16), 2)))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ---- JSON-LD ----

// Context is the JSON-LD @context of the catalog: the namespaces as
// prefixes.
func Context() map[string]string {
	ctx := map[string]string{}
	for _, ns := range Namespaces {
		ctx[ns.Prefix] = ns.IRI
	}
	return ctx
}

// JSONLD is the graph as a JSON-LD document: the @context and a flat
// @graph of node objects (one per subject), values in expanded form so
// that any JSON-LD 1.1 processor reads exactly the triples of the graph.
func (g *Graph) JSONLD() map[string]any {
	order, by := g.subjects()
	nodes := make([]any, 0, len(order))
	for _, s := range order {
		node := map[string]any{"@id": nodeID(s)}
		var types []string
		props := map[string][]any{}
		var keys []string
		for _, ti := range by[s] {
			t := g.Triples[ti]
			if t.P.Value == rdfType && t.O.Kind == IRIKind {
				types = append(types, compactOr(t.O.Value))
				continue
			}
			k := compactOr(t.P.Value)
			if _, ok := props[k]; !ok {
				keys = append(keys, k)
			}
			props[k] = append(props[k], jsonldValue(t.O))
		}
		if len(types) > 0 {
			node["@type"] = types
		}
		sort.Strings(keys)
		for _, k := range keys {
			node[k] = props[k]
		}
		nodes = append(nodes, node)
	}
	return map[string]any{"@context": Context(), "@graph": nodes}
}

// MarshalJSONLD encodes JSONLD (compact JSON, keys sorted: "@context"
// and "@graph" come first).
func (g *Graph) MarshalJSONLD() ([]byte, error) {
	return json.Marshal(g.JSONLD())
}

func compactOr(iri string) string {
	if c, ok := compact(iri); ok {
		return c
	}
	return iri
}

func nodeID(t Term) string {
	if t.Kind == BlankKind {
		return "_:" + t.Value
	}
	return t.Value
}

func jsonldValue(o Term) any {
	switch o.Kind {
	case IRIKind, BlankKind:
		return map[string]string{"@id": nodeID(o)}
	}
	v := map[string]string{"@value": o.Value}
	if o.Lang != "" {
		v["@language"] = o.Lang
	} else if o.Datatype != "" {
		v["@type"] = compactOr(o.Datatype)
	}
	return v
}
