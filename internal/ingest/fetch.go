package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// FetchOptions tune Fetch. The zero value is safe: 60 s timeout, 512 MiB cap,
// SSRF guard on, 5 redirects.
type FetchOptions struct {
	// ETag and LastModified are the validators of the previous fetch; when set
	// they are sent as If-None-Match / If-Modified-Since.
	ETag, LastModified string
	// Timeout bounds the whole request including the body; default 60 s.
	Timeout time.Duration
	// MaxBytes caps the body size; default 512 MiB. The cap is enforced while
	// streaming, whatever Content-Length says.
	MaxBytes int64
	// Client replaces the default client. The SSRF guard then checks the
	// resolved addresses of every URL (initial and redirects) before the
	// request, which a DNS rebinding could evade; the default client goes
	// through Guard's transport, which checks every connection on the
	// address it dials, and does not use proxies.
	Client *http.Client
	// Guard is the SSRF guard with the installation's allow-list
	// (--http-allow); nil refuses every internal address.
	Guard *Guard
	// AllowPrivate disables the SSRF guard, which otherwise refuses loopback,
	// private, link-local, CGNAT, multicast and unspecified addresses.
	// Tests against httptest.Server set it.
	AllowPrivate bool
	// MaxRedirects is the number of redirects followed; default 5.
	MaxRedirects int
	// UserAgent is sent as User-Agent; default "civicflow-ingest".
	UserAgent string
}

// FetchResult describes a completed fetch.
type FetchResult struct {
	// NotModified is true when the server answered 304; nothing was written.
	NotModified bool
	StatusCode  int
	// SHA256 (hex) and Size describe the bytes written to dst.
	SHA256 string
	Size   int64
	// ETag and LastModified are the new validators to store for next time.
	ETag, LastModified string
	ContentType        string
	// URL is the final URL after redirects.
	URL string
}

// Fetch errors; test with errors.Is.
var (
	ErrScheme  = errors.New("only http and https URLs are fetched")
	ErrBlocked = errors.New("address not allowed (loopback, private, link-local or cloud metadata)")
)

// HTTPStatusError is returned for an answer other than 2xx or 304.
type HTTPStatusError struct {
	StatusCode int
	Status     string
}

func (e *HTTPStatusError) Error() string { return "HTTP " + e.Status }

const (
	defaultFetchTimeout = 60 * time.Second
	defaultMaxBytes     = 512 << 20
)

// Fetch downloads rawURL into dst, computing its SHA-256 and size. With
// ETag/LastModified set it makes a conditional request and reports
// NotModified on 304. On error, dst may hold a partial body: write to a
// temporary file (or Blobs.Put through a pipe) and discard it on error.
func Fetch(ctx context.Context, rawURL string, dst io.Writer, opts FetchOptions) (FetchResult, error) {
	var res FetchResult
	u, err := url.Parse(rawURL)
	if err != nil {
		return res, fmt.Errorf("fetch: parse URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return res, fmt.Errorf("fetch %s: scheme %q: %w", redact(u), u.Scheme, ErrScheme)
	}
	if u.Host == "" {
		return res, fmt.Errorf("fetch %s: no host", redact(u))
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultFetchTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = defaultMaxBytes
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = 5
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "civicflow-ingest"
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	client := fetchClient(opts)
	if opts.Client != nil && !opts.AllowPrivate {
		if err := opts.Guard.checkHost(ctx, u.Hostname()); err != nil {
			return res, fmt.Errorf("fetch %s: %w", redact(u), err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return res, fmt.Errorf("fetch %s: %w", redact(u), err)
	}
	req.Header.Set("User-Agent", opts.UserAgent)
	if opts.ETag != "" {
		req.Header.Set("If-None-Match", opts.ETag)
	}
	if opts.LastModified != "" {
		req.Header.Set("If-Modified-Since", opts.LastModified)
	}
	resp, err := client.Do(req)
	if err != nil {
		return res, fmt.Errorf("fetch %s: %w", redact(u), err)
	}
	defer func() { _ = resp.Body.Close() }()

	res.StatusCode = resp.StatusCode
	res.URL = resp.Request.URL.String()
	res.ETag = resp.Header.Get("ETag")
	res.LastModified = resp.Header.Get("Last-Modified")
	res.ContentType = resp.Header.Get("Content-Type")
	if resp.StatusCode == http.StatusNotModified {
		res.NotModified = true
		if res.ETag == "" {
			res.ETag = opts.ETag
		}
		if res.LastModified == "" {
			res.LastModified = opts.LastModified
		}
		return res, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return res, fmt.Errorf("fetch %s: %w", redact(u), &HTTPStatusError{StatusCode: resp.StatusCode, Status: resp.Status})
	}
	if resp.ContentLength > opts.MaxBytes {
		return res, fmt.Errorf("fetch %s: Content-Length %d: %w", redact(u), resp.ContentLength, &LimitError{What: "download size", Limit: opts.MaxBytes})
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), io.LimitReader(resp.Body, opts.MaxBytes+1))
	if err != nil {
		return res, fmt.Errorf("fetch %s: read body: %w", redact(u), err)
	}
	if n > opts.MaxBytes {
		return res, fmt.Errorf("fetch %s: %w", redact(u), &LimitError{What: "download size", Limit: opts.MaxBytes})
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	res.Size = n
	return res, nil
}

// fetchClient returns the client for opts: a copy of opts.Client with the
// redirect policy, or a client over the guard's transport.
func fetchClient(opts FetchOptions) *http.Client {
	var c http.Client
	switch {
	case opts.Client != nil:
		c = *opts.Client
	case opts.AllowPrivate:
		d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
		c.Transport = &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: 15 * time.Second, ResponseHeaderTimeout: 30 * time.Second}
	default:
		c.Transport = opts.Guard.Transport()
	}
	custom := opts.Client != nil
	policy := redirectPolicy(opts.MaxRedirects)
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := policy(req, via); err != nil {
			return err
		}
		if custom && !opts.AllowPrivate {
			if err := opts.Guard.checkHost(req.Context(), req.URL.Hostname()); err != nil {
				return fmt.Errorf("redirect to %s: %w", redact(req.URL), err)
			}
		}
		return nil
	}
	return &c
}

var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("::/96"),         // IPv4-compatible (deprecated)
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64 can reach IPv4 internals
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215)
}

func blockedAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// redact drops user info and the query (tokens often travel there) from a URL
// before it goes into an error or a record.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	return c.String()
}
