// Package catalog describes the public catalog in DCAT-AP (2.x/3.0, the EU
// application profile of W3C DCAT that data.gouv.fr harvests): a
// dcat:Catalog, a dcat:Dataset per public dataset with an exposed release,
// a dcat:Distribution per export format and one for the records API, and
// the API itself as a dcat:DataService. Build gives an RDF graph; the web
// layer writes it as JSON-LD or Turtle.
//
// Choices a harvester relies on:
//   - the dataset IRI is its public page, BASE/catalog/{id}, also its
//     dcat:landingPage; dct:identifier is the dataset id (data.gouv.fr's
//     remote_id), which never changes;
//   - dct:issued is the date of the first release, dct:modified that of the
//     exposed release;
//   - dct:accrualPeriodicity uses the EU frequency vocabulary, themes the EU
//     data themes (from the schema, then from keywords, see ThemesOf);
//   - dct:temporal is a dct:PeriodOfTime with dcat:startDate/dcat:endDate
//     (DCAT 2) and schema:startDate/schema:endDate (what older udata
//     versions read);
//   - dct:license is on the dataset and on each distribution (data.gouv.fr
//     reads the distributions'), with the licence URLs data.gouv.fr knows;
//   - dct:conformsTo points at the Table Schema descriptor (the official
//     schema.json of shipped national schemas).
package catalog

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// Options describe the catalog itself.
type Options struct {
	// BaseURL is the public address of the site, without a trailing slash
	// ("https://data.ville-x.fr"): every IRI is under it.
	BaseURL     string
	Title       string
	Description string
	Publisher   Publisher
}

// Publisher is the collectivité that publishes the catalog.
type Publisher struct {
	Name string
	// URI identifies it; "" = BASE/#collectivite.
	URI string
}

// Entry is a public dataset with its exposed release.
type Entry struct {
	Dataset store.Dataset
	Release store.Release
	// Issued is when the first release was made (zero: the exposed
	// release's date).
	Issued time.Time
	// DepartmentName is the name of the dataset's department (the contact
	// point); "" = its slug.
	DepartmentName string
}

// Paths of the public routes the catalog points at.
const (
	ExplorePath = "/api/explore/v2.1"
	CatalogPath = "/catalog"
)

// DatasetURL is the public page (and IRI) of a dataset.
func DatasetURL(base, id string) string { return base + CatalogPath + "/" + url.PathEscape(id) }

// ExportURL is the download URL of a dataset in a format ("csv").
func ExportURL(base, id, format string) string {
	return base + ExplorePath + "/catalog/datasets/" + url.PathEscape(id) + "/exports/" + format
}

// RecordsURL is the records API of a dataset.
func RecordsURL(base, id string) string {
	return base + ExplorePath + "/catalog/datasets/" + url.PathEscape(id) + "/records"
}

// SchemaURL is where a schema's descriptor is published: the official
// schema.json of a shipped national schema ("path" of its descriptor),
// else this site's schema route.
func SchemaURL(base, name string, version int) string {
	if p := shippedPath(name); p != "" {
		return p
	}
	u := base + "/api/v1/schemas/" + url.PathEscape(name)
	if version > 0 {
		u += "?version=" + strconv.Itoa(version)
	}
	return u
}

// shippedPaths caches the "path" of the shipped schemas' descriptors
// (name → URL, "" for none or not shipped).
var shippedPaths sync.Map

func shippedPath(name string) string {
	if v, ok := shippedPaths.Load(name); ok {
		return v.(string)
	}
	p := ""
	if data, err := tableschema.ShippedDescriptor(name); err == nil {
		var d struct {
			Path string `json:"path"`
		}
		if json.Unmarshal(data, &d) == nil && ValidIRI(d.Path) {
			p = d.Path
		}
		shippedPaths.Store(name, p) // only shipped names: the map stays small
	}
	return p
}

func (o Options) publisherURI() string {
	if ValidIRI(o.Publisher.URI) {
		return o.Publisher.URI
	}
	return o.BaseURL + "/#collectivite"
}

func dateTime(t time.Time) Term { return Typed(t.UTC().Format(time.RFC3339), "dateTime") }

