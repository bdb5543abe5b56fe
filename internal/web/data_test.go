package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

const samples = "../tableschema/testdata/samples/"

type dataBundle struct {
	srv *web.Server
	st  *store.Store
}

type dataReply struct {
	status int
	header http.Header
	body   string
}

func (r dataReply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.body), &m), r.body)
	return m
}

// do sends a JSON request with cred as Authorization.
func (b dataBundle) do(method, path, body, cred, _ string) dataReply {
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	rec := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	return dataReply{rec.Code, rec.Header(), rec.Body.String()}
}

func (b dataBundle) login(t *testing.T, user string) string {
	t.Helper()
	r := b.do("POST", "/api/v1/login", `{"username":"`+user+`","password":"demo"}`, "", "")
	require.Equal(t, 200, r.status, r.body)
	return r.json(t)["token"].(string)
}

func dataSetup(t *testing.T, maxUpload int64) dataBundle {
	t.Helper()
	st := storetest.Open(t, storetest.SQLiteURL(t))
	require.NoError(t, auth.SeedDemo(context.Background(), st, "demo"))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if maxUpload > 0 {
		cfg.MaxUploadBytes = maxUpload
	}
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return dataBundle{srv: srv, st: st}
}

// upload posts content as the multipart part "file" (no part when name is "").
func (b dataBundle) upload(t *testing.T, path, name string, content []byte, cred string) dataReply {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if name != "" {
		fw, err := w.CreateFormFile("file", name)
		require.NoError(t, err)
		_, _ = fw.Write(content)
	} else {
		require.NoError(t, w.WriteField("other", "x"))
	}
	require.NoError(t, w.Close())
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	rec := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	return dataReply{rec.Code, rec.Header(), rec.Body.String()}
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(samples + name)
	require.NoError(t, err)
	return b
}

func TestValidateEndpoint(t *testing.T) {
	b := dataSetup(t, 200_000)
	valid := readSample(t, "scdl-subventions.valid.csv")
	invalid := readSample(t, "scdl-subventions.invalid-cells.csv")
	big := bytes.Repeat([]byte("a,b\n"), 100_000)
	tests := []struct {
		name      string
		schema    string
		file      string
		content   []byte
		status    int
		valid     bool
		errorType string
	}{
		{"valid CSV", "scdl-subventions", "s.csv", valid, 200, true, ""},
		{"invalid cells", "scdl-subventions", "s.csv", invalid, 200, false, "type-error"},
		{"cp1252 real export", "scdl-subventions", "lot.csv", readSample(t, "scdl-subventions.real-dep-lot-2017.cp1252.csv"), 200, false, "missing-required-header"},
		{"empty file", "scdl-subventions", "e.csv", []byte{}, 200, false, "source-error"},
		{"binary file", "scdl-subventions", "x.csv", []byte("\x00\x01\x02\x03binary"), 200, false, "source-error"},
		{"PDF", "scdl-subventions", "x.pdf", []byte("%PDF-1.4 hello"), 200, false, "format-error"},
		{"JSON records", "scdl-prenoms", "p.json", []byte(`[{"COLL_NOM":"X"}]`), 200, false, "missing-required-header"},
		{"unknown schema", "nope", "s.csv", valid, 404, false, ""},
		{"no schema", "", "s.csv", valid, 400, false, ""},
		{"no file", "scdl-subventions", "", nil, 400, false, ""},
		{"oversize", "scdl-subventions", "big.csv", big, 413, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/api/v1/validate"
			if tt.schema != "" {
				path += "?schema=" + tt.schema
			}
			r := b.upload(t, path, tt.file, tt.content, "")
			require.Equal(t, tt.status, r.status, r.body)
			if tt.status != 200 {
				require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
				return
			}
			var rep struct {
				Valid     bool   `json:"valid"`
				Encoding  string `json:"encoding"`
				Delimiter string `json:"delimiter"`
				Stats     struct{ Rows, Errors, Warnings int64 }
				Errors    []struct {
					Type, Field, Value, Message string
					Row                         int
				}
				Warnings []any
			}
			require.NoError(t, json.Unmarshal([]byte(r.body), &rep), r.body)
			require.Equal(t, tt.valid, rep.Valid)
			require.NotNil(t, rep.Warnings)
			if tt.valid {
				require.EqualValues(t, 29, rep.Stats.Rows)
				require.Equal(t, "UTF-8", rep.Encoding)
				require.Equal(t, ",", rep.Delimiter)
				require.Empty(t, rep.Errors)
				return
			}
			require.Positive(t, rep.Stats.Errors)
			var types []string
			for _, e := range rep.Errors {
				types = append(types, e.Type)
				require.NotEmpty(t, e.Message)
			}
			require.Contains(t, types, tt.errorType)
		})
	}
}

