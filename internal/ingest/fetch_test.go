package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func fetchServer(t *testing.T) *httptest.Server {
	t.Helper()
	const etag = `"v1"`
	const lastMod = "Mon, 02 Jan 2023 15:04:05 GMT"
	mux := http.NewServeMux()
	mux.HandleFunc("/data.csv", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		w.Header().Set("Content-Type", "text/csv")
		_, _ = w.Write([]byte("a;b\n1;2\n"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		_, _ = w.Write(bytes.Repeat([]byte("x"), 100000))
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 100; i++ { // no Content-Length: the cap applies while streaming
			_, _ = w.Write(bytes.Repeat([]byte("y"), 1000))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/data.csv", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch(t *testing.T) {
	t.Parallel()
	srv := fetchServer(t)
	ctx := context.Background()
	open := FetchOptions{AllowPrivate: true}
	body := "a;b\n1;2\n"
	sum := sha256.Sum256([]byte(body))

	t.Run("ok", func(t *testing.T) {
		var buf bytes.Buffer
		res, err := Fetch(ctx, srv.URL+"/data.csv", &buf, open)
		require.NoError(t, err)
		require.Equal(t, body, buf.String())
		require.Equal(t, hex.EncodeToString(sum[:]), res.SHA256)
		require.Equal(t, int64(len(body)), res.Size)
		require.Equal(t, `"v1"`, res.ETag)
		require.Equal(t, "Mon, 02 Jan 2023 15:04:05 GMT", res.LastModified)
		require.Equal(t, "text/csv", res.ContentType)
		require.False(t, res.NotModified)
	})
	t.Run("not modified", func(t *testing.T) {
		var buf bytes.Buffer
		o := open
		o.ETag, o.LastModified = `"v1"`, "Mon, 02 Jan 2023 15:04:05 GMT"
		res, err := Fetch(ctx, srv.URL+"/data.csv", &buf, o)
		require.NoError(t, err)
		require.True(t, res.NotModified)
		require.Equal(t, http.StatusNotModified, res.StatusCode)
		require.Equal(t, `"v1"`, res.ETag)
		require.Zero(t, buf.Len())
	})
	t.Run("redirect followed", func(t *testing.T) {
		var buf bytes.Buffer
		res, err := Fetch(ctx, srv.URL+"/redirect", &buf, open)
		require.NoError(t, err)
		require.Equal(t, srv.URL+"/data.csv", res.URL)
		require.Equal(t, body, buf.String())
	})

	errTests := []struct {
		name    string
		url     string
		opts    FetchOptions
		wantErr error
		wantMsg string
	}{
		{"ftp scheme", "ftp://example.org/x.csv", open, ErrScheme, ""},
		{"file scheme", "file:///etc/passwd", open, ErrScheme, ""},
		{"redirect to file", srv.URL + "/to-file", open, ErrScheme, ""},
		{"content-length over cap", srv.URL + "/big", FetchOptions{AllowPrivate: true, MaxBytes: 1000}, ErrLimit, ""},
		{"streamed over cap", srv.URL + "/chunked", FetchOptions{AllowPrivate: true, MaxBytes: 5000}, ErrLimit, ""},
		{"404", srv.URL + "/missing", open, nil, "HTTP 404"},
		{"timeout", srv.URL + "/slow", FetchOptions{AllowPrivate: true, Timeout: 200 * time.Millisecond}, context.DeadlineExceeded, ""},
		{"ssrf guard blocks loopback", srv.URL + "/data.csv", FetchOptions{}, ErrBlocked, ""},
		{"ssrf guard with custom client", srv.URL + "/data.csv", FetchOptions{Client: srv.Client()}, ErrBlocked, ""},
		{"ssrf guard blocks metadata IP", "http://169.254.169.254/latest", FetchOptions{Timeout: time.Second}, ErrBlocked, ""},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Fetch(ctx, tt.url, &buf, tt.opts)
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			if tt.wantMsg != "" {
				require.Contains(t, err.Error(), tt.wantMsg)
			}
		})
	}
}

func TestFetchIntoBlobs(t *testing.T) {
	t.Parallel()
	srv := fetchServer(t)
	tmp, err := createTemp(t)
	require.NoError(t, err)
	res, err := Fetch(context.Background(), srv.URL+"/data.csv", tmp, FetchOptions{AllowPrivate: true})
	require.NoError(t, err)
	_, err = tmp.Seek(0, 0)
	require.NoError(t, err)
	b := Blobs{Dir: t.TempDir()}
	sha, n, err := b.Put(context.Background(), tmp)
	require.NoError(t, err)
	require.Equal(t, res.SHA256, sha)
	require.Equal(t, res.Size, n)
}

func TestRedactURL(t *testing.T) {
	_, err := Fetch(context.Background(), "gopher://user:secret@example.org/?apikey=k", &bytes.Buffer{}, FetchOptions{})
	require.ErrorIs(t, err, ErrScheme)
	require.False(t, strings.Contains(err.Error(), "secret"))
	require.False(t, strings.Contains(err.Error(), "apikey=k"))
}
