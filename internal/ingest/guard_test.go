package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loopbackServer serves "ok" on ip (127.0.0.1, 127.0.0.2…), or redirects
// to redirect when it is set.
func loopbackServer(t *testing.T, ip, redirect string) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if redirect != "" {
			http.Redirect(w, r, redirect, http.StatusTemporaryRedirect)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestGuardAllowed(t *testing.T) {
	g := NewGuard([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("169.254.169.254/32")},
		[]string{"SIG.mairie.local.", "*.intra.local"})
	tests := []struct {
		host, addr string
		want       bool
	}{
		{"example.org", "93.184.215.14", true},
		{"", "127.0.0.1", false},
		{"", "::1", false},
		{"", "::ffff:127.0.0.1", false},
		{"", "10.0.0.1", false},
		{"", "10.1.2.3", true}, // CIDR
		{"", "192.168.1.1", false},
		{"", "172.16.0.1", false},
		{"", "100.64.0.1", false},
		{"", "169.254.169.253", false},
		{"", "169.254.169.254", true}, // a CIDR may allow link-local
		{"", "fe80::1", false},
		{"", "fd00:ec2::254", false},
		{"", "0.0.0.0", false},
		{"", "::", false},
		{"", "64:ff9b::7f00:1", false},
		{"sig.mairie.local", "192.168.10.5", true}, // host name
		{"SIG.MAIRIE.LOCAL.", "127.0.0.1", true},
		{"sig.mairie.local", "169.254.10.10", false}, // never link-local through a name
		{"wfs.intra.local", "10.9.9.9", true},
		{"intra.local", "10.9.9.9", false}, // "*.x" is for subdomains
		{"evil-intra.local", "10.9.9.9", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, g.Allowed(tt.host, netip.MustParseAddr(tt.addr)), "%s %s", tt.host, tt.addr)
	}
	var none *Guard
	require.False(t, none.Allowed("localhost", netip.MustParseAddr("127.0.0.1")))
	require.True(t, none.Allowed("example.org", netip.MustParseAddr("2606:2800:21f:cb07:6820:80da:af6b:8b2c")))
}

// The guard checks every connection, including those of redirects and
// those to names, and the allow-list opens it for what it names only.
func TestGuardClient(t *testing.T) {
	target := loopbackServer(t, "127.0.0.2", "")
	hop := loopbackServer(t, "127.0.0.1", target.URL+"/x")
	direct := loopbackServer(t, "127.0.0.1", "")
	_, port, _ := net.SplitHostPort(direct.Listener.Addr().String())

	get := func(g *Guard, url string) (string, error) {
		resp, err := g.Client(5*time.Second, 5).Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}
	var none *Guard
	for _, u := range []string{direct.URL, "http://localhost:" + port, hop.URL} {
		_, err := get(none, u)
		require.ErrorIs(t, err, ErrBlocked, u)
		var be *BlockedError
		require.True(t, errors.As(err, &be), u)
		require.True(t, be.Addr.IsLoopback())
		require.Contains(t, err.Error(), "--http-allow")
	}

	only1 := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, nil)
	body, err := get(only1, direct.URL)
	require.NoError(t, err)
	require.Equal(t, "ok", body)
	_, err = get(only1, hop.URL) // allowed hop, redirect to 127.0.0.2: refused
	require.ErrorIs(t, err, ErrBlocked)
	require.Contains(t, err.Error(), "127.0.0.2")

	byName := NewGuard(nil, []string{"localhost"})
	body, err = get(byName, "http://localhost:"+port)
	require.NoError(t, err)
	require.Equal(t, "ok", body)
	_, err = get(byName, direct.URL) // the name is allowed, not the address
	require.ErrorIs(t, err, ErrBlocked)

	all := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	body, err = get(all, hop.URL)
	require.NoError(t, err)
	require.Equal(t, "ok", body)
}

// Fetch uses the guard of its options, allow-list included.
func TestFetchGuardAllowList(t *testing.T) {
	srv := loopbackServer(t, "127.0.0.1", "")
	var buf bytes.Buffer
	_, err := Fetch(context.Background(), srv.URL, &buf, FetchOptions{})
	require.ErrorIs(t, err, ErrBlocked)
	_, err = Fetch(context.Background(), srv.URL, &buf, FetchOptions{Guard: NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, nil)})
	require.NoError(t, err)
	require.Equal(t, "ok", buf.String())
}
