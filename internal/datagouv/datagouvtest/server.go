// Package datagouvtest is a local fake of the data.gouv.fr API v1 for
// tests: the endpoints the datagouv client uses, with their status codes
// and error bodies ({"message"}, {"errors":{field:[…]},"message"}), state
// kept in memory, failures on demand (an error status before or after the
// change is made, a slow upload) and counters so that a test can assert
// "exactly one dataset".
package datagouvtest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicflow/civicflow/internal/datagouv"
)

// Route names, for Fail.
const (
	RouteCreateDataset  = "POST /datasets/"
	RouteGetDataset     = "GET /datasets/{id}/"
	RouteUpdateDataset  = "PUT /datasets/{id}/"
	RouteUpload         = "POST /datasets/{id}/upload/"
	RouteReplaceFile    = "POST /datasets/{id}/resources/{rid}/upload/"
	RouteUpdateResource = "PUT /datasets/{id}/resources/{rid}/"
	RouteOrgDatasets    = "GET /organizations/{org}/datasets/"
	RouteMyDatasets     = "GET /me/datasets/"
)

// Failure makes the next Times calls of a route fail with Status. With
// After, the call does its work first (the dataset is created, the file
// stored) and then answers Status: the caller cannot know it worked, as
// after a timeout or a crash.
type Failure struct {
	Status int
	Times  int
	After  bool
}

// Server is the fake platform.
type Server struct {
	*httptest.Server
	// APIKey is the only key accepted for writes.
	APIKey string
	// PageSize is the page size of the organization's datasets (default 100).
	PageSize int

	mu          sync.Mutex
	seq         int
	datasets    map[string]*datagouv.Dataset
	order       []string
	files       map[string][]byte // resource id → content
	orgs        map[string]bool
	failures    map[string]*Failure
	uploadDelay time.Duration
	calls       map[string]int
	uploading   chan struct{} // receives when an upload starts (if set)
}

// New starts a fake accepting apiKey, with the organization org; it stops
// at the end of the test.
func New(t testing.TB, apiKey, org string) *Server {
	s := &Server{APIKey: apiKey, datasets: map[string]*datagouv.Dataset{}, files: map[string][]byte{},
		orgs: map[string]bool{org: true}, failures: map[string]*Failure{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	api := "/api/1"
	mux.HandleFunc("POST "+api+"/datasets/{$}", s.route(RouteCreateDataset, s.createDataset))
	mux.HandleFunc("GET "+api+"/datasets/{id}/{$}", s.route(RouteGetDataset, s.getDataset))
	mux.HandleFunc("PUT "+api+"/datasets/{id}/{$}", s.route(RouteUpdateDataset, s.updateDataset))
	mux.HandleFunc("DELETE "+api+"/datasets/{id}/{$}", s.route("DELETE /datasets/{id}/", s.deleteDataset))
	mux.HandleFunc("POST "+api+"/datasets/{id}/upload/{$}", s.route(RouteUpload, s.upload))
	mux.HandleFunc("POST "+api+"/datasets/{id}/resources/{rid}/upload/{$}", s.route(RouteReplaceFile, s.upload))
	mux.HandleFunc("PUT "+api+"/datasets/{id}/resources/{rid}/{$}", s.route(RouteUpdateResource, s.updateResource))
	mux.HandleFunc("POST "+api+"/datasets/{id}/resources/{$}", s.route("POST /datasets/{id}/resources/", s.createRemoteResource))
	mux.HandleFunc("GET "+api+"/organizations/{org}/datasets/{$}", s.route(RouteOrgDatasets, s.orgDatasets))
	mux.HandleFunc("GET "+api+"/me/datasets/{$}", s.route(RouteMyDatasets, s.myDatasets))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "The requested URL was not found on the server."})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Client returns a client of the fake with its key.
func (s *Server) Client() *datagouv.Client { return datagouv.New(s.URL, s.APIKey) }

// Fail makes the next f.Times calls of route fail (see Failure).
func (s *Server) Fail(route string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.failures[route] = &f
}

// SlowUpload makes every upload wait d after reading the file, before it
// answers (the request's context ends the wait).
func (s *Server) SlowUpload(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uploadDelay = d
}

// NotifyUpload returns a channel that receives when an upload has read
// its file (buffered: one value per upload until read).
func (s *Server) NotifyUpload() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uploading = make(chan struct{}, 16)
	return s.uploading
}

// Calls counts the calls of a route (failed ones included).
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// Datasets returns a copy of the datasets, in creation order (deleted
// ones aside).
func (s *Server) Datasets() []datagouv.Dataset {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []datagouv.Dataset
	for _, id := range s.order {
		d := s.datasets[id]
		if d.Deleted != nil {
			continue
		}
		out = append(out, clone(d))
	}
	return out
}