func TestSchemasEndpoints(t *testing.T) {
	b := dataSetup(t, 0)
	r := b.do("GET", "/api/v1/schemas", "", "", "")
	require.Equal(t, 200, r.status, r.body)
	require.Contains(t, r.body, `"name":"scdl-subventions"`)
	r = b.do("GET", "/api/v1/schemas/scdl-subventions", "", "", "")
	require.Equal(t, 200, r.status)
	require.Contains(t, r.body, `"fields"`)
	require.Equal(t, 404, b.do("GET", "/api/v1/schemas/nope", "", "", "").status)

	schema := `{"name":"arbres-commune","title":"Arbres","fields":[{"name":"id","type":"integer","constraints":{"required":true}},{"name":"espece","type":"string"}]}`
	require.Equal(t, 401, b.do("POST", "/api/v1/schemas", schema, "", "").status)
	steward := "Bearer " + b.login(t, "steward.voirie")
	r = b.do("POST", "/api/v1/schemas", schema, steward, "")
	require.Equal(t, 201, r.status, r.body)
	require.EqualValues(t, 1, r.json(t)["version"])
	r = b.do("POST", "/api/v1/schemas", schema, steward, "")
	require.Equal(t, 200, r.status, "identical: same version")
	require.EqualValues(t, 1, r.json(t)["version"])
	changed := strings.Replace(schema, `"espece","type":"string"`, `"espece","type":"string","constraints":{"required":true}`, 1)
	r = b.do("POST", "/api/v1/schemas", changed, steward, "")
	require.Equal(t, 201, r.status, r.body)
	require.EqualValues(t, 2, r.json(t)["version"])
	require.Equal(t, 422, b.do("POST", "/api/v1/schemas", `{"name":"broken","fields":[{"type":"string"}]}`, steward, "").status)
	require.Equal(t, 409, b.do("POST", "/api/v1/schemas", `{"name":"scdl-prenoms","fields":[{"name":"a"}]}`, steward, "").status)
	require.Equal(t, 403, b.do("POST", "/api/v1/schemas", schema, "Bearer "+b.login(t, "agent.voirie"), "").status)

	// The custom schema validates files.
	r = b.upload(t, "/api/v1/validate?schema=arbres-commune", "a.csv", []byte("id,espece\n1,chêne\nx,\n"), "")
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, false, r.json(t)["valid"])
	r = b.do("GET", "/api/v1/schemas", "", "", "")
	require.Contains(t, r.body, `"origin":"custom"`)

	// A stored schema that no longer parses (stored by an older, more
	// lenient release) is named in a 422, not a 500.
	_, _, err := b.st.PutCustomSchema(context.Background(), store.CustomSchema{Name: "ancien", SHA256: "x", Descriptor: store.JSONText(`{"fields":[{"name":"a","type":"nope"}]}`)})
	require.NoError(t, err)
	r = b.upload(t, "/api/v1/validate?schema=ancien", "a.csv", []byte("a\n1\n"), "")
	require.Equal(t, 422, r.status, r.body)
	require.Contains(t, r.body, `stored schema \"ancien\" version 1 no longer parses`)
}

