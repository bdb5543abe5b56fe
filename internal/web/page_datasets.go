package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// The datasets pages: the list, a new dataset, one dataset (metadata form,
// staged files and upload, releases, the latest quality report, start a
// publication) and a release's rows. Every decision is the service's.

var datasetPageRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/datasets", Obj: "datasets", Act: "read"},
	{Method: http.MethodGet, Path: "/datasets/new", Obj: "datasets", Act: "create"},
	{Method: http.MethodPost, Path: "/datasets", Obj: "datasets", Act: "create"},
	{Method: http.MethodGet, Path: "/datasets/:id", Obj: "datasets", Act: "read"},
	{Method: http.MethodPost, Path: "/datasets/:id", Obj: "datasets", Act: "write"},
	{Method: http.MethodPost, Path: "/datasets/:id/files", Obj: "datasets", Act: "write"},
	{Method: http.MethodPost, Path: "/datasets/:id/publish", Obj: "instances", Act: "create"},
	{Method: http.MethodGet, Path: "/datasets/:id/releases/:n", Obj: "datasets", Act: "read"},
}

func init() {
	for _, r := range []string{"/datasets", "/datasets/:id", "/datasets/:id/publish"} {
		bodyTypes[http.MethodPost+" "+r] = []string{mimeForm}
	}
	bodyTypes[http.MethodPost+" /datasets/:id/files"] = []string{"multipart/form-data"}
}

func (s *Server) registerDatasetPages() {
	s.e.GET("/datasets", s.datasetsPage)
	s.e.GET("/datasets/new", s.datasetNewPage)
	s.e.POST("/datasets", s.datasetCreate)
	s.e.GET("/datasets/:id", s.datasetPage)
	s.e.POST("/datasets/:id", s.datasetUpdate)
	s.e.POST("/datasets/:id/files", s.datasetUpload)
	s.e.POST("/datasets/:id/publish", s.datasetPublish)
	s.e.GET("/datasets/:id/releases/:n", s.releasePage)
}

// frequencyLabels are the French names of the update frequencies offered
// in the form (the data.gouv.fr ids; the others stay accepted by the API).
var frequencyLabels = []struct{ Value, Label string }{
	{"unknown", "Inconnue"}, {"punctual", "Ponctuelle"}, {"continuous", "Temps réel"}, {"hourly", "Toutes les heures"},
	{"daily", "Quotidienne"}, {"weekly", "Hebdomadaire"}, {"semimonthly", "Bimensuelle"}, {"monthly", "Mensuelle"},
	{"quarterly", "Trimestrielle"}, {"semiannual", "Semestrielle"}, {"annual", "Annuelle"}, {"irregular", "Irrégulière"},
	{"notPlanned", "Pas de mise à jour prévue"},
}

func frequencyLabel(v string) string {
	for _, f := range frequencyLabels {
		if f.Value == v {
			return f.Label
		}
	}
	return v
}

// datasetForm is the metadata form: its values and the French error of
// each field.
type datasetForm struct {
	ID, Title, Description, Department, Schema, Licence, Frequency, Keywords string
	Spatial, TemporalStart, TemporalEnd, Visibility                          string
	Errors                                                                   map[string]string
	Error                                                                    string
}

func formOf(d store.Dataset) datasetForm {
	return datasetForm{ID: d.ID, Title: d.Title, Description: d.Description, Department: d.Department, Schema: d.SchemaName,
		Licence: d.Licence, Frequency: d.Frequency, Keywords: strings.Join(d.Keywords, ", "), Spatial: d.Spatial,
		TemporalStart: d.TemporalStart, TemporalEnd: d.TemporalEnd, Visibility: d.Visibility}
}