// CountDatasets counts the datasets (deleted ones aside).
func (s *Server) CountDatasets() int { return len(s.Datasets()) }

// CountResources counts the resources of every dataset.
func (s *Server) CountResources() int {
	n := 0
	for _, d := range s.Datasets() {
		n += len(d.Resources)
	}
	return n
}

// File returns the content of a resource's file.
func (s *Server) File(resourceID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.files[resourceID]...)
}

func clone(d *datagouv.Dataset) datagouv.Dataset {
	b, _ := json.Marshal(d)
	var out datagouv.Dataset
	_ = json.Unmarshal(b, &out)
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg})
}

// route counts the call, checks the key of writes and applies a pending
// failure.
func (s *Server) route(name string, h func(w http.ResponseWriter, r *http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[name]++
		f := s.failures[name]
		var failNow *Failure
		if f != nil && f.Times > 0 {
			f.Times--
			failNow = &Failure{Status: f.Status, After: f.After}
		}
		s.mu.Unlock()
		key := r.Header.Get("X-API-KEY")
		if r.Method != http.MethodGet || key != "" {
			if key == "" {
				fail(w, http.StatusUnauthorized, "Unauthorized")
				return
			}
			if key != s.APIKey {
				fail(w, http.StatusUnauthorized, "Invalid API Key")
				return
			}
		}
		if failNow != nil && !failNow.After {
			_, _ = io.Copy(io.Discard, r.Body)
			fail(w, failNow.Status, http.StatusText(failNow.Status))
			return
		}
		status, body := h(w, r)
		if failNow != nil {
			fail(w, failNow.Status, http.StatusText(failNow.Status))
			return
		}
		if status == 0 {
			return // answered
		}
		writeJSON(w, status, body)
	}
}

func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("%024x", s.seq)
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00") }

// dataset returns the live dataset id or an error answer (s.mu held).
func (s *Server) dataset(id string, authed bool) (*datagouv.Dataset, int, any) {
	d, ok := s.datasets[id]
	if !ok {
		for _, x := range s.datasets {
			if x.Slug == id {
				d, ok = x, true
			}
		}
	}
	if !ok || (d.Private && !authed) {
		return nil, http.StatusNotFound, map[string]any{"message": "Dataset not found"}
	}
	if d.Deleted != nil {
		return nil, http.StatusGone, map[string]any{"message": "Dataset has been deleted"}
	}
	return d, 0, nil
}

func (s *Server) authed(r *http.Request) bool { return r.Header.Get("X-API-KEY") == s.APIKey }

func decodeBody(r *http.Request, into any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	return dec.Decode(into)
}

func validation(fields map[string][]string) (int, any) {
	return http.StatusBadRequest, map[string]any{"errors": fields, "message": "Validation error"}
}

// applyDataset applies the fields of a create or update body.
func (s *Server) applyDataset(d *datagouv.Dataset, body map[string]json.RawMessage, create bool) (int, any) {
	errs := map[string][]string{}
	str := func(k string) (string, bool) {
		raw, ok := body[k]
		if !ok {
			return "", false
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			errs[k] = append(errs[k], "Not a valid string.")
		}
		return v, true
	}
	if v, ok := str("title"); ok || create {
		if strings.TrimSpace(v) == "" {
			errs["title"] = []string{"This field is required."}
		} else if len([]rune(v)) > 350 {
			errs["title"] = []string{"Field cannot be longer than 350 characters."}
		}
		d.Title = v
	}
	if v, ok := str("description"); ok || create {
		if strings.TrimSpace(v) == "" {
			errs["description"] = []string{"This field is required."}
		}
		d.Description = v
	}
	if v, ok := str("organization"); ok && v != "" {
		if !s.orgs[v] {
			errs["organization"] = []string{"Unknown organization"}
		}
		d.Organization = &datagouv.Owner{ID: v}
	}
	if v, ok := str("license"); ok {
		d.License = v
	}
	if v, ok := str("frequency"); ok {
		d.Frequency = v
	}
	if raw, ok := body["tags"]; ok {
		var tags []string
		if json.Unmarshal(raw, &tags) != nil {
			errs["tags"] = []string{"Not a valid list."}
		}
		for _, t := range tags {
			if n := len([]rune(t)); n < 3 || n > 96 {
				errs["tags"] = []string{"Tags must be between 3 and 96 characters."}
			}
		}
		d.Tags = tags
	}
	if raw, ok := body["private"]; ok {
		if json.Unmarshal(raw, &d.Private) != nil {
			errs["private"] = []string{"Not a valid boolean."}
		}
	}
	if raw, ok := body["archived"]; ok {
		var v *string
		if json.Unmarshal(raw, &v) != nil {
			errs["archived"] = []string{"Not a valid datetime."}
		}
		d.Archived = v
	}
	if raw, ok := body["extras"]; ok {
		var ex map[string]any
		if json.Unmarshal(raw, &ex) != nil {
			errs["extras"] = []string{"Not a valid object."}
		}
		d.Extras = ex
	}
	if len(errs) > 0 {
		return validation(errs)
	}
	return 0, nil
}