func TestDatasetsAndFiles(t *testing.T) {
	b := dataSetup(t, 300_000)
	agent := "Bearer " + b.login(t, "agent.voirie")
	r := b.do("POST", "/api/v1/datasets", `{"title":"Arbres d'alignement","department":"voirie","schema":"arbres-urbains","keywords":["arbres"],"frequency":"annual"}`, agent, "")
	require.Equal(t, 201, r.status, r.body)
	require.Equal(t, "arbres-d-alignement", r.json(t)["id"])
	r = b.do("POST", "/api/v1/datasets", `{"title":"Arbres d'alignement","department":"voirie"}`, agent, "")
	require.Equal(t, 201, r.status, r.body)
	require.Equal(t, "arbres-d-alignement-2", r.json(t)["id"])

	for _, tt := range []struct {
		name, body string
		status     int
	}{
		{"other department", `{"title":"Budget","department":"finances"}`, 403},
		{"unknown department", `{"title":"Budget","department":"nowhere"}`, 422},
		{"no title", `{"department":"voirie"}`, 422},
		{"unknown schema", `{"title":"X","department":"voirie","schema":"nope"}`, 422},
		{"bad frequency", `{"title":"X","department":"voirie","frequency":"sometimes"}`, 422},
		{"bad dates", `{"title":"X","department":"voirie","temporalStart":"2024-13-01"}`, 422},
		{"bad personal fields", `{"title":"X","department":"voirie","personalFields":[{"field":"nom","method":"burn"}]}`, 422},
		{"unknown key", `{"title":"X","department":"voirie","colour":"red"}`, 400},
		{"bad id", `{"id":"Robert'); DROP TABLE datasets;--","title":"X","department":"voirie"}`, 422},
		{"taken id", `{"id":"arbres-d-alignement","title":"X","department":"voirie"}`, 409},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do("POST", "/api/v1/datasets", tt.body, agent, "")
			require.Equal(t, tt.status, r.status, r.body)
		})
	}
	require.Equal(t, 401, b.do("POST", "/api/v1/datasets", `{"title":"X","department":"voirie"}`, "", "").status)

	r = b.do("GET", "/api/v1/datasets?department=voirie", "", agent, "")
	require.Equal(t, 200, r.status, r.body)
	require.Len(t, r.json(t)["datasets"], 2)
	fin := "Bearer " + b.login(t, "agent.finances")
	r = b.do("GET", "/api/v1/datasets", "", fin, "")
	require.Equal(t, 200, r.status, r.body)
	require.Empty(t, r.json(t)["datasets"], "another department's datasets are not listed")
	require.Equal(t, 404, b.do("GET", "/api/v1/datasets/arbres-d-alignement", "", fin, "").status)

	r = b.do("PATCH", "/api/v1/datasets/arbres-d-alignement", `{"description":"Les arbres","personalFields":[{"field":"adresse","method":"drop"}]}`, agent, "")
	require.Equal(t, 403, r.status, "the anonymisation policy is a steward's: %s", r.body)
	r = b.do("PATCH", "/api/v1/datasets/arbres-d-alignement", `{"description":"Les arbres"}`, agent, "")
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, "Les arbres", r.json(t)["description"])
	steward := "Bearer " + b.login(t, "steward.voirie")
	r = b.do("PATCH", "/api/v1/datasets/arbres-d-alignement", `{"personalFields":[{"field":"adresse","method":"drop"}]}`, steward, "")
	require.Equal(t, 200, r.status, r.body)
	r = b.do("PATCH", "/api/v1/datasets/arbres-d-alignement", `{"title":"Arbres d'alignement","personalFields":[{"field":"adresse","method":"drop"}]}`, agent, "")
	require.Equal(t, 200, r.status, "the same policy sent back is no change: %s", r.body)
	require.Equal(t, 403, b.do("PATCH", "/api/v1/datasets/arbres-d-alignement", `{"visibility":"public"}`, agent, "").status, "publishing is a steward's")
	require.Equal(t, 422, b.do("PATCH", "/api/v1/datasets/arbres-d-alignement", `{"department":"finances"}`, agent, "").status)

	// Files.
	path := "/api/v1/datasets/arbres-d-alignement/files"
	r = b.upload(t, path, "arbres.csv", readSample(t, "arbres-urbains.valid.csv"), agent)
	require.Equal(t, 201, r.status, r.body)
	up := r.json(t)
	require.Len(t, up["sha256"], 64)
	require.Equal(t, "csv", up["format"])
	require.Equal(t, "arbres.csv", up["name"])
	require.Positive(t, up["size"])
	for _, tt := range []struct {
		name, file string
		content    []byte
		status     int
	}{
		{"empty", "e.csv", []byte{}, 422},
		{"binary", "b.csv", []byte("a\x00b"), 422},
		{"pdf", "d.pdf", []byte("%PDF-1.7"), 422},
		{"no file", "", nil, 400},
		{"oversize", "big.csv", bytes.Repeat([]byte("x"), 400_000), 413},
	} {
		t.Run("upload "+tt.name, func(t *testing.T) {
			r := b.upload(t, path, tt.file, tt.content, agent)
			require.Equal(t, tt.status, r.status, r.body)
		})
	}
	require.Equal(t, 404, b.upload(t, path, "a.csv", []byte("a\n1\n"), fin).status, "another department's dataset is not shown")
	r = b.do("POST", path, `{"url":"https://data.example.org/arbres.csv"}`, agent, "")
	require.Equal(t, 201, r.status, r.body)
	require.Equal(t, "url", r.json(t)["kind"])
	require.Equal(t, 422, b.do("POST", path, `{"url":"file:///etc/passwd"}`, agent, "").status)

	r = b.do("GET", "/api/v1/datasets/arbres-d-alignement", "", agent, "")
	require.Equal(t, 200, r.status, r.body)
	got := r.json(t)
	require.Equal(t, "Arbres d'alignement", got["title"])
	require.Equal(t, "etalab-2.0", got["licence"])
	require.Equal(t, "private", got["visibility"])
	require.Len(t, got["files"], 2)
	require.Empty(t, got["releases"])
	require.Nil(t, got["qualityReport"])
	require.Equal(t, 404, b.do("GET", "/api/v1/datasets/ghost", "", agent, "").status)
	require.Equal(t, 404, b.do("GET", "/api/v1/reports/99", "", agent, "").status)
}
