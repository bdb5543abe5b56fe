// Package mail sends civicflow's e-mail: reminders and escalations of
// human tasks, rendered from French templates and delivered over SMTP
// (STARTTLS, authentication) through an outbox in the database that makes
// each notification go out once, even when a worker dies mid-send.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is how to reach the SMTP server (the --smtp-* settings).
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	// From is the sender, "Name <address>" or a bare address.
	From string
	// StartTLS requires the connection to be upgraded with STARTTLS before
	// anything else is said; off, the message travels in clear (a local
	// relay) and credentials are refused unless the host is loopback.
	StartTLS bool
	// TLS tunes STARTTLS (tests set RootCAs); ServerName defaults to Host.
	TLS *tls.Config
	// Timeout bounds one SMTP session; default 60 s.
	Timeout time.Duration
	// HelloName is the EHLO name; default the machine's host name.
	HelloName string
}

// Enabled reports whether e-mail is configured.
func (c Config) Enabled() bool { return c.Host != "" }

// Validate checks the configuration and names the bad setting.
func (c Config) Validate() error {
	if c.Host == "" {
		return nil
	}
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("--smtp-port %d is not a port number", c.Port)
	}
	if c.From == "" {
		return errors.New("--smtp-host needs --smtp-from (the sender address)")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("--smtp-from %q is not an e-mail address: %v", c.From, err)
	}
	if (c.Username == "") != (c.Password == "") {
		return errors.New("--smtp-username and --smtp-password go together")
	}
	return nil
}

// Message is one e-mail.
type Message struct {
	From      string // header From ("Name <address>" or address)
	To        []string
	Subject   string
	Body      string // plain text, UTF-8
	MessageID string // without angle brackets
	Date      time.Time
}

// Bytes renders the message as RFC 5322 text: UTF-8, quoted-printable.
func (m Message) Bytes() []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", encodeAddress(m.From))
	h("To", strings.Join(m.To, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.Format(time.RFC1123Z))
	h("Message-ID", "<"+m.MessageID+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

func encodeAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return s
	}
	return a.String() // encodes a non-ASCII display name
}

// SendError is a failed SMTP transaction.
type SendError struct {
	// Code is the SMTP reply code (0 for network and TLS errors).
	Code int
	Err  error
	// Committed: the end of the message was written before the failure.
	// With Code set, the server refused the message; without, nobody knows
	// whether the server took it (RFC 1047).
	Committed bool
	// Permanent: retrying will not help (5xx replies, TLS and
	// configuration errors).
	Permanent bool
}

func (e *SendError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("SMTP %d: %v", e.Code, e.Err)
	}
	return e.Err.Error()
}

func (e *SendError) Unwrap() error { return e.Err }

// Result is an accepted message.
type Result struct {
	Reply    string   // the server's reply to the end of data ("250 2.0.0 queued as …")
	Refused  []string // recipients the server refused (the others got the message)
	Accepted []string
}

// ErrAborted is returned when the commit callback refused to commit: the
// message was not ended, so the server discards it.
var ErrAborted = errors.New("the send was aborted before the end of the message")

// Sender sends e-mail over SMTP.
type Sender struct{ cfg Config }

// NewSender returns a sender for cfg.
func NewSender(cfg Config) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.HelloName == "" {
		cfg.HelloName, _ = os.Hostname()
		if cfg.HelloName == "" {
			cfg.HelloName = "localhost"
		}
	}
	return &Sender{cfg: cfg}
}

// Config is the sender's configuration.
func (s *Sender) Config() Config { return s.cfg }

// EnvelopeFrom is the bare address of From.
func (s *Sender) EnvelopeFrom() string {
	if a, err := mail.ParseAddress(s.cfg.From); err == nil {
		return a.Address
	}
	return s.cfg.From
}

// Send delivers msg to its recipients in one SMTP transaction. commit, when
// not nil, runs once the whole message is written and before the end of
// data is: past that line the server may deliver it. An error from commit
// abandons the transaction, which the server then discards.
func (s *Sender) Send(ctx context.Context, msg Message, commit func() error) (Result, error) {
	var res Result
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	d := net.Dialer{Timeout: min(s.cfg.Timeout, 30*time.Second)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return res, &SendError{Err: fmt.Errorf("connect to %s: %w", addr, err)}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(s.cfg.Timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return res, smtpErr("greeting", err, false)
	}
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return res, smtpErr("EHLO", err, false)
	}
	if s.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return res, &SendError{Permanent: true, Err: fmt.Errorf("%s does not offer STARTTLS (turn --smtp-starttls off only for a trusted local relay)", addr)}
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.cfg.TLS != nil {
			tc = s.cfg.TLS.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = s.cfg.Host
		}
		if err := c.StartTLS(tc); err != nil {
			se := smtpErr("STARTTLS", err, false)
			var tpe *textproto.Error
			if !errors.As(err, &tpe) {
				se.Permanent = true // certificate or protocol: a configuration matter
			}
			return res, se
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return res, &SendError{Permanent: true, Err: fmt.Errorf("%s does not offer authentication (AUTH), but --smtp-username is set", addr)}
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			se := smtpErr("AUTH", err, false)
			var tpe *textproto.Error
			if !errors.As(err, &tpe) {
				se.Permanent = true // net/smtp refuses to send credentials in clear
			}
			return res, se
		}
	}
	if err := c.Mail(s.EnvelopeFrom()); err != nil {
		return res, smtpErr("MAIL FROM", err, false)
	}
	for _, to := range msg.To {
		if err := c.Rcpt(to); err != nil {
			var tpe *textproto.Error
			if errors.As(err, &tpe) && tpe.Code >= 500 {
				res.Refused = append(res.Refused, to)
				continue
			}
			return res, smtpErr("RCPT TO "+to, err, false)
		}
		res.Accepted = append(res.Accepted, to)
	}
	if len(res.Accepted) == 0 {
		return res, &SendError{Permanent: true, Code: 550, Err: fmt.Errorf("every recipient was refused: %s", strings.Join(res.Refused, ", "))}
	}
	// DATA by hand (not Client.Data) to keep the reply text and to call
	// commit between the body and the end-of-data mark.
	id, err := c.Text.Cmd("DATA")
	if err != nil {
		return res, smtpErr("DATA", err, false)
	}
	c.Text.StartResponse(id)
	_, _, err = c.Text.ReadResponse(354)
	c.Text.EndResponse(id)
	if err != nil {
		return res, smtpErr("DATA", err, false)
	}
	w := c.Text.DotWriter()
	if _, err := w.Write(msg.Bytes()); err != nil {
		return res, smtpErr("message", err, false)
	}
	if commit != nil {
		if err := commit(); err != nil {
			return res, fmt.Errorf("%w: %w", ErrAborted, err) // conn closed by the defer: no end of data
		}
	}
	if err := w.Close(); err != nil {
		return res, smtpErr("end of data", err, true)
	}
	code, reply, err := c.Text.ReadResponse(250)
	if err != nil {
		return res, smtpErr("end of data", err, true)
	}
	res.Reply = strconv.Itoa(code) + " " + reply
	_ = c.Quit()
	return res, nil
}

// smtpErr classifies an error of stage: SMTP replies 5xx are permanent,
// 4xx and network errors temporary.
func smtpErr(stage string, err error, committed bool) *SendError {
	se := &SendError{Err: fmt.Errorf("%s: %w", stage, err), Committed: committed}
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		se.Code = tpe.Code
		se.Permanent = tpe.Code >= 500
	}
	return se
}
