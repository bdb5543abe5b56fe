package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/catalog"
	"github.com/civicflow/civicflow/internal/odsql"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// The public portal: the catalog with its search and facets, a dataset's
// page (description, schema, releases, a preview of the rows, downloads,
// the API call), and a page for reusers. No sign-in; only public datasets
// with an exposed release, through the same service calls as the public
// API (a private dataset is "not found" here as there).

var portalRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/catalog", Public: true},
	{Method: http.MethodGet, Path: "/catalog/:id", Public: true},
	{Method: http.MethodGet, Path: "/reutiliser", Public: true},
}

func (s *Server) registerPortal() {
	s.e.GET("/catalog", s.portalCatalog)
	s.e.GET("/catalog/:id", s.portalDataset)
	s.e.GET("/reutiliser", s.portalReuse)
}

// publicPage renders a page in the public layout (_public.html): the
// portal's header and footer instead of the staff navigation.
func (s *Server) publicPage(c echo.Context, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := s.ui.RenderFragment(&buf, name, "public_layout", s.pageData(c, data)); err != nil {
		return err
	}
	return s.writeHTML(c, status, &buf)
}

// publicError is the French error page of the portal.
type publicError struct {
	Status         int
	Title, Message string
}

func (s *Server) publicNotFound(c echo.Context) error {
	return s.publicPage(c, http.StatusNotFound, "public_error", publicError{Status: http.StatusNotFound, Title: "Jeu de données introuvable",
		Message: "Ce jeu de données n'existe pas ou n'est pas publié. Vérifiez l'adresse, ou cherchez-le dans le catalogue."})
}

func (s *Server) publicBadRequest(c echo.Context, msg string) error {
	return s.publicPage(c, http.StatusBadRequest, "public_error", publicError{Status: http.StatusBadRequest, Title: "Demande incorrecte", Message: msg})
}

// facetLabels are the French names of the catalog's facets.
var facetLabels = map[string]string{
	service.FacetDepartment: "Service producteur",
	service.FacetTheme:      "Thème",
	service.FacetKeyword:    "Mot-clé",
	service.FacetSchema:     "Schéma de données",
	service.FacetLicence:    "Licence",
	service.FacetFrequency:  "Fréquence de mise à jour",
}

// facetShown is how many values a facet lists.
const facetShown = 15

type portalFacetValue struct {
	Value    string
	Label    string
	Count    int
	Href     string
	Selected bool
}

type portalFacet struct {
	Name, Label string
	Values      []portalFacetValue
	More        int // values not listed
}

type portalFilter struct {
	Facet, Label, RemoveHref string
}

type portalCard struct {
	ID, Title, Description, Department, Licence, Frequency string
	Themes                                                 []catalog.Theme
	Keywords                                               []string
	Modified                                               time.Time
	Rows                                                   int64
}

type portalCatalogView struct {
	Q        string
	Total    int
	Cards    []portalCard
	Facets   []portalFacet
	Filters  []portalFilter
	Page     int
	Pages    int
	PrevHref string
	NextHref string
	Error    string
}

const portalPerPage = 20

