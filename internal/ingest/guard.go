package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Guard keeps civicflow's outgoing HTTP requests (URL sources, the
// civicflow.http activity) away from internal addresses: loopback,
// private, link-local (where cloud metadata services live), CGNAT,
// multicast and unspecified ones (SSRF). Every connection is checked when
// it is dialled, after DNS resolution, on the very address dialled: the
// guard resolves the name itself, checks each address and connects to
// that address, and the socket's Control hook checks it once more. So a
// redirect to an internal address, or a name that resolves (or rebinds)
// to one, is refused like a literal one.
//
// The allow-list opens the guard for the internal services a collectivité
// chooses (--http-allow): a CIDR or an IP address lets its addresses
// through; a host name ("sig.mairie.local", or "*.mairie.local" for its
// subdomains) lets that name's addresses through, except link-local ones,
// which only a CIDR can allow. The zero Guard and a nil *Guard have an
// empty allow-list.
type Guard struct {
	nets  []netip.Prefix
	hosts []string // lower case; "*.x" matches the subdomains of x

	once      sync.Once
	transport *http.Transport
}

// NewGuard returns a guard with an allow-list of networks and host names.
func NewGuard(nets []netip.Prefix, hosts []string) *Guard {
	g := &Guard{nets: nets}
	for _, h := range hosts {
		g.hosts = append(g.hosts, strings.ToLower(strings.TrimSuffix(h, ".")))
	}
	return g
}

var defaultGuard = &Guard{}

func (g *Guard) or() *Guard {
	if g == nil {
		return defaultGuard
	}
	return g
}

// BlockedError is a refused destination; errors.Is(err, ErrBlocked) holds.
type BlockedError struct {
	Host string     // the host name or address of the URL
	Addr netip.Addr // the address it resolved to
}

func (e *BlockedError) Error() string {
	what := e.Addr.String()
	if e.Host != "" && e.Host != what {
		what = e.Host + " (" + what + ")"
	}
	return "address " + what + " not allowed: it is internal (loopback, private, link-local or cloud metadata); an administrator may allow it with --http-allow"
}

// Is makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Allowed reports whether a connection to a, found for host, may be made.
func (g *Guard) Allowed(host string, a netip.Addr) bool {
	g = g.or()
	a = a.Unmap()
	for _, p := range g.nets {
		if p.Contains(a) {
			return true
		}
	}
	if !blockedAddr(a) {
		return true
	}
	return g.hostAllowed(host) && !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast()
}

func (g *Guard) hostAllowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	for _, h := range g.hosts {
		if h == host {
			return true
		}
		if sub, ok := strings.CutPrefix(h, "*."); ok && strings.HasSuffix(host, "."+sub) {
			return true
		}
	}
	return false
}

// checkHost resolves host and refuses it if any of its addresses is
// refused (used before requests made with a caller's own client).
func (g *Guard) checkHost(ctx context.Context, host string) error {
	addrs, err := resolve(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if !g.Allowed(host, a) {
			return &BlockedError{Host: host, Addr: a.Unmap()}
		}
	}
	return nil
}

func resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	return addrs, nil
}

// DialContext connects to address ("host:port") through the guard: it
// resolves the host, refuses the addresses the guard refuses, and dials
// an allowed address itself.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	g = g.or()
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ipNet := "ip"
	switch network {
	case "tcp4":
		ipNet = "ip4"
	case "tcp6":
		ipNet = "ip6"
	}
	addrs, err := resolve(ctx, ipNet, host)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, a := range addrs {
		a = a.Unmap()
		if !g.Allowed(host, a) {
			if firstErr == nil {
				firstErr = &BlockedError{Host: host, Addr: a}
			}
			continue
		}
		d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second, Control: g.control(host)}
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil || errors.Is(firstErr, ErrBlocked) {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("resolve %s: no address", host)
	}
	return nil, firstErr
}

// control checks, on the socket about to connect, the address dialled.
func (g *Guard) control(host string) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("dial %s: %w", address, ErrBlocked)
		}
		if !g.Allowed(host, ap.Addr()) {
			return &BlockedError{Host: host, Addr: ap.Addr().Unmap()}
		}
		return nil
	}
}

// Transport is the guard's shared HTTP transport: every connection goes
// through DialContext, and no proxy is used (a proxy would hide the real
// destination from the guard).
func (g *Guard) Transport() *http.Transport {
	g = g.or()
	g.once.Do(func() {
		g.transport = &http.Transport{
			Proxy:                 nil,
			DialContext:           g.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConns:          10,
			IdleConnTimeout:       30 * time.Second,
		}
	})
	return g.transport
}

// Client returns an HTTP client over the guard's transport that follows
// at most maxRedirects redirects, to http(s) URLs only (each one dialled
// through the guard like the first).
func (g *Guard) Client(timeout time.Duration, maxRedirects int) *http.Client {
	return &http.Client{Transport: g.Transport(), Timeout: timeout, CheckRedirect: redirectPolicy(maxRedirects)}
}

func redirectPolicy(maxRedirects int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %s: %w", redact(req.URL), ErrScheme)
		}
		return nil
	}
}