// Build describes the catalog and its entries (already filtered: only
// public datasets with an exposed release) as a DCAT-AP graph.
func Build(o Options, entries []Entry) *Graph {
	g := &Graph{Triples: make([]Triple, 0, 40+70*len(entries))}
	base := strings.TrimSuffix(o.BaseURL, "/")
	o.BaseURL = base
	cat := IRI(base + CatalogPath)
	svc := IRI(base + ExplorePath)
	pub := IRI(o.publisherURI())
	catLicence := LicenceOf(store.DefaultLicence)

	g.Add(cat, "a", IRI(expand("dcat:Catalog")))
	g.Add(cat, "dct:title", TextFr(o.Title))
	g.Add(cat, "dct:description", TextFr(o.Description))
	g.Add(cat, "dct:publisher", pub)
	g.Add(cat, "foaf:homepage", IRI(base+CatalogPath))
	g.Add(cat, "dct:language", IRI(LanguageFR))
	g.Add(cat, "dct:license", IRI(catLicence.URI))
	g.Add(cat, "dcat:themeTaxonomy", IRI(ThemeTaxonomy))
	var issued, modified time.Time
	for _, e := range entries {
		is := e.Issued
		if is.IsZero() {
			is = e.Release.CreatedAt
		}
		if issued.IsZero() || is.Before(issued) {
			issued = is
		}
		if e.Release.CreatedAt.After(modified) {
			modified = e.Release.CreatedAt
		}
	}
	if !issued.IsZero() {
		g.Add(cat, "dct:issued", dateTime(issued))
		g.Add(cat, "dct:modified", dateTime(modified))
	}
	for _, e := range entries {
		g.Add(cat, "dcat:dataset", IRI(DatasetURL(base, e.Dataset.ID)))
	}
	g.Add(cat, "dcat:service", svc)

	// The publisher.
	g.Add(pub, "a", IRI(expand("foaf:Agent")))
	g.Add(pub, "a", IRI(expand("foaf:Organization")))
	g.Add(pub, "foaf:name", TextFr(o.Publisher.Name))
	g.Add(pub, "dct:type", IRI("http://purl.org/adms/publishertype/LocalAuthority"))

	// The licence documents.
	licenceSeen := map[string]bool{}
	licenceTerm := func(l Licence, id string) Term {
		t := IRI(l.URI)
		if l.URI == "" {
			t = Blank("licence-" + id)
		}
		key := t.Value + string(rune('0'+t.Kind))
		if !licenceSeen[key] {
			licenceSeen[key] = true
			g.Add(t, "a", IRI(expand("dct:LicenseDocument")))
			g.Add(t, "rdfs:label", TextFr(l.Label))
		}
		return t
	}
	licenceTerm(catLicence, "catalog")

	// The records API.
	g.Add(svc, "a", IRI(expand("dcat:DataService")))
	g.Add(svc, "dct:title", TextFr("API de données (compatible Opendatasoft Explore v2.1)"))
	g.Add(svc, "dct:description", TextFr("Interroger, filtrer et exporter les enregistrements des jeux de données publics. Documentation : "+base+"/developers"))
	g.Add(svc, "dcat:endpointURL", IRI(base+ExplorePath))
	g.Add(svc, "dcat:endpointDescription", IRI(base+"/developers"))
	g.Add(svc, "dct:publisher", pub)
	g.Add(svc, "dct:license", IRI(catLicence.URI))
	g.Add(svc, "dct:conformsTo", IRI("https://help.opendatasoft.com/apis/ods-explore-v2/"))
	for _, e := range entries {
		g.Add(svc, "dcat:servesDataset", IRI(DatasetURL(base, e.Dataset.ID)))
	}

	for _, e := range entries {
		addDataset(g, o, e, pub, svc, licenceTerm)
	}
	return g
}

