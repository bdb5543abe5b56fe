package web

import (
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
)

// mimeJSON is the one type of JSON request bodies.
const mimeJSON = "application/json"

// bodyTypes are the request body types of the routes that take something
// else than JSON (every other POST, PUT, PATCH and DELETE takes
// application/json). Keys are "METHOD echo-path".
var bodyTypes = map[string][]string{
	// A BPMN file, as sent by the designer, curl or Camunda Modeler scripts.
	http.MethodPost + " /api/v1/flows": {"application/xml", "text/xml", "application/bpmn+xml", "application/octet-stream"},
	// A file to validate.
	http.MethodPost + " /api/v1/validate": {"multipart/form-data"},
	// A file (multipart) or a source URL (JSON).
	http.MethodPost + " /api/v1/datasets/:id/files": {"multipart/form-data", mimeJSON},
}

// requireBodyType answers 415 (problem+json, with Accept-Post/Accept-Patch
// naming what the route takes) when a state-changing request has a body of
// a type its route does not take: JSON routes take only application/json,
// so that no HTML form and no no-CORS fetch of another site (text/plain,
// form-urlencoded, or no type at all) can reach them. Bodiless requests
// (claim, cancel, logout) pass. Unrouted requests pass to Echo's 404/405.
func requireBodyType() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			switch r.Method {
			case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			default:
				return next(c)
			}
			if r.ContentLength == 0 || c.Path() == "" {
				return next(c)
			}
			want, ok := bodyTypes[r.Method+" "+c.Path()]
			if !ok {
				want = []string{mimeJSON}
			}
			ct := r.Header.Get(echo.HeaderContentType)
			mt, _, err := mime.ParseMediaType(ct)
			if err == nil {
				for _, w := range want {
					if mt == w {
						return next(c)
					}
				}
			}
			switch r.Method {
			case http.MethodPost:
				c.Response().Header().Set("Accept-Post", strings.Join(want, ", "))
			case http.MethodPatch:
				c.Response().Header().Set("Accept-Patch", strings.Join(want, ", "))
			}
			if ct == "" {
				return Errorf(http.StatusUnsupportedMediaType, "the request has no Content-Type: send %s", strings.Join(want, " or "))
			}
			return Errorf(http.StatusUnsupportedMediaType, "Content-Type %q is not accepted here: send %s", ct, strings.Join(want, " or "))
		}
	}
}

// csrfOptions are the CSRF settings of a configuration: the public URL's
// origin is trusted besides the request's host, and signing in refuses
// cross-origin browsers.
func csrfOptions(cfg config.Config) auth.CSRFOptions {
	return auth.CSRFOptions{PublicURL: cfg.PublicURL, SessionRoutes: []string{"/api/v1/login", "/login"}}
}

// formPosts records that the POST routes of a page table take HTML forms
// (application/x-www-form-urlencoded).
func formPosts(routes []RoutePerm) {
	for _, r := range routes {
		if r.Method == http.MethodPost {
			bodyTypes[r.Method+" "+r.Path] = []string{mimeForm}
		}
	}
}