func (s *Server) createDataset(w http.ResponseWriter, r *http.Request) (int, any) {
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body); err != nil {
		return http.StatusBadRequest, map[string]any{"message": "The browser (or proxy) sent a request that this server could not understand."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &datagouv.Dataset{Frequency: "unknown", License: "notspecified", CreatedAt: now()}
	if st, e := s.applyDataset(d, body, true); st != 0 {
		return st, e
	}
	d.ID = s.newID()
	d.Slug = slug(d.Title) + "-" + d.ID[len(d.ID)-6:]
	d.Page = s.URL + "/datasets/" + d.Slug + "/"
	d.URI = s.URL + "/api/1/datasets/" + d.Slug + "/"
	d.LastModified = d.CreatedAt
	d.Resources = []datagouv.Resource{}
	s.datasets[d.ID] = d
	s.order = append(s.order, d.ID)
	return http.StatusCreated, clone(d)
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func (s *Server) getDataset(w http.ResponseWriter, r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, st, e := s.dataset(r.PathValue("id"), s.authed(r))
	if d == nil {
		return st, e
	}
	return http.StatusOK, clone(d)
}

func (s *Server) updateDataset(w http.ResponseWriter, r *http.Request) (int, any) {
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body); err != nil {
		return http.StatusBadRequest, map[string]any{"message": "The browser (or proxy) sent a request that this server could not understand."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, st, e := s.dataset(r.PathValue("id"), true)
	if d == nil {
		return st, e
	}
	next := clone(d)
	if st, e := s.applyDataset(&next, body, false); st != 0 {
		return st, e
	}
	next.LastModified = now()
	*d = next
	return http.StatusOK, clone(d)
}

func (s *Server) deleteDataset(w http.ResponseWriter, r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, st, e := s.dataset(r.PathValue("id"), true)
	if d == nil {
		return st, e
	}
	t := now()
	d.Deleted = &t
	w.WriteHeader(http.StatusNoContent)
	return 0, nil
}

// maxUpload bounds a file the fake keeps.
const maxUpload = 256 << 20

func (s *Server) upload(w http.ResponseWriter, r *http.Request) (int, any) {
	s.mu.Lock()
	_, st, e := s.dataset(r.PathValue("id"), true)
	s.mu.Unlock()
	if st != 0 {
		return st, e
	}
	rid := r.PathValue("rid")
	if rid != "" {
		s.mu.Lock()
		d := s.datasets[r.PathValue("id")]
		_, ok := d.Resource(rid)
		s.mu.Unlock()
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "Resource not found"}
		}
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return http.StatusBadRequest, map[string]any{"message": "Upload must be multipart/form-data"}
	}
	var name string
	var data []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return http.StatusBadRequest, map[string]any{"message": "Malformed upload: " + err.Error()}
		}
		if p.FormName() != "file" {
			continue
		}
		name = p.FileName()
		if data, err = io.ReadAll(io.LimitReader(p, maxUpload+1)); err != nil {
			return http.StatusBadRequest, map[string]any{"message": "Malformed upload: " + err.Error()}
		}
	}
	if name == "" {
		return validation(map[string][]string{"file": {"This field is required."}})
	}
	if len(data) > maxUpload {
		return http.StatusRequestEntityTooLarge, map[string]any{"message": "File too large"}
	}
	if ct := http.DetectContentType(data); strings.HasPrefix(ct, "text/html") {
		return http.StatusUnsupportedMediaType, map[string]any{"message": "This file type is not allowed"}
	}
	s.mu.Lock()
	delay, notify := s.uploadDelay, s.uploading
	s.mu.Unlock()
	if notify != nil {
		select {
		case notify <- struct{}{}:
		default:
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return 0, nil // the client went away: nothing is stored
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, st, e := s.dataset(r.PathValue("id"), true)
	if d == nil {
		return st, e
	}
	sum := sha1.Sum(data)
	format := strings.TrimPrefix(strings.ToLower(name[strings.LastIndex(name, ".")+1:]), ".")
	res := datagouv.Resource{Title: name, Type: "main", Filetype: "file", Format: format, Mime: mimeOf(format),
		Filesize: int64(len(data)), Checksum: &datagouv.Checksum{Type: "sha1", Value: hex.EncodeToString(sum[:])},
		LastModified: now()}
	if rid == "" {
		res.ID = s.newUUID()
		res.CreatedAt = res.LastModified
		res.URL = s.URL + "/fake-static/" + d.ID + "/" + name
		res.Latest = s.URL + "/api/1/datasets/r/" + res.ID
		d.Resources = append(d.Resources, res)
		s.files[res.ID] = data
		return http.StatusCreated, res
	}
	for i := range d.Resources {
		if d.Resources[i].ID == rid {
			old := d.Resources[i]
			res.ID, res.CreatedAt, res.Title, res.Description, res.Schema, res.Extras, res.Type = old.ID, old.CreatedAt, old.Title, old.Description, old.Schema, old.Extras, old.Type
			res.URL = s.URL + "/fake-static/" + d.ID + "/" + name
			res.Latest = old.Latest
			d.Resources[i] = res
		}
	}
	s.files[rid] = data
	return http.StatusOK, res
}

func (s *Server) newUUID() string {
	s.seq++
	h := fmt.Sprintf("%032x", s.seq)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func mimeOf(format string) string {
	switch format {
	case "csv":
		return "text/csv"
	case "json":
		return "application/json"
	}
	return "application/octet-stream"
}

func (s *Server) updateResource(w http.ResponseWriter, r *http.Request) (int, any) {
	var in struct {
		Title       *string          `json:"title"`
		Description *string          `json:"description"`
		Type        *string          `json:"type"`
		Schema      *datagouv.Schema `json:"schema"`
		Extras      map[string]any   `json:"extras"`
	}
	if err := decodeBody(r, &in); err != nil {
		return http.StatusBadRequest, map[string]any{"message": "The browser (or proxy) sent a request that this server could not understand."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, st, e := s.dataset(r.PathValue("id"), true)
	if d == nil {
		return st, e
	}
	for i := range d.Resources {
		res := &d.Resources[i]
		if res.ID != r.PathValue("rid") {
			continue
		}
		if in.Title != nil {
			if strings.TrimSpace(*in.Title) == "" {
				return validation(map[string][]string{"title": {"This field is required."}})
			}
			res.Title = *in.Title
		}
		if in.Type != nil {
			switch *in.Type {
			case "main", "documentation", "update", "api", "code", "other":
				res.Type = *in.Type
			default:
				return validation(map[string][]string{"type": {"Not a valid choice."}})
			}
		}
		if in.Description != nil {
			res.Description = *in.Description
		}
		if in.Schema != nil {
			if in.Schema.Name == "" && in.Schema.URL == "" {
				return validation(map[string][]string{"schema": {"A schema must have a name or an URL."}})
			}
			res.Schema = in.Schema
		}
		if in.Extras != nil {
			res.Extras = in.Extras
		}
		res.LastModified = now()
		return http.StatusOK, *res
	}
	return http.StatusNotFound, map[string]any{"message": "Resource not found"}
}

func (s *Server) createRemoteResource(w http.ResponseWriter, r *http.Request) (int, any) {
	var in struct {
		Filetype string `json:"filetype"`
	}
	_ = decodeBody(r, &in)
	if in.Filetype != "remote" {
		return http.StatusBadRequest, map[string]any{"message": "This endpoint only supports remote resources"}
	}
	return http.StatusNotImplemented, map[string]any{"message": "remote resources are not faked"}
}

func (s *Server) list(r *http.Request, keep func(*datagouv.Dataset) bool) []datagouv.Dataset {
	out := []datagouv.Dataset{}
	for _, id := range s.order {
		d := s.datasets[id]
		if d.Deleted == nil && keep(d) {
			out = append(out, clone(d))
		}
	}
	return out
}

func (s *Server) orgDatasets(w http.ResponseWriter, r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	org := r.PathValue("org")
	if !s.orgs[org] {
		return http.StatusNotFound, map[string]any{"message": "Organization not found"}
	}
	member := s.authed(r)
	all := s.list(r, func(d *datagouv.Dataset) bool {
		return d.Organization != nil && d.Organization.ID == org && (member || !d.Private)
	})
	size := s.PageSize
	if size <= 0 {
		size = 100
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page_size")); err == nil && v > 0 && v < size {
		size = v
	}
	page := 1
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	from := min((page-1)*size, len(all))
	to := min(from+size, len(all))
	var next *string
	if to < len(all) {
		n := fmt.Sprintf("%s/api/1/organizations/%s/datasets/?page=%d&page_size=%d", s.URL, org, page+1, size)
		next = &n
	}
	return http.StatusOK, map[string]any{"data": all[from:to], "page": page, "page_size": size, "total": len(all), "next_page": next}
}

func (s *Server) myDatasets(w http.ResponseWriter, r *http.Request) (int, any) {
	if !s.authed(r) {
		return http.StatusUnauthorized, map[string]any{"message": "Unauthorized"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, s.list(r, func(d *datagouv.Dataset) bool { return d.Organization == nil })
}