func addDataset(g *Graph, o Options, e Entry, pub, svc Term, licenceTerm func(Licence, string) Term) {
	base, d, rel := o.BaseURL, e.Dataset, e.Release
	ds := IRI(DatasetURL(base, d.ID))
	lic := licenceTerm(LicenceOf(d.Licence), d.ID)
	issued := e.Issued
	if issued.IsZero() {
		issued = rel.CreatedAt
	}
	g.Add(ds, "a", IRI(expand("dcat:Dataset")))
	g.Add(ds, "dct:identifier", Text(d.ID))
	g.Add(ds, "dct:title", TextFr(d.Title))
	desc := d.Description
	if strings.TrimSpace(desc) == "" {
		desc = d.Title // DCAT-AP requires a description
	}
	g.Add(ds, "dct:description", TextFr(desc))
	g.Add(ds, "dcat:landingPage", ds)
	g.Add(ds, "dct:publisher", pub)
	g.Add(ds, "dct:language", IRI(LanguageFR))
	g.Add(ds, "dct:license", lic)
	g.Add(ds, "dct:accessRights", IRI("http://publications.europa.eu/resource/authority/access-right/PUBLIC"))
	g.Add(ds, "dct:issued", dateTime(issued))
	g.Add(ds, "dct:modified", dateTime(rel.CreatedAt))
	g.Add(ds, "adms:version", Text(strconv.Itoa(rel.Number)))
	for _, k := range d.Keywords {
		g.Add(ds, "dcat:keyword", TextFr(k))
	}
	for _, t := range ThemesOf(d.SchemaName, d.Keywords) {
		g.Add(ds, "dcat:theme", IRI(t.IRI()))
	}
	if f := FrequencyIRI(d.Frequency); f != "" {
		g.Add(ds, "dct:accrualPeriodicity", IRI(f))
	}
	var schema Term
	if d.SchemaName != "" {
		schema = IRI(SchemaURL(base, d.SchemaName, d.SchemaVersion))
		g.Add(ds, "dct:conformsTo", schema)
	}
	if d.TemporalStart != "" || d.TemporalEnd != "" {
		t := Blank("temporal-" + d.ID)
		g.Add(ds, "dct:temporal", t)
		g.Add(t, "a", IRI(expand("dct:PeriodOfTime")))
		if d.TemporalStart != "" {
			g.Add(t, "dcat:startDate", Typed(d.TemporalStart, "date"))
			g.Add(t, "schema:startDate", Typed(d.TemporalStart, "date"))
		}
		if d.TemporalEnd != "" {
			g.Add(t, "dcat:endDate", Typed(d.TemporalEnd, "date"))
			g.Add(t, "schema:endDate", Typed(d.TemporalEnd, "date"))
		}
	}
	if sp := strings.TrimSpace(d.Spatial); sp != "" {
		if ValidIRI(sp) {
			g.Add(ds, "dct:spatial", IRI(sp))
		} else {
			l := Blank("spatial-" + d.ID)
			g.Add(ds, "dct:spatial", l)
			g.Add(l, "a", IRI(expand("dct:Location")))
			g.Add(l, "skos:prefLabel", TextFr(sp))
			g.Add(l, "locn:geographicName", TextFr(sp))
		}
	}
	cp := Blank("contact-" + d.ID)
	g.Add(ds, "dcat:contactPoint", cp)
	g.Add(cp, "a", IRI(expand("vcard:Organization")))
	dept := e.DepartmentName
	if dept == "" {
		dept = d.Department
	}
	name := dept
	if o.Publisher.Name != "" {
		name = dept + " — " + o.Publisher.Name
	}
	g.Add(cp, "vcard:fn", TextFr(name))
	g.Add(cp, "vcard:hasURL", IRI(DatasetURL(base, d.ID)))

	for _, f := range Formats {
		dist := IRI(ExportURL(base, d.ID, f.Name))
		g.Add(ds, "dcat:distribution", dist)
		g.Add(dist, "a", IRI(expand("dcat:Distribution")))
		g.Add(dist, "dct:title", TextFr(f.Title+" — "+d.Title))
		g.Add(dist, "dct:description", TextFr("Tous les enregistrements de la version "+strconv.Itoa(rel.Number)+" ("+strconv.FormatInt(rel.Rows, 10)+" lignes), au format "+f.FileType+"."))
		g.Add(dist, "dcat:accessURL", dist)
		g.Add(dist, "dcat:downloadURL", dist)
		g.Add(dist, "dct:format", IRI(fileTypeNS+f.FileType))
		g.Add(dist, "dcat:mediaType", IRI(mediaTypeNS+f.MediaType))
		g.Add(dist, "dct:license", lic)
		g.Add(dist, "dct:issued", dateTime(issued))
		g.Add(dist, "dct:modified", dateTime(rel.CreatedAt))
		g.Add(dist, "dcatap:availability", IRI("http://data.europa.eu/r5r/availability/stable"))
		if f.Name == "csv" && schema.Value != "" {
			g.Add(dist, "dct:conformsTo", schema)
		}
	}
	api := IRI(RecordsURL(base, d.ID))
	g.Add(ds, "dcat:distribution", api)
	g.Add(api, "a", IRI(expand("dcat:Distribution")))
	g.Add(api, "dct:title", TextFr("API — "+d.Title))
	g.Add(api, "dct:description", TextFr("Enregistrements interrogeables (where, select, order_by, refine…) par l'API compatible Opendatasoft Explore v2.1."))
	g.Add(api, "dcat:accessURL", api)
	g.Add(api, "dcat:accessService", svc)
	g.Add(api, "dct:format", IRI(fileTypeNS+"JSON"))
	g.Add(api, "dcat:mediaType", IRI(mediaTypeNS+"application/json"))
	g.Add(api, "dct:license", lic)
	g.Add(api, "dct:modified", dateTime(rel.CreatedAt))
}
