// Package ui holds the staff pages' templates and static files (embedded
// with go:embed), the renderer that parses them once at start, and the
// French formatting functions the templates use. It knows nothing of
// HTTP routes or permissions: internal/web fills a Page and renders it.
//
// A page is templates/<name>.html. It defines the blocks "title" (the
// <title> and first heading), "main" (the content of <main>) and,
// optionally, "head" (extra stylesheets and scripts: vendored libraries are
// loaded only by the pages that need them). Files whose name starts with
// "_" are partials shared by every page (layout, nav, form fields…).
// Pages may also define fragments that htmx requests render alone
// (RenderFragment).
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civicflow/civicflow/internal/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed all:static
var staticFS embed.FS

// NavItem is an entry of the main navigation.
type NavItem struct {
	Label   string
	Href    string
	Current bool
}

// Flash is a one-time message shown at the top of the next page
// ("Mot de passe changé."). Kind is "info", "success" or "error".
type Flash struct {
	Kind    string
	Message string
}

// Page is what the layout shows around every page; Data is the page's own.
type Page struct {
	// Title is the page title when the template's "title" block is not enough.
	Title string
	// Org is the collectivité's name, in the header.
	Org       string
	Principal auth.Principal
	Nav       []NavItem
	// CSRF is the hidden input to put in every <form method="post">.
	CSRF template.HTML
	// HXHeaders is the hx-headers attribute sending the CSRF token with htmx requests.
	HXHeaders template.HTMLAttr
	Flash     *Flash
	// Path is the request's path (current nav entry, login's next).
	Path string
	Now  time.Time
	Data any
}

// Renderer renders the embedded pages. Build it once with New.
type Renderer struct {
	pages  map[string]*template.Template
	hashes map[string]string // static path → short content hash
	static fs.FS
	gz     sync.Map // static path → []byte, gzip -9, made on first request
}

// New parses every template and hashes every static file; a template
// error stops the start.
func New() (*Renderer, error) {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}, hashes: map[string]string{}, static: static}
	if err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		r.hashes[p] = hex.EncodeToString(sum[:6])
		return nil
	}); err != nil {
		return nil, fmt.Errorf("ui: static files: %w", err)
	}

	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	var partials, pages []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		if strings.HasPrefix(name, "_") {
			partials = append(partials, "templates/"+name)
		} else {
			pages = append(pages, name)
		}
	}
	base, err := template.New("").Funcs(r.funcs()).ParseFS(templateFS, partials...)
	if err != nil {
		return nil, fmt.Errorf("ui: templates: %w", err)
	}
	for _, name := range pages {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFS, "templates/"+name); err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", name, err)
		}
		if t.Lookup("main") == nil || t.Lookup("title") == nil {
			return nil, fmt.Errorf("ui: template %s must define the blocks \"title\" and \"main\"", name)
		}
		r.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return r, nil
}

// Has reports whether page exists.
func (r *Renderer) Has(page string) bool { return r.pages[page] != nil }