// catalogHref is /catalog with the query q (empty values dropped).
func catalogHref(q url.Values) string {
	clean := url.Values{}
	for k, vs := range q {
		if len(vs) > 0 && vs[0] != "" {
			clean.Set(k, vs[0])
		}
	}
	if len(clean) == 0 {
		return "/catalog"
	}
	return "/catalog?" + clean.Encode()
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func (s *Server) portalCatalog(c echo.Context) error {
	params := c.QueryParams()
	q := strings.TrimSpace(params.Get("q"))
	search := service.CatalogSearch{Q: q, Refine: map[string]string{}, Limit: portalPerPage}
	state := url.Values{}
	if q != "" {
		state.Set("q", q)
	}
	for _, f := range service.CatalogFacets {
		if v := params.Get(f); v != "" {
			search.Refine[f] = v
			state.Set(f, v)
		}
	}
	page := 1
	if v := params.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return s.publicBadRequest(c, "Le numéro de page doit être un entier positif.")
		}
		page = n
	}
	search.Offset = (page - 1) * portalPerPage
	view := portalCatalogView{Q: q, Page: page}
	res, err := s.svc.SearchCatalog(c.Request().Context(), search)
	if err != nil {
		var se *service.Error
		if errors.As(err, &se) && se.Kind == service.BadRequest {
			view.Error = se.Fr
			view.Q = ""
			return s.publicPage(c, http.StatusBadRequest, "catalog", view)
		}
		return err
	}
	view.Total = res.Total
	view.Pages = max(1, (res.Total+portalPerPage-1)/portalPerPage)
	for _, e := range res.Entries {
		d := e.Dataset
		dept := e.DepartmentName
		if dept == "" {
			dept = d.Department
		}
		view.Cards = append(view.Cards, portalCard{ID: d.ID, Title: d.Title, Description: summary(d.Description, 280), Department: dept,
			Licence: catalog.LicenceOf(d.Licence).Label, Frequency: frequencyLabel(d.Frequency), Themes: catalog.ThemesOf(d.SchemaName, d.Keywords),
			Keywords: d.Keywords, Modified: e.Release.CreatedAt, Rows: e.Release.Rows})
	}
	for _, f := range res.Facets {
		pf := portalFacet{Name: f.Name, Label: facetLabels[f.Name]}
		for i, v := range f.Values {
			if i == facetShown && !v.Selected {
				pf.More = len(f.Values) - facetShown
				break
			}
			next := cloneQuery(state)
			next.Del("page")
			if v.Selected {
				next.Del(f.Name)
			} else {
				next.Set(f.Name, v.Value)
			}
			label := v.Label
			if f.Name == service.FacetFrequency {
				label = frequencyLabel(v.Value)
			}
			pf.Values = append(pf.Values, portalFacetValue{Value: v.Value, Label: label, Count: v.Count, Href: catalogHref(next), Selected: v.Selected})
			if v.Selected {
				rm := cloneQuery(state)
				rm.Del(f.Name)
				view.Filters = append(view.Filters, portalFilter{Facet: pf.Label, Label: label, RemoveHref: catalogHref(rm)})
			}
		}
		view.Facets = append(view.Facets, pf)
	}
	// A refinement on a value no dataset has still shows, to be removed.
	for _, f := range service.CatalogFacets {
		v, ok := search.Refine[f]
		if !ok {
			continue
		}
		found := false
		for _, fl := range view.Filters {
			if fl.Facet == facetLabels[f] {
				found = true
			}
		}
		if !found {
			rm := cloneQuery(state)
			rm.Del(f)
			view.Filters = append(view.Filters, portalFilter{Facet: facetLabels[f], Label: v, RemoveHref: catalogHref(rm)})
		}
	}
	href := func(p int) string {
		next := cloneQuery(state)
		next.Set("page", strconv.Itoa(p))
		return catalogHref(next)
	}
	if page > 1 {
		view.PrevHref = href(page - 1)
	}
	if search.Offset+len(res.Entries) < res.Total {
		view.NextHref = href(page + 1)
	}
	return s.publicPage(c, http.StatusOK, "catalog", view)
}

