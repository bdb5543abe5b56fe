// Package datagouv is a small client of the data.gouv.fr API (udata API
// v1): create and update a dataset, upload or replace a resource's file,
// declare the resource's schema, keep a dataset private (a draft) or
// archive it, and find a dataset by one of its extras, so that a push
// interrupted between the remote create and the local save does not
// create a second dataset.
//
// Writes carry the API key in X-API-KEY. Errors are *Error: 4xx are
// permanent (Retryable false) but 408 and 429; 5xx, timeouts and network
// errors are retryable.
package datagouv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The two public platforms: the test platform (demo) and production.
const (
	DemoURL       = "https://demo.data.gouv.fr"
	ProductionURL = "https://www.data.gouv.fr"
)

// apiPrefix is the path of the API v1 under the platform's URL.
const apiPrefix = "/api/1"

// DefaultTimeout bounds every call but the uploads (which the caller's
// context bounds).
const DefaultTimeout = 30 * time.Second

// Client calls one data.gouv.fr platform with one API key.
type Client struct {
	// BaseURL is the platform, e.g. https://demo.data.gouv.fr (no /api/1).
	BaseURL string
	// APIKey goes in X-API-KEY on every call.
	APIKey string
	// HTTP sends the requests (nil: a client without overall timeout, the
	// uploads being long; calls other than uploads get Timeout).
	HTTP *http.Client
	// Timeout bounds calls other than uploads (0: DefaultTimeout).
	Timeout time.Duration
	// UserAgent names the caller ("" = civicflow).
	UserAgent string
}

// New returns a client of the platform baseURL with apiKey.
func New(baseURL, apiKey string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), APIKey: apiKey}
}

// Error is an answer of the API other than a success, or a failure to get
// one.
type Error struct {
	Method, Path string
	// Status is the HTTP status (0 when no answer came: network, timeout).
	Status int
	// Message is the API's "message", or the cause.
	Message string
	// Fields are the validation errors of a 400, by field.
	Fields map[string][]string
	// Err is the network error when Status is 0.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data.gouv.fr %s %s: ", e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d ", e.Status)
	}
	b.WriteString(e.Message)
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "; %s: %s", k, strings.Join(e.Fields[k], ", "))
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same call may succeed later: no answer
// (network, timeout), 408, 429 and 5xx. Other 4xx are permanent.
func (e *Error) Retryable() bool {
	return e.Status == 0 || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Retryable reports whether err, from a Client call, may go away on retry.
// Errors other than *Error (a context ended, an unreadable file) are
// retryable.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	return err != nil
}

// IsNotFound reports whether err is a 404 or a 410 (deleted).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusGone)
}

// StatusOf returns the HTTP status of err (0 when none).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Schema is the schema a resource declares (schema.data.gouv.fr name,
// e.g. "scdl/subventions").
type Schema struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Checksum is a resource's checksum.
type Checksum struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Resource is a file of a dataset.
type Resource struct {
	ID           string         `json:"id"`
	Title        string         `json:"title"`
	Description  string         `json:"description,omitempty"`
	Type         string         `json:"type,omitempty"`     // main, documentation, update, api, code, other
	Filetype     string         `json:"filetype,omitempty"` // file or remote
	Format       string         `json:"format,omitempty"`
	Mime         string         `json:"mime,omitempty"`
	URL          string         `json:"url,omitempty"`
	Latest       string         `json:"latest,omitempty"`
	Filesize     int64          `json:"filesize,omitempty"`
	Checksum     *Checksum      `json:"checksum,omitempty"`
	Schema       *Schema        `json:"schema,omitempty"`
	Extras       map[string]any `json:"extras,omitempty"`
	CreatedAt    string         `json:"created_at,omitempty"`
	LastModified string         `json:"last_modified,omitempty"`
}

// Owner is the organization (or user) a dataset belongs to.
type Owner struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Slug string `json:"slug,omitempty"`
}

