package mail

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/store"
)

// Outbox delivers the e-mails recorded in the store's outbox, once each.
//
// How "once" holds across crashes: an attempt first claims the message
// (status sending, with a random claim token), writes the whole message to
// the SMTP server, then records committing — only if its claim still holds
// — and only then sends the end-of-data mark, after which the server may
// deliver. A reply records sent. An attempt that dies before the commit
// leaves sending: the server dropped the unfinished message, and the next
// attempt sends it again. An attempt that dies after it leaves committing:
// the next attempt records unconfirmed and does not send again. The one
// residual risk is therefore a loss, never a duplicate: a crash (or a lost
// connection) in the single round trip between writing the end-of-data
// mark and reading the server's reply, when the server did not in fact
// accept the message. Such messages stay visible as unconfirmed.
type Outbox struct {
	Store  *store.Store
	Sender *Sender
	Log    *slog.Logger
	// Retries are the attempts made within one Deliver call on temporary
	// errors (4xx replies, network), with exponential backoff from
	// Backoff (default 3 retries, 2 s). The caller (a Temporal activity)
	// retries again on top.
	Retries int
	Backoff time.Duration
	// Heartbeat, if set, is called while waiting between retries (the
	// activity records a heartbeat).
	Heartbeat func(ctx context.Context)
	// AfterAccept, if set, runs after the server accepted a message and
	// before that is recorded: tests use it to kill the worker there.
	AfterAccept func(ctx context.Context) error
}

// MessageID derives a stable Message-ID from an outbox key and the sender's
// domain: a message sent again carries the same id, which mail clients use
// to drop duplicates.
func MessageID(key, from string) string {
	domain := "civicflow.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	h := sha256.Sum256([]byte(key))
	return "civicflow." + hex.EncodeToString(h[:12]) + "@" + domain
}

// Deliver sends the outbox message of key unless it already went (or may
// have). It returns the message as recorded. Errors are *SendError (check
// Permanent) or storage errors.
func (o *Outbox) Deliver(ctx context.Context, key string) (store.MailMessage, error) {
	retries, backoff := o.Retries, o.Backoff
	if retries <= 0 {
		retries = 3
	}
	if backoff <= 0 {
		backoff = 2 * time.Second
	}
	for attempt := 0; ; attempt++ {
		m, err := o.deliverOnce(ctx, key)
		var se *SendError
		if err == nil || !errors.As(err, &se) || se.Permanent || attempt >= retries {
			return m, err
		}
		wait := backoff << attempt
		o.log().Warn("e-mail not sent, retrying", "key", key, "attempt", attempt+1, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return m, err
		case <-t.C:
		}
		if o.Heartbeat != nil {
			o.Heartbeat(ctx)
		}
	}
}

// errBusy: another attempt holds the message (it claimed it after us).
var errBusy = errors.New("another attempt is sending this message")

func (o *Outbox) deliverOnce(ctx context.Context, key string) (store.MailMessage, error) {
	claim := newClaim()
	m, err := o.Store.ClaimMail(ctx, key, claim)
	if err != nil {
		return m, err
	}
	switch m.Status {
	case store.MailSent, store.MailUnconfirmed, store.MailSkipped:
		return m, nil
	case store.MailCommitting:
		// An earlier attempt died after ending the message: the server
		// most probably has it. Never send it twice.
		if _, err := o.Store.MailUnconfirmed(ctx, key, "the previous attempt stopped after the end of the message, before the server's reply was recorded; not sent again"); err != nil {
			return m, err
		}
		o.log().Warn("e-mail recorded as unconfirmed: an attempt stopped between its end of data and its bookkeeping", "key", key, "message_id", m.MessageID)
		return o.Store.Mail(ctx, key)
	case store.MailSending:
		if m.Claim != claim {
			return m, &SendError{Err: errBusy}
		}
	default:
		return m, fmt.Errorf("mail %q has an unknown status %q", key, m.Status)
	}
	msg := Message{From: o.Sender.Config().From, To: m.Recipients(), Subject: m.Subject, Body: m.Body,
		MessageID: m.MessageID, Date: m.CreatedAt}
	res, err := o.Sender.Send(ctx, msg, func() error {
		ok, err := o.Store.CommitMail(ctx, key, claim)
		if err != nil {
			return err
		}
		if !ok {
			return errBusy
		}
		return nil
	})
	if err != nil {
		return o.failed(ctx, key, claim, m, err)
	}
	if o.AfterAccept != nil {
		if err := o.AfterAccept(ctx); err != nil {
			return m, err // as if the process died here: no bookkeeping
		}
	}
	reply := res.Reply
	if len(res.Refused) > 0 {
		reply += " (refused: " + strings.Join(res.Refused, ", ") + ")"
	}
	if _, err := o.Store.MailDelivered(ctx, key, claim, reply); err != nil {
		return m, err
	}
	o.log().Info("e-mail sent", "key", key, "message_id", m.MessageID, "to", res.Accepted, "reply", res.Reply)
	return o.Store.Mail(ctx, key)
}

// failed records a failed send. A send that failed after the end of data
// without a reply is ambiguous: it is recorded unconfirmed, not retried.
func (o *Outbox) failed(ctx context.Context, key, claim string, m store.MailMessage, err error) (store.MailMessage, error) {
	var se *SendError
	if errors.As(err, &se) && se.Committed && se.Code == 0 {
		if _, uerr := o.Store.MailUnconfirmed(ctx, key, "connection lost after the end of the message: "+err.Error()); uerr != nil {
			return m, uerr
		}
		o.log().Warn("e-mail unconfirmed: the connection ended before the server's reply", "key", key, "err", err)
		return o.Store.Mail(ctx, key)
	}
	if errors.Is(err, ErrAborted) && errors.Is(err, errBusy) {
		return m, &SendError{Err: errBusy} // the other attempt owns it now
	}
	if _, ferr := o.Store.MailFailed(ctx, key, claim, err.Error()); ferr != nil {
		return m, errors.Join(err, ferr)
	}
	if se == nil {
		return m, err // storage error in the commit step
	}
	return m, se
}

func (o *Outbox) log() *slog.Logger {
	if o.Log == nil {
		return slog.Default()
	}
	return o.Log
}

func newClaim() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