// summary shortens text to about n characters, at a word boundary.
func summary(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	r := []rune(text)
	if len(r) <= n {
		return text
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

// ---- a dataset's page ----

type fieldDoc struct {
	Name, Title, Type, Description string
	Constraints                    []string
}

type schemaDoc struct {
	Name, Title, Version, Description, URL string
	Fields                                 []fieldDoc
}

type previewCol struct {
	Name     string
	Sorted   string // "asc", "desc" or ""
	SortHref string // the next sort of this column
	SortNext string // French name of the next sort, for the link's label
}

type previewView struct {
	Cols        []previewCol
	Rows        [][]string
	Total       int64
	Page, Pages int
	PrevHref    string
	NextHref    string
	Field       string // the filter: field = value
	Value       string
	Fields      []string
	Error       string
	ResetHref   string
}

type downloadLink struct {
	Label, Format, Href, Hint string
}

type portalDatasetView struct {
	D              store.Dataset
	R              store.Release
	Releases       []store.Release
	Department     string
	Themes         []catalog.Theme
	Licence        catalog.Licence
	FrequencyLabel string
	Schema         *schemaDoc
	Preview        previewView
	Downloads      []downloadLink
	RecordsURL     string
	Curl           string
	Issued         time.Time
	Usage          service.PublicUsage
}

const previewPerPage = 20

// kindLabels name the release column kinds in French.
var kindLabels = map[string]string{
	store.KindText: "texte", store.KindNumeric: "nombre décimal", store.KindInteger: "nombre entier",
	store.KindBoolean: "booléen", store.KindDate: "date", store.KindTimestamp: "date et heure",
}

// typeLabels name the Table Schema types in French.
var typeLabels = map[string]string{
	"string": "texte", "number": "nombre décimal", "integer": "nombre entier", "boolean": "booléen", "date": "date",
	"datetime": "date et heure", "time": "heure", "year": "année", "yearmonth": "année et mois", "duration": "durée",
	"geopoint": "point géographique", "geojson": "géométrie GeoJSON", "object": "objet JSON", "array": "liste", "any": "quelconque",
}

func jsonText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func constraintsFR(d *tableschema.FieldDescriptor) []string {
	c := d.Constraints
	var out []string
	if c.Required {
		out = append(out, "obligatoire")
	}
	if c.Unique {
		out = append(out, "valeurs uniques")
	}
	if c.MinLength != nil {
		out = append(out, "au moins "+strconv.Itoa(*c.MinLength)+" caractères")
	}
	if c.MaxLength != nil {
		out = append(out, "au plus "+strconv.Itoa(*c.MaxLength)+" caractères")
	}
	if c.Minimum != nil {
		out = append(out, "minimum "+jsonText(c.Minimum))
	}
	if c.Maximum != nil {
		out = append(out, "maximum "+jsonText(c.Maximum))
	}
	if c.Pattern != "" {
		out = append(out, "motif "+c.Pattern)
	}
	if len(c.Enum) > 0 {
		var vs []string
		for i, v := range c.Enum {
			if i == 12 {
				vs = append(vs, "…")
				break
			}
			vs = append(vs, jsonText(v))
		}
		out = append(out, "valeurs possibles : "+strings.Join(vs, ", "))
	}
	if d.Format != "" && d.Format != "default" {
		out = append(out, "format "+d.Format)
	}
	return out
}

func (s *Server) portalDataset(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	pd, err := s.svc.PublicDataset(ctx, id)
	if service.KindOf(err) == service.NotFound {
		return s.publicNotFound(c)
	}
	if err != nil {
		return err
	}
	rels, err := s.svc.PublicReleases(ctx, pd)
	if err != nil {
		return err
	}
	d, rel := pd.Dataset, pd.Release
	base := s.publicBase(c)
	v := portalDatasetView{D: d, R: rel, Releases: rels, Themes: catalog.ThemesOf(d.SchemaName, d.Keywords),
		Licence: catalog.LicenceOf(d.Licence), FrequencyLabel: frequencyLabel(d.Frequency), Issued: rel.CreatedAt}
	for _, r := range rels {
		if r.CreatedAt.Before(v.Issued) {
			v.Issued = r.CreatedAt
		}
	}
	if v.Usage, err = s.svc.PublicUsageOf(ctx, pd); err != nil {
		return err
	}
	v.Department = s.svc.DepartmentName(ctx, d.Department)
	if v.Department == "" {
		v.Department = d.Department
	}
	if sch := s.svc.PublicSchema(ctx, pd); sch != nil {
		doc := &schemaDoc{Name: d.SchemaName, Title: sch.Title, Version: sch.Version, Description: sch.Description, URL: catalog.SchemaURL(base, d.SchemaName, d.SchemaVersion)}
		for _, f := range sch.Fields {
			fd := f.Descriptor()
			t := typeLabels[f.Type()]
			if t == "" {
				t = f.Type()
			}
			doc.Fields = append(doc.Fields, fieldDoc{Name: f.Name(), Title: fd.Title, Type: t, Description: fd.Description, Constraints: constraintsFR(fd)})
		}
		v.Schema = doc
	} else {
		doc := &schemaDoc{}
		for _, col := range rel.Columns {
			doc.Fields = append(doc.Fields, fieldDoc{Name: col.Field, Type: kindLabels[col.Kind]})
		}
		v.Schema = doc
	}
	for _, f := range catalog.Formats {
		v.Downloads = append(v.Downloads, downloadLink{Label: "Télécharger en " + f.FileType, Format: f.FileType, Href: catalog.ExportURL("", d.ID, f.Name),
			Hint: strconv.FormatInt(rel.Rows, 10) + " lignes"})
	}
	v.Downloads[0].Hint += ", séparateur « ; », UTF-8 avec BOM (?delimiter=, pour des virgules)"
	v.RecordsURL = catalog.RecordsURL(base, d.ID) + "?limit=10"
	v.Curl = "curl '" + v.RecordsURL + "'"
	v.Preview, err = s.portalPreview(c, pd)
	if err != nil {
		return err
	}
	return s.publicPage(c, http.StatusOK, "catalog_dataset", v)
}

// portalPreview is a page of the rows, sorted by one column and filtered
// by one field = value, through the records API's service: tri=FIELD,
// ordre=asc|desc, champ=FIELD, valeur=VALUE, page=N. Bad parameters give
// a French message in the preview, not an error page.
func (s *Server) portalPreview(c echo.Context, pd service.PublicDataset) (previewView, error) {
	q := c.QueryParams()
	pv := previewView{Page: 1}
	cols := map[string]bool{}
	for _, col := range pd.Release.Columns {
		cols[col.Field] = true
		pv.Fields = append(pv.Fields, col.Field)
	}
	state := url.Values{}
	sortField, order := q.Get("tri"), q.Get("ordre")
	if sortField != "" && !cols[sortField] {
		pv.Error = "Cette colonne n'existe pas : le tri est ignoré."
		sortField = ""
	}
	if order != "desc" {
		order = "asc"
	}
	field, value := q.Get("champ"), q.Get("valeur")
	if field != "" && !cols[field] {
		pv.Error = "Cette colonne n'existe pas : le filtre est ignoré."
		field = ""
	}
	if len(value) > 500 {
		pv.Error = "La valeur du filtre est trop longue : le filtre est ignoré."
		field = ""
	}
	if field != "" && value != "" {
		pv.Field, pv.Value = field, value
		state.Set("champ", field)
		state.Set("valeur", value)
	}
	if sortField != "" {
		state.Set("tri", sortField)
		state.Set("ordre", order)
	}
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n*previewPerPage > service.ExploreMaxWindow {
			pv.Error = "Numéro de page invalide : affichage de la première page (téléchargez le fichier complet pour tout voir)."
		} else {
			pv.Page = n
		}
	}
	self := "/catalog/" + url.PathEscape(pd.Dataset.ID)
	link := func(st url.Values) string {
		if len(st) == 0 {
			return self + "#apercu"
		}
		return self + "?" + st.Encode() + "#apercu"
	}
	pv.ResetHref = link(nil)
	for _, col := range pd.Release.Columns {
		pc := previewCol{Name: col.Field}
		next := cloneQuery(state)
		next.Del("page")
		next.Set("tri", col.Field)
		next.Set("ordre", "asc")
		pc.SortNext = "croissant"
		if col.Field == sortField {
			pc.Sorted = order
			if order == "asc" {
				next.Set("ordre", "desc")
				pc.SortNext = "décroissant"
			}
		}
		pc.SortHref = link(next)
		pv.Cols = append(pv.Cols, pc)
	}
	p := service.ExploreParams{Limit: strconv.Itoa(previewPerPage), Offset: strconv.Itoa((pv.Page - 1) * previewPerPage)}
	if sortField != "" {
		if strings.Contains(sortField, "`") {
			return pv, nil
		}
		p.OrderBy = "`" + sortField + "` " + order
	}
	if pv.Field != "" {
		p.Refine = []string{pv.Field + ":" + pv.Value}
	}
	res, err := s.svc.ExploreRecords(c.Request().Context(), pd, p)
	var qe *odsql.Error
	var pe *service.ParamError
	if errors.As(err, &qe) || errors.As(err, &pe) {
		pv.Error = "Ce filtre ne convient pas à cette colonne (par exemple du texte dans une colonne de nombres)."
		pv.Field, pv.Value = "", ""
		return pv, nil
	}
	if err != nil {
		return pv, err
	}
	pv.Total = res.Total
	pv.Pages = max(1, int((res.Total+previewPerPage-1)/previewPerPage))
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, x := range row {
			if t, ok := x.(time.Time); ok {
				cells[i] = t.UTC().Format(time.DateOnly)
				continue
			}
			cells[i] = csvValue(x)
		}
		pv.Rows = append(pv.Rows, cells)
	}
	page := func(n int) string {
		next := cloneQuery(state)
		next.Set("page", strconv.Itoa(n))
		return link(next)
	}
	if pv.Page > 1 {
		pv.PrevHref = page(pv.Page - 1)
	}
	if int64(pv.Page*previewPerPage) < res.Total && (pv.Page+1)*previewPerPage <= service.ExploreMaxWindow {
		pv.NextHref = page(pv.Page + 1)
	}
	return pv, nil
}

type reuseView struct {
	Base    string
	Example string
}

func (s *Server) portalReuse(c echo.Context) error {
	base := s.publicBase(c)
	return s.publicPage(c, http.StatusOK, "reutiliser", reuseView{Base: base, Example: base + catalog.ExplorePath + "/catalog/datasets?limit=10"})
}