// Dataset is a dataset as the API returns it.
type Dataset struct {
	ID           string         `json:"id"`
	Slug         string         `json:"slug,omitempty"`
	Title        string         `json:"title"`
	Description  string         `json:"description"`
	License      string         `json:"license,omitempty"`
	Frequency    string         `json:"frequency,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
	Private      bool           `json:"private"`
	Archived     *string        `json:"archived,omitempty"`
	Deleted      *string        `json:"deleted,omitempty"`
	Extras       map[string]any `json:"extras,omitempty"`
	Resources    []Resource     `json:"resources,omitempty"`
	Organization *Owner         `json:"organization,omitempty"`
	Page         string         `json:"page,omitempty"`
	URI          string         `json:"uri,omitempty"`
	CreatedAt    string         `json:"created_at,omitempty"`
	LastModified string         `json:"last_modified,omitempty"`
}

// Extra returns the text of an extra ("" when absent).
func (d Dataset) Extra(key string) string {
	if v, ok := d.Extras[key].(string); ok {
		return v
	}
	return ""
}

// Resource returns the dataset's resource id.
func (d Dataset) Resource(id string) (Resource, bool) {
	for _, r := range d.Resources {
		if r.ID == id {
			return r, true
		}
	}
	return Resource{}, false
}

// DatasetInput is what a create or an update sends. Private is always
// sent: a dataset created without it is public at once.
type DatasetInput struct {
	Title        string         `json:"title"`
	Description  string         `json:"description"`
	Organization string         `json:"organization,omitempty"` // organization id
	License      string         `json:"license,omitempty"`
	Frequency    string         `json:"frequency,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
	Private      bool           `json:"private"`
	Extras       map[string]any `json:"extras,omitempty"`
}

// ResourceInput is the metadata an update of a resource sends.
type ResourceInput struct {
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Type        string         `json:"type,omitempty"`
	Schema      *Schema        `json:"schema,omitempty"`
	Extras      map[string]any `json:"extras,omitempty"`
}

// page is a page of a list.
type page[T any] struct {
	Data     []T     `json:"data"`
	Page     int     `json:"page"`
	PageSize int     `json:"page_size"`
	Total    int     `json:"total"`
	NextPage *string `json:"next_page"`
}

// CreateDataset creates a dataset (201).
func (c *Client) CreateDataset(ctx context.Context, in DatasetInput) (Dataset, error) {
	var out Dataset
	err := c.call(ctx, http.MethodPost, "/datasets/", in, &out, http.StatusCreated)
	return out, err
}

// Dataset returns a dataset by id or slug.
func (c *Client) Dataset(ctx context.Context, id string) (Dataset, error) {
	var out Dataset
	err := c.call(ctx, http.MethodGet, "/datasets/"+url.PathEscape(id)+"/", nil, &out, http.StatusOK)
	return out, err
}

// UpdateDataset writes the dataset's metadata.
func (c *Client) UpdateDataset(ctx context.Context, id string, in DatasetInput) (Dataset, error) {
	var out Dataset
	err := c.call(ctx, http.MethodPut, "/datasets/"+url.PathEscape(id)+"/", in, &out, http.StatusOK)
	return out, err
}

// SetPrivate makes a dataset a private draft (true) or public (false).
func (c *Client) SetPrivate(ctx context.Context, id string, private bool) (Dataset, error) {
	var out Dataset
	err := c.call(ctx, http.MethodPut, "/datasets/"+url.PathEscape(id)+"/", map[string]any{"private": private}, &out, http.StatusOK)
	return out, err
}

// Archive archives a dataset (it stays reachable, marked archived and out
// of the search) at the given time.
func (c *Client) Archive(ctx context.Context, id string, at time.Time) (Dataset, error) {
	var out Dataset
	err := c.call(ctx, http.MethodPut, "/datasets/"+url.PathEscape(id)+"/",
		map[string]any{"archived": at.UTC().Format("2006-01-02T15:04:05.000000+00:00")}, &out, http.StatusOK)
	return out, err
}

// MaxFindPages bounds FindDataset's walk through the owner's datasets.
const MaxFindPages = 50