// readDatasetForm binds the posted form; withIDs also reads id and department (creation).
func readDatasetForm(c echo.Context, withIDs bool) (datasetForm, service.DatasetInput) {
	f := datasetForm{Title: c.FormValue("title"), Description: c.FormValue("description"), Schema: c.FormValue("schema"),
		Licence: c.FormValue("licence"), Frequency: c.FormValue("frequency"), Keywords: c.FormValue("keywords"),
		Spatial: c.FormValue("spatial"), TemporalStart: c.FormValue("temporalStart"), TemporalEnd: c.FormValue("temporalEnd"),
		Visibility: c.FormValue("visibility")}
	var kw []string
	for _, k := range strings.Split(f.Keywords, ",") {
		if k = strings.TrimSpace(k); k != "" {
			kw = append(kw, k)
		}
	}
	in := service.DatasetInput{Title: &f.Title, Description: &f.Description, Schema: &f.Schema, Licence: &f.Licence,
		Frequency: &f.Frequency, Keywords: &kw, Spatial: &f.Spatial, TemporalStart: &f.TemporalStart, TemporalEnd: &f.TemporalEnd}
	if f.Visibility != "" {
		in.Visibility = &f.Visibility
	}
	if withIDs {
		f.ID, f.Department = strings.TrimSpace(c.FormValue("id")), c.FormValue("department")
		if f.ID != "" {
			in.ID = &f.ID
		}
		in.Department = &f.Department
	}
	return f, in
}

// formErrors puts a service error's French messages beside the fields;
// it returns false when err is not about the input.
func formErrors(err error, f *datasetForm) bool {
	var e *service.Error
	if !errors.As(err, &e) || (e.Kind != service.Invalid && e.Kind != service.BadRequest && e.Kind != service.Conflict) {
		return false
	}
	f.Errors = map[string]string{}
	for _, p := range e.Problems {
		msg := p.Fr
		if msg == "" {
			msg = p.Message
		}
		if _, dup := f.Errors[p.Field]; !dup {
			f.Errors[p.Field] = msg
		}
	}
	f.Error = e.Fr
	if f.Error == "" {
		f.Error = "Les informations saisies ne sont pas valides : corrigez les champs signalés."
	}
	return true
}

// datasetOptions are the choices of the metadata form.
type datasetOptions struct {
	Schemas     []tableschema.Info
	Frequencies []struct{ Value, Label string }
	// Departments are those the person may create datasets in.
	Departments []string
}

func (s *Server) datasetOptions(c echo.Context) datasetOptions {
	return datasetOptions{Schemas: tableschema.Shipped(), Frequencies: frequencyLabels,
		Departments: s.svc.DatasetDepartments(c.Request().Context(), caller(c))}
}

type datasetRow struct {
	store.Dataset
	FrequencyLabel string
}

type datasetsView struct {
	Rows       []datasetRow
	Total      int
	Department string
	MayCreate  bool
	Page       int
	PrevHref   string
	NextHref   string
}

const datasetsPerPage = 50

func (s *Server) datasetsPage(c echo.Context) error {
	dept := c.QueryParam("department")
	page := 1
	if v := c.QueryParam("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return &PageError{Status: http.StatusBadRequest, Msg: "Le numéro de page doit être un entier positif."}
		}
		page = n
	}
	ctx, who := c.Request().Context(), caller(c)
	f := service.DatasetFilter{Department: dept, Limit: datasetsPerPage, Offset: (page - 1) * datasetsPerPage}
	ds, err := s.svc.ListDatasets(ctx, who, f)
	if err != nil {
		return err
	}
	total, err := s.svc.CountDatasets(ctx, who, f)
	if err != nil {
		return err
	}
	v := datasetsView{Department: dept, Total: total, Page: page, MayCreate: s.mayCall(c, who.Principal, "POST /api/v1/datasets")}
	for _, d := range ds {
		v.Rows = append(v.Rows, datasetRow{Dataset: d, FrequencyLabel: frequencyLabel(d.Frequency)})
	}
	q := url.Values{}
	if dept != "" {
		q.Set("department", dept)
	}
	href := func(p int) string {
		q.Set("page", strconv.Itoa(p))
		return "/datasets?" + q.Encode()
	}
	if page > 1 {
		v.PrevHref = href(page - 1)
	}
	if f.Offset+len(ds) < total {
		v.NextHref = href(page + 1)
	}
	return s.page(c, http.StatusOK, "datasets", v)
}

type datasetNewView struct {
	Form    datasetForm
	Options datasetOptions
}

func (s *Server) datasetNewPage(c echo.Context) error {
	return s.page(c, http.StatusOK, "dataset_new", datasetNewView{Form: datasetForm{Frequency: "unknown", Visibility: store.VisibilityPrivate}, Options: s.datasetOptions(c)})
}

