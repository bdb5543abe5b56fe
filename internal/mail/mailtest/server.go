// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp)
// for tests: STARTTLS with a throw-away certificate, AUTH PLAIN, every
// accepted message kept, and failures on demand.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is an accepted message.
type Message struct {
	From string
	To   []string
	Raw  []byte
	User string // the authenticated user, if any
	TLS  bool   // the session was upgraded with STARTTLS
}

// Parsed parses the message headers and body.
func (m Message) Parsed() (*mail.Message, error) { return mail.ReadMessage(bytes.NewReader(m.Raw)) }

// Options tune the server.
type Options struct {
	// NoTLS turns STARTTLS off.
	NoTLS bool
	// Username and Password, when set, are the one accepted account.
	Username, Password string
}

// Server is a running SMTP server.
type Server struct {
	Host string
	Port int
	// Roots trusts the server's certificate.
	Roots *x509.CertPool

	srv  *smtp.Server
	opts Options
	mu   sync.Mutex
	msgs []Message
	// failData holds replies to give at the end of data, one per message.
	failData []*smtp.SMTPError
	onData   func(Message)
	onRcpt   func(string)
	arrived  chan struct{}
}

// Start starts a server on a loopback port, stopped at the end of t.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, arrived: make(chan struct{}, 100)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	if !opts.NoTLS {
		cert, roots, err := selfSigned()
		if err != nil {
			t.Fatalf("mailtest: certificate: %v", err)
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.Roots = roots
	} else {
		s.srv.AllowInsecureAuth = true
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = "127.0.0.1", addr.Port
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is HOST:PORT.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// FailNextData makes the next message be refused at the end of data with
// code (e.g. 451, 554).
func (s *Server) FailNextData(code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData = append(s.failData, &smtp.SMTPError{Code: code, Message: msg})
}

// OnData runs fn on each message accepted, before the server replies.
func (s *Server) OnData(fn func(Message)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onData = fn
}

// OnRcpt runs fn on each recipient given, before the server replies.
func (s *Server) OnRcpt(fn func(to string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRcpt = fn
}

// Messages returns the accepted messages.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait waits until n messages were accepted or timeout passes, and returns
// the messages accepted.
func (s *Server) Wait(n int, timeout time.Duration) []Message {
	deadline := time.After(timeout)
	for len(s.Messages()) < n {
		select {
		case <-s.arrived:
		case <-deadline:
			return s.Messages()
		}
	}
	return s.Messages()
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	ss.s.mu.Lock()
	fn := ss.s.onRcpt
	ss.s.mu.Unlock()
	if fn != nil {
		fn(to)
	}
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := Message{From: ss.from, To: append([]string(nil), ss.to...), Raw: raw, User: ss.user, TLS: isTLS}
	ss.s.mu.Lock()
	if len(ss.s.failData) > 0 {
		e := ss.s.failData[0]
		ss.s.failData = ss.s.failData[1:]
		ss.s.mu.Unlock()
		return e
	}
	fn := ss.s.onData
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	if fn != nil {
		fn(m)
	}
	select {
	case ss.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

var _ smtp.AuthSession = (*session)(nil)

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "mailtest"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