// FindDataset returns the dataset of the organization org (or of the key's
// user, when org is empty) whose extra key is value, private ones
// included; found is false when none is.
func (c *Client) FindDataset(ctx context.Context, org, key, value string) (ds Dataset, found bool, err error) {
	if org == "" {
		var list []Dataset
		if err := c.call(ctx, http.MethodGet, "/me/datasets/", nil, &list, http.StatusOK); err != nil {
			return Dataset{}, false, err
		}
		for _, d := range list {
			if d.Extra(key) == value && d.Deleted == nil {
				return d, true, nil
			}
		}
		return Dataset{}, false, nil
	}
	for n := 1; n <= MaxFindPages; n++ {
		var p page[Dataset]
		path := fmt.Sprintf("/organizations/%s/datasets/?page=%d&page_size=100", url.PathEscape(org), n)
		if err := c.call(ctx, http.MethodGet, path, nil, &p, http.StatusOK); err != nil {
			return Dataset{}, false, err
		}
		for _, d := range p.Data {
			if d.Extra(key) == value && d.Deleted == nil {
				return d, true, nil
			}
		}
		if p.NextPage == nil || len(p.Data) == 0 {
			break
		}
	}
	return Dataset{}, false, nil
}

// UploadResource adds a resource to the dataset from the file read from r
// (streamed, multipart field "file").
func (c *Client) UploadResource(ctx context.Context, datasetID, filename string, r io.Reader) (Resource, error) {
	var out Resource
	err := c.upload(ctx, "/datasets/"+url.PathEscape(datasetID)+"/upload/", filename, r, &out, http.StatusCreated)
	return out, err
}

// ReplaceResourceFile replaces the file of a dataset's resource.
func (c *Client) ReplaceResourceFile(ctx context.Context, datasetID, resourceID, filename string, r io.Reader) (Resource, error) {
	var out Resource
	err := c.upload(ctx, "/datasets/"+url.PathEscape(datasetID)+"/resources/"+url.PathEscape(resourceID)+"/upload/", filename, r, &out, http.StatusOK)
	return out, err
}

// UpdateResource writes a resource's metadata (title, description, schema,
// extras).
func (c *Client) UpdateResource(ctx context.Context, datasetID, resourceID string, in ResourceInput) (Resource, error) {
	var out Resource
	err := c.call(ctx, http.MethodPut, "/datasets/"+url.PathEscape(datasetID)+"/resources/"+url.PathEscape(resourceID)+"/", in, &out, http.StatusOK)
	return out, err
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) call(ctx context.Context, method, path string, in, out any, want int) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("data.gouv.fr %s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.do(req, method, path, out, want)
}

func (c *Client) upload(ctx context.Context, path, filename string, r io.Reader, out any, want int) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", filename)
		if err == nil {
			_, err = io.Copy(fw, r)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := c.request(ctx, http.MethodPost, path, pr)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	err = c.do(req, http.MethodPost, path, out, want)
	pr.CloseWithError(errors.New("request done")) // stops the writer if the server answered early
	return err
}

func (c *Client) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	if c.BaseURL == "" {
		return nil, &Error{Method: method, Path: path, Message: "no data.gouv.fr URL configured", Status: http.StatusBadRequest}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+apiPrefix+path, body)
	if err != nil {
		return nil, &Error{Method: method, Path: path, Message: err.Error(), Status: http.StatusBadRequest}
	}
	req.Header.Set("Accept", "application/json")
	if c.APIKey != "" {
		req.Header.Set("X-API-KEY", c.APIKey)
	}
	ua := c.UserAgent
	if ua == "" {
		ua = "civicflow"
	}
	req.Header.Set("User-Agent", ua)
	return req, nil
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

func (c *Client) do(req *http.Request, method, path string, out any, want int) error {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		msg := "no answer: " + err.Error()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			msg = "timed out: " + err.Error()
		}
		return &Error{Method: method, Path: path, Message: msg, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != want && !(resp.StatusCode >= 200 && resp.StatusCode < 300) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := &Error{Method: method, Path: path, Status: resp.StatusCode}
		var body struct {
			Message string              `json:"message"`
			Errors  map[string][]string `json:"errors"`
		}
		if json.Unmarshal(b, &body) == nil && (body.Message != "" || len(body.Errors) > 0) {
			e.Message, e.Fields = body.Message, body.Errors
		} else {
			e.Message = strings.TrimSpace(string(b))
			if len(e.Message) > 300 {
				e.Message = e.Message[:300] + "…"
			}
		}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(out); err != nil {
		// Status 0: the call may have worked; a retry finds out.
		return &Error{Method: method, Path: path, Message: fmt.Sprintf("unreadable answer (%d): %v", resp.StatusCode, err), Err: err}
	}
	return nil
}