// Pages lists the page names.
func (r *Renderer) Pages() []string {
	var out []string
	for n := range r.pages {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Render writes the whole page (layout around the page's blocks). It
// renders into a buffer first, so a template error never leaves half a
// page behind.
func (r *Renderer) Render(w io.Writer, page string, p Page) error {
	return r.exec(w, page, "layout", p)
}

// RenderFragment writes one block of a page alone (htmx swaps).
func (r *Renderer) RenderFragment(w io.Writer, page, block string, p Page) error {
	return r.exec(w, page, block, p)
}

func (r *Renderer) exec(w io.Writer, page, block string, p Page) error {
	t := r.pages[page]
	if t == nil {
		return fmt.Errorf("ui: no page %q (known: %s)", page, strings.Join(r.Pages(), ", "))
	}
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		return fmt.Errorf("ui: render %s/%s: %w", page, block, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Asset is the URL of a static file with its content hash as version:
// "/static/app.css?v=3f2a…". It panics on a file that does not exist, so
// that a typo fails the first render (and the tests) instead of a page.
func (r *Renderer) Asset(p string) string {
	p = strings.TrimPrefix(p, "/")
	h, ok := r.hashes[p]
	if !ok {
		panic(fmt.Sprintf("ui: no static file %q", p))
	}
	return "/static/" + p + "?v=" + h
}

// HasAsset reports whether the static file p ("app.css", "/static/app.css") exists.
func (r *Renderer) HasAsset(p string) bool {
	_, ok := r.hashes[strings.TrimPrefix(strings.TrimPrefix(p, StaticPrefix), "/")]
	return ok
}

// StaticPrefix is where Static is mounted.
const StaticPrefix = "/static/"

// Static serves the static files under StaticPrefix. Requests that carry
// the file's current hash (?v=…, as Asset writes them) are cached for a
// year (immutable); others for five minutes. Files of 1 KiB or more go
// compressed (gzip -9, once per process) to clients that accept gzip: the
// server's gzip middleware must skip StaticPrefix.
func (r *Renderer) Static() http.Handler {
	files := http.StripPrefix(strings.TrimSuffix(StaticPrefix, "/"), http.FileServerFS(r.static))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := strings.TrimPrefix(path.Clean(req.URL.Path), StaticPrefix)
		h, ok := r.hashes[p]
		if !ok {
			http.NotFound(w, req)
			return
		}
		hdr := w.Header()
		if v := req.URL.Query().Get("v"); v != "" && v == h {
			hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			hdr.Set("Cache-Control", "public, max-age=300")
		}
		hdr.Set("Vary", "Accept-Encoding")
		ctype := mime.TypeByExtension(path.Ext(p))
		if strings.HasSuffix(p, ".md") || path.Base(p) == "LICENSE" || strings.HasSuffix(p, ".txt") || ctype == "" {
			ctype = "text/plain; charset=utf-8"
		}
		hdr.Set("Content-Type", ctype)
		if gz := r.gzipped(p); gz != nil && acceptsGzip(req) {
			etag := `"` + h + `-gz"`
			hdr.Set("ETag", etag)
			if req.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			hdr.Set("Content-Encoding", "gzip")
			hdr.Set("Content-Length", strconv.Itoa(len(gz)))
			w.WriteHeader(http.StatusOK)
			if req.Method != http.MethodHead {
				_, _ = w.Write(gz)
			}
			return
		}
		hdr.Set("ETag", `"`+h+`"`)
		files.ServeHTTP(w, req)
	})
}

// gzipped is the compressed copy of a static file of 1 KiB or more (nil
// for smaller ones, or when compression does not pay).
func (r *Renderer) gzipped(p string) []byte {
	if v, ok := r.gz.Load(p); ok {
		return v.([]byte)
	}
	b, err := fs.ReadFile(r.static, p)
	if err != nil || len(b) < 1024 {
		r.gz.Store(p, []byte(nil))
		return nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	out := buf.Bytes()
	if len(out) >= len(b) {
		out = nil
	}
	r.gz.Store(p, out)
	return out
}

func acceptsGzip(req *http.Request) bool {
	for _, part := range strings.Split(req.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (r *Renderer) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":    r.Asset,
		"date":     FormatDate,
		"datetime": FormatDateTime,
		"relative": func(v any) string { return FormatRelative(v, time.Now()) },
		"isodate": func(v any) string {
			if t, ok := toTime(v); ok {
				return t.In(Paris).Format(time.RFC3339)
			}
			return ""
		},
		"number":  FormatNumber,
		"decimal": FormatDecimal,
		"amount":  FormatAmount,
		"bytes":   FormatBytes,
		"plural":  Plural,
		"count":   Count,
		"role":    RoleLabel,
		"objtype": ObjectTypeLabel,
		// hasPrefix: {{if hasPrefix .Path "/catalog/"}} (current navigation entry).
		"hasPrefix": strings.HasPrefix,
		"lower":     strings.ToLower,
		// splitLines cuts a text into its non-empty lines (paragraphs).
		"splitLines": func(s string) []string {
			var out []string
			for _, l := range strings.Split(s, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					out = append(out, l)
				}
			}
			return out
		},
		// summary shortens a text to about n characters, at a word boundary.
		"summary": func(s string, n int) string {
			r := []rune(strings.Join(strings.Fields(s), " "))
			if len(r) <= n {
				return string(r)
			}
			return string(r[:n]) + "…"
		},
		// dict builds a map for sub-templates: {{template "x" dict "A" 1 "B" 2}}.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
}

var objectTypes = map[string]string{
	"user": "compte", "department": "direction", "delegation": "délégation", "policy": "règle d'accès",
	"apitoken": "jeton d'API", "task": "tâche", "tasks": "tâches", "instance": "demande", "instances": "demandes",
	"dataset": "jeu de données", "datasets": "jeux de données", "flow": "processus", "flows": "processus",
	"schema": "schéma", "schemas": "schémas", "session": "session", "csrf": "protection CSRF", "release": "version publiée",
	"file": "fichier", "form": "formulaire", "forms": "formulaires", "schedule": "planification", "report": "rapport de qualité",
	"users": "comptes", "departments": "directions", "policies": "règles d'accès", "audit": "journal d'audit", "pages": "pages",
}

// ObjectTypeLabel is the French name of an audit entry's object type (the
// type itself when unknown).
func ObjectTypeLabel(t string) string {
	if l, ok := objectTypes[t]; ok {
		return l
	}
	return t
}

// RoleLabel is the French name of a role.
func RoleLabel(role string) string {
	switch role {
	case auth.RoleAgent:
		return "agent"
	case auth.RoleSteward:
		return "référent données"
	case auth.RoleApprover:
		return "signataire"
	case auth.RoleDesigner:
		return "concepteur"
	case auth.RoleAdmin:
		return "administrateur"
	}
	return role
}