func (s *Server) datasetCreate(c echo.Context) error {
	f, in := readDatasetForm(c, true)
	d, err := s.svc.CreateDataset(c.Request().Context(), caller(c), in)
	if err != nil {
		if formErrors(err, &f) {
			return s.page(c, http.StatusUnprocessableEntity, "dataset_new", datasetNewView{Form: f, Options: s.datasetOptions(c)})
		}
		return err
	}
	s.setFlash(c, "success", "Le jeu de données « "+d.Title+" » a été créé. Déposez maintenant un fichier.")
	return c.Redirect(http.StatusSeeOther, "/datasets/"+url.PathEscape(d.ID))
}

// reportSummary is what the dataset page shows of a quality report.
type reportSummary struct {
	ID       int64
	Valid    bool
	Rows     int64
	Errors   int64
	ByType   []countRow
	Warnings int64
}

type countRow struct {
	Name  string
	Count int64
}

func summarise(r *store.QualityReport) *reportSummary {
	if r == nil {
		return nil
	}
	out := &reportSummary{ID: r.ID, Valid: r.Valid, Rows: r.Rows, Errors: r.Errors}
	var rep tableschema.Report
	if json.Unmarshal(r.Report, &rep) == nil {
		for t, n := range rep.Stats.ErrorsByType {
			out.ByType = append(out.ByType, countRow{Name: issueLabel(t), Count: n})
		}
		sort.Slice(out.ByType, func(i, j int) bool {
			if out.ByType[i].Count != out.ByType[j].Count {
				return out.ByType[i].Count > out.ByType[j].Count
			}
			return out.ByType[i].Name < out.ByType[j].Name
		})
		out.Warnings = rep.Stats.Warnings
	}
	return out
}

type datasetView struct {
	D          service.DatasetView
	Form       datasetForm
	Options    datasetOptions
	Report     *reportSummary
	MayWrite   bool
	MayPublish bool
	// UploadError is the French error of the last upload, beside its field.
	UploadError string
	// PublishError is the French error of the last start of a publication.
	PublishError string
	MaxUpload    int64
	// Exposed is the number of the exposed release (0: none).
	Exposed int
}

func (s *Server) datasetView(c echo.Context, id string) (datasetView, error) {
	d, err := s.svc.Dataset(c.Request().Context(), caller(c), id)
	if err != nil {
		return datasetView{}, err
	}
	rights := s.svc.RightsOn(c.Request().Context(), caller(c), d.Dataset)
	exposed := 0
	if d.ExposedRelease != nil {
		exposed = *d.ExposedRelease
	}
	return datasetView{Exposed: exposed, D: d, Form: formOf(d.Dataset), Options: s.datasetOptions(c), Report: summarise(d.QualityReport),
		MayWrite: rights.Write, MayPublish: rights.Publish, MaxUpload: s.cfg.MaxUploadBytes}, nil
}

func (s *Server) datasetPage(c echo.Context) error {
	v, err := s.datasetView(c, c.Param("id"))
	if err != nil {
		return err
	}
	return s.page(c, http.StatusOK, "dataset", v)
}

func (s *Server) datasetUpdate(c echo.Context) error {
	f, in := readDatasetForm(c, false)
	d, err := s.svc.UpdateDataset(c.Request().Context(), caller(c), c.Param("id"), in)
	if err != nil {
		if formErrors(err, &f) {
			v, verr := s.datasetView(c, c.Param("id"))
			if verr != nil {
				return verr
			}
			f.ID, f.Department = v.Form.ID, v.Form.Department
			v.Form = f
			return s.page(c, http.StatusUnprocessableEntity, "dataset", v)
		}
		return err
	}
	s.setFlash(c, "success", "Les informations du jeu de données ont été enregistrées.")
	return c.Redirect(http.StatusSeeOther, "/datasets/"+url.PathEscape(d.ID))
}

