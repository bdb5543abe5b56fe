package service

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civicflow/civicflow/internal/catalog"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// The public catalog: the DCAT-AP entries and the portal's search. Both
// start from PublicDatasets, so a private dataset, or one without an
// exposed release, never shows.

// PublicCatalog returns the catalog entries of every public dataset with an
// exposed release, by id: the release, the date of the first release and
// the department's name.
func (s *Service) PublicCatalog(ctx context.Context) ([]catalog.Entry, error) {
	_, list, err := s.PublicDatasets(ctx, -1, 0)
	if err != nil {
		return nil, err
	}
	depts, err := s.store.Departments(ctx)
	if err != nil {
		return nil, err
	}
	first, err := s.store.FirstReleaseDates(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, d := range depts {
		names[d.Slug] = d.Name
	}
	out := make([]catalog.Entry, 0, len(list))
	for _, pd := range list {
		out = append(out, catalog.Entry{Dataset: pd.Dataset, Release: pd.Release, DepartmentName: names[pd.Dataset.Department],
			Issued: first[pd.Dataset.ID]})
	}
	return out, nil
}

// PublicReleases lists the releases of a public dataset up to the exposed
// one (later ones are not public yet), newest first.
func (s *Service) PublicReleases(ctx context.Context, pd PublicDataset) ([]store.Release, error) {
	rels, err := s.store.Releases(ctx, pd.Dataset.ID)
	if err != nil {
		return nil, err
	}
	out := []store.Release{}
	for _, r := range rels {
		if r.Number <= pd.Release.Number {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number > out[j].Number })
	return out, nil
}

// PublicUsage is how much a public dataset's API is called: calls over the
// last 30 days and in the usage log's whole retention (the portal's simple
// usage figures; aggregates only, never who called).
type PublicUsage struct {
	Last30Days, Retained int64
}

// PublicUsageOf counts the metered API calls naming the dataset.
func (s *Service) PublicUsageOf(ctx context.Context, pd PublicDataset) (PublicUsage, error) {
	var u PublicUsage
	var err error
	if u.Last30Days, err = s.store.CountAPIUsage(ctx, store.UsageFilter{Dataset: pd.Dataset.ID, From: time.Now().AddDate(0, 0, -30)}); err != nil {
		return u, err
	}
	if u.Retained, err = s.store.CountAPIUsage(ctx, store.UsageFilter{Dataset: pd.Dataset.ID}); err != nil {
		return u, err
	}
	return u, nil
}

// Catalog facets, in the order the portal shows them.
const (
	FacetDepartment = "departement"
	FacetTheme      = "theme"
	FacetKeyword    = "mot-cle"
	FacetSchema     = "schema"
	FacetLicence    = "licence"
	FacetFrequency  = "frequence"
)

// CatalogFacets are the facet names, in display order.
var CatalogFacets = []string{FacetDepartment, FacetTheme, FacetKeyword, FacetSchema, FacetLicence, FacetFrequency}

// CatalogSearch is a search of the portal: words (all must appear in the
// title, description or keywords, accents and case aside), at most one
// value per facet, and a page.
type CatalogSearch struct {
	Q      string
	Refine map[string]string
	Limit  int
	Offset int
}

// MaxCatalogQuery bounds the search words (characters).
const MaxCatalogQuery = 200

// CatalogFacetValue is a value of a facet with the number of matching
// datasets that have it.
type CatalogFacetValue struct {
	Value    string
	Label    string
	Count    int
	Selected bool
}

// CatalogFacet is a facet with its values, most frequent first.
type CatalogFacet struct {
	Name   string
	Values []CatalogFacetValue
}

// CatalogResults is a page of the search.
type CatalogResults struct {
	Total   int
	Entries []catalog.Entry
	Facets  []CatalogFacet
}

// facetValues gives the values an entry has for a facet (value → label).
func facetValues(e catalog.Entry, facet string) map[string]string {
	d := e.Dataset
	out := map[string]string{}
	switch facet {
	case FacetDepartment:
		label := e.DepartmentName
		if label == "" {
			label = d.Department
		}
		out[d.Department] = label
	case FacetTheme:
		for _, t := range catalog.ThemesOf(d.SchemaName, d.Keywords) {
			out[t.Code] = t.Label
		}
	case FacetKeyword:
		for _, k := range d.Keywords {
			out[strings.ToLower(k)] = strings.ToLower(k)
		}
	case FacetSchema:
		if d.SchemaName != "" {
			out[d.SchemaName] = d.SchemaName
		}
	case FacetLicence:
		l := catalog.LicenceOf(d.Licence)
		out[l.ID] = l.Label
	case FacetFrequency:
		out[d.Frequency] = d.Frequency
	}
	return out
}

// SearchCatalog searches the public catalog. The catalog of a collectivité
// holds hundreds of datasets at most: the search runs in memory over
// PublicCatalog.
func (s *Service) SearchCatalog(ctx context.Context, q CatalogSearch) (CatalogResults, error) {
	if !utf8.ValidString(q.Q) || strings.IndexByte(q.Q, 0) >= 0 {
		return CatalogResults{}, Errorf(BadRequest, "invalid search text").French("La recherche contient des caractères invalides.")
	}
	if utf8.RuneCountInString(q.Q) > MaxCatalogQuery {
		return CatalogResults{}, Errorf(BadRequest, "search text longer than %d characters", MaxCatalogQuery).French("La recherche est trop longue (200 caractères au plus).")
	}
	for f, v := range q.Refine {
		if !slices.Contains(CatalogFacets, f) {
			return CatalogResults{}, Errorf(BadRequest, "unknown facet %q", f).French("Ce filtre n'existe pas.")
		}
		if !utf8.ValidString(v) || len(v) > 200 || strings.IndexByte(v, 0) >= 0 {
			return CatalogResults{}, Errorf(BadRequest, "invalid facet value").French("La valeur d'un filtre est invalide.")
		}
	}
	if k, ok := q.Refine[FacetKeyword]; ok { // keywords match case aside
		refine := map[string]string{}
		for f, v := range q.Refine {
			refine[f] = v
		}
		refine[FacetKeyword] = strings.ToLower(k)
		q.Refine = refine
	}
	all, err := s.PublicCatalog(ctx)
	if err != nil {
		return CatalogResults{}, err
	}
	words := strings.Fields(catalog.Fold(q.Q))
	var matched []catalog.Entry
	for _, e := range all {
		if matchesWords(e, words) {
			matched = append(matched, e)
		}
	}
	keep := func(e catalog.Entry, except string) bool {
		for f, v := range q.Refine {
			if f == except || v == "" {
				continue
			}
			if _, ok := facetValues(e, f)[v]; !ok {
				return false
			}
		}
		return true
	}
	res := CatalogResults{Entries: []catalog.Entry{}}
	var hits []catalog.Entry
	for _, e := range matched {
		if keep(e, "") {
			hits = append(hits, e)
		}
	}
	// Most recently updated first, then by title.
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i].Release.CreatedAt, hits[j].Release.CreatedAt
		if !a.Equal(b) {
			return a.After(b)
		}
		return hits[i].Dataset.Title < hits[j].Dataset.Title
	})
	res.Total = len(hits)
	// Facet counts: among the datasets the other facets keep (so that a
	// selected department still shows the other departments' counts).
	for _, f := range CatalogFacets {
		counts, labels := map[string]int{}, map[string]string{}
		for _, e := range matched {
			if !keep(e, f) {
				continue
			}
			for v, l := range facetValues(e, f) {
				counts[v]++
				labels[v] = l
			}
		}
		facet := CatalogFacet{Name: f}
		for v, n := range counts {
			facet.Values = append(facet.Values, CatalogFacetValue{Value: v, Label: labels[v], Count: n, Selected: q.Refine[f] == v})
		}
		sort.Slice(facet.Values, func(i, j int) bool {
			if facet.Values[i].Count != facet.Values[j].Count {
				return facet.Values[i].Count > facet.Values[j].Count
			}
			return facet.Values[i].Label < facet.Values[j].Label
		})
		res.Facets = append(res.Facets, facet)
	}
	if q.Offset < len(hits) {
		hits = hits[q.Offset:]
		if q.Limit > 0 && q.Limit < len(hits) {
			hits = hits[:q.Limit]
		}
		res.Entries = hits
	}
	return res, nil
}

func matchesWords(e catalog.Entry, words []string) bool {
	if len(words) == 0 {
		return true
	}
	text := catalog.Fold(e.Dataset.Title + "\n" + e.Dataset.Description + "\n" + strings.Join(e.Dataset.Keywords, "\n") + "\n" + e.Dataset.ID)
	for _, w := range words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// PublicSchema is the Table Schema of a public dataset (nil when it has
// none, or when its schema can no longer be loaded: the page then
// documents the release's columns).
func (s *Service) PublicSchema(ctx context.Context, pd PublicDataset) *tableschema.Schema {
	if pd.Dataset.SchemaName == "" {
		return nil
	}
	sch, _, err := s.store.LoadSchema(ctx, pd.Dataset.SchemaName, pd.Dataset.SchemaVersion)
	if err != nil {
		return nil
	}
	return sch
}

// DepartmentName is the name of a department ("" when unknown).
func (s *Service) DepartmentName(ctx context.Context, slug string) string {
	d, err := s.store.Department(ctx, slug)
	if err != nil {
		return ""
	}
	return d.Name
}