func (s *Server) datasetUpload(c echo.Context) error {
	id := c.Param("id")
	f, err := s.svc.StageFile(c.Request().Context(), caller(c), id, func() (string, io.Reader, error) { return multipartFile(c) })
	if err != nil {
		return s.datasetPageWithError(c, id, err, func(v *datasetView, msg string) { v.UploadError = msg })
	}
	s.setFlash(c, "success", "Le fichier « "+f.Name+" » a été déposé. Vous pouvez lancer sa publication.")
	return c.Redirect(http.StatusSeeOther, "/datasets/"+url.PathEscape(id)+"#publier")
}

// datasetPageWithError shows the dataset page again with the French
// message of err beside the action that failed (set puts it there), or
// returns err when it is not about the person's input.
func (s *Server) datasetPageWithError(c echo.Context, id string, err error, set func(*datasetView, string)) error {
	msg := inputErrorFR(err)
	if msg == "" {
		return err
	}
	v, verr := s.datasetView(c, id)
	if verr != nil {
		return verr
	}
	set(&v, msg)
	return s.page(c, problemStatus(err), "dataset", v)
}

// publicationFlow is the flow a dataset page starts.
const publicationFlow = "publication"

func (s *Server) datasetPublish(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	d, err := s.svc.Dataset(ctx, caller(c), id)
	if err != nil {
		return err
	}
	file := c.FormValue("file")
	rid, err := s.svc.StartRequest(ctx, caller(c), service.StartInput{Flow: publicationFlow, Department: d.Department,
		Variables: map[string]any{"dataset": d.ID, "file": file}})
	if err != nil {
		return s.datasetPageWithError(c, id, err, func(v *datasetView, msg string) { v.PublishError = msg })
	}
	s.setFlash(c, "success", "La publication a démarré : suivez ici son avancement.")
	return c.Redirect(http.StatusSeeOther, "/requests/"+url.PathEscape(rid))
}

// inputErrorFR is the French message of a domain error about the input (the
// page shows it beside the action), or "" for other errors.
func inputErrorFR(err error) string {
	var e *service.Error
	if !errors.As(err, &e) {
		var we *Error
		if errors.As(err, &we) && we.Status < 500 {
			switch we.Status {
			case http.StatusRequestEntityTooLarge:
				return "Le fichier dépasse la taille maximale acceptée."
			case http.StatusBadRequest:
				return "Le fichier n'a pas pu être lu : choisissez un fichier et réessayez."
			}
		}
		return ""
	}
	switch e.Kind {
	case service.Invalid, service.BadRequest, service.Conflict:
	default:
		return ""
	}
	if e.Fr != "" {
		return e.Fr
	}
	for _, p := range e.Problems {
		if p.Fr != "" {
			return p.Fr
		}
	}
	return "La demande n'est pas valide : " + e.Msg
}

// problemStatus is the HTTP status of err, as the error handler maps it.
func problemStatus(err error) int {
	p, _ := toProblem(err)
	return p.Status
}

const releaseRowsPerPage = 50

type releaseView struct {
	D        service.DatasetView
	R        service.ReleasePage
	Columns  []string
	Page     int
	PrevHref string
	NextHref string
}

func (s *Server) releasePage(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n <= 0 {
		return &PageError{Status: http.StatusNotFound, Msg: "Cette version n'existe pas."}
	}
	page := 1
	if v := c.QueryParam("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 || page > 1_000_000 {
			return &PageError{Status: http.StatusBadRequest, Msg: "Le numéro de page doit être un entier positif."}
		}
	}
	d, err := s.svc.Dataset(ctx, caller(c), id)
	if err != nil {
		return err
	}
	r, err := s.svc.Release(ctx, caller(c), id, n, releaseRowsPerPage, (page-1)*releaseRowsPerPage)
	if err != nil {
		return err
	}
	v := releaseView{D: d, R: r, Page: page}
	for _, col := range r.Release.Columns {
		v.Columns = append(v.Columns, col.Field)
	}
	base := "/datasets/" + url.PathEscape(id) + "/releases/" + strconv.Itoa(n) + "?page="
	if page > 1 {
		v.PrevHref = base + strconv.Itoa(page-1)
	}
	if int64(page*releaseRowsPerPage) < r.Release.Rows {
		v.NextHref = base + strconv.Itoa(page+1)
	}
	return s.page(c, http.StatusOK, "release", v)
}
