package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/mail"
	"github.com/civicflow/civicflow/internal/mail/mailtest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func senderFor(srv *mailtest.Server, user, pass string) *mail.Sender {
	return mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, Username: user, Password: pass,
		From: "Mairie de Test <ne-pas-repondre@ville-test.fr>", StartTLS: true,
		TLS: &tls.Config{RootCAs: srv.Roots, MinVersion: tls.VersionTLS12}, Timeout: 10 * time.Second})
}

func decodeBody(t *testing.T, m mailtest.Message) (subject, body string) {
	t.Helper()
	p, err := m.Parsed()
	require.NoError(t, err)
	subject, err = new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "quoted-printable", p.Header.Get("Content-Transfer-Encoding"))
	b, err := io.ReadAll(quotedprintable.NewReader(p.Body))
	require.NoError(t, err)
	return subject, string(b)
}

func TestSendOverStartTLSWithAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "civicflow", Password: "s3cret"})
	s := senderFor(srv, "civicflow", "s3cret")
	msg := mail.Message{From: s.Config().From, To: []string{"dgs@ville-test.fr"}, Subject: "Rappel : tâche « Approbation »",
		Body: "Bonjour,\nÉchéance : lundi 3 mars 2025 à 14 h 05.\n", MessageID: "abc@ville-test.fr", Date: time.Now()}
	res, err := s.Send(context.Background(), msg, nil)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(res.Reply, "250"), res.Reply)
	got := srv.Messages()
	require.Len(t, got, 1)
	require.True(t, got[0].TLS, "the message went over STARTTLS")
	require.Equal(t, "civicflow", got[0].User)
	require.Equal(t, "ne-pas-repondre@ville-test.fr", got[0].From, "envelope sender is the bare address")
	require.Equal(t, []string{"dgs@ville-test.fr"}, got[0].To)
	subject, body := decodeBody(t, got[0])
	require.Equal(t, msg.Subject, subject)
	require.Equal(t, "Bonjour,\r\nÉchéance : lundi 3 mars 2025 à 14 h 05.\r\n", body)
	p, _ := got[0].Parsed()
	require.Equal(t, "<abc@ville-test.fr>", p.Header.Get("Message-ID"))
	require.Contains(t, p.Header.Get("From"), "ne-pas-repondre@ville-test.fr")
}

func TestSendRefusals(t *testing.T) {
	plain := mailtest.Start(t, mailtest.Options{NoTLS: true})
	authed := mailtest.Start(t, mailtest.Options{Username: "civicflow", Password: "s3cret"})
	msg := mail.Message{From: "a@b.fr", To: []string{"x@y.fr"}, Subject: "s", Body: "b", MessageID: "m@b.fr", Date: time.Now()}
	tests := []struct {
		name      string
		sender    *mail.Sender
		want      string
		permanent bool
	}{
		{"server without STARTTLS", senderFor(plain, "", ""), "STARTTLS", true},
		{"wrong password", senderFor(authed, "civicflow", "nope"), "535", true},
		{"untrusted certificate", mail.NewSender(mail.Config{Host: authed.Host, Port: authed.Port, From: "a@b.fr", StartTLS: true}), "certificate", true},
		{"nobody listens", mail.NewSender(mail.Config{Host: "127.0.0.1", Port: 1, From: "a@b.fr"}), "connect", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.sender.Send(context.Background(), msg, nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			var se *mail.SendError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.permanent, se.Permanent, "%v", err)
		})
	}
	// In clear, to a trusted local relay, when asked.
	clear := mail.NewSender(mail.Config{Host: plain.Host, Port: plain.Port, From: "a@b.fr"})
	_, err := clear.Send(context.Background(), msg, nil)
	require.NoError(t, err)
	require.Len(t, plain.Messages(), 1)
	require.False(t, plain.Messages()[0].TLS)
}

func TestTemplatesAreFrench(t *testing.T) {
	due := time.Date(2025, 3, 1, 8, 5, 0, 0, time.UTC) // 9 h 05 in Paris
	require.Equal(t, "samedi 1er mars 2025 à 9 h 05", mail.DateFR(due))
	require.Equal(t, "mardi 15 juillet 2025 à 14 h 30", mail.DateFR(time.Date(2025, 7, 15, 12, 30, 0, 0, time.UTC)), "summer time")
	require.Contains(t, mail.Templates(), "approval-overdue")
	require.Contains(t, mail.Templates(), "task-overdue")
	for _, name := range mail.Templates() {
		t.Run(name, func(t *testing.T) {
			subject, body, err := mail.Render(name, mail.Data{Task: "Approbation", Flow: "Publication", Department: "Voirie",
				Dataset: "Subventions 2024", Due: mail.DateFR(due), Link: "https://data.ville.fr/tasks/i1.approval.1"})
			require.NoError(t, err)
			require.NotContains(t, subject, "\n")
			require.Contains(t, subject+body, "Approbation")
			require.Contains(t, body, "Publication")
			require.Contains(t, body, "samedi 1er mars 2025 à 9 h 05")
			require.Contains(t, body, "https://data.ville.fr/tasks/i1.approval.1")
			require.True(t, strings.HasPrefix(body, "Bonjour,"), body)
		})
	}
	_, _, err := mail.Render("nope", mail.Data{})
	require.ErrorContains(t, err, "approval-overdue")
}

// outboxSetup returns an outbox over a fresh store and one enqueued message.
func outboxSetup(t *testing.T, st *store.Store, srv *mailtest.Server, key string) *mail.Outbox {
	t.Helper()
	s := senderFor(srv, "", "")
	_, err := st.EnqueueMail(context.Background(), store.MailMessage{Key: key, MessageID: mail.MessageID(key, s.Config().From),
		Subject: "Rappel", Body: "Bonjour"}, []string{"dgs@ville-test.fr", "steward@ville-test.fr"})
	require.NoError(t, err)
	return &mail.Outbox{Store: st, Sender: s, Backoff: 10 * time.Millisecond}
}

func TestOutboxSendsOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := mailtest.Start(t, mailtest.Options{})

		t.Run("sent, then never again", func(t *testing.T) {
			o := outboxSetup(t, st, srv, "i1/run/remind/notify/7")
			m, err := o.Deliver(ctx, "i1/run/remind/notify/7")
			require.NoError(t, err)
			require.Equal(t, store.MailSent, m.Status)
			require.NotNil(t, m.SentAt)
			require.Contains(t, m.Reply, "250")
			m, err = o.Deliver(ctx, "i1/run/remind/notify/7")
			require.NoError(t, err)
			require.Equal(t, store.MailSent, m.Status)
			require.Len(t, srv.Messages(), 1)
			require.ElementsMatch(t, []string{"dgs@ville-test.fr", "steward@ville-test.fr"}, srv.Messages()[0].To)
		})

		t.Run("temporary refusal: retried with backoff", func(t *testing.T) {
			before := len(srv.Messages())
			o := outboxSetup(t, st, srv, "i2/run/remind/notify/7")
			srv.FailNextData(451, "try again later")
			m, err := o.Deliver(ctx, "i2/run/remind/notify/7")
			require.NoError(t, err)
			require.Equal(t, store.MailSent, m.Status)
			require.Equal(t, 2, m.Attempts)
			require.Len(t, srv.Messages(), before+1)
		})

		t.Run("permanent refusal: failed, claimable again", func(t *testing.T) {
			before := len(srv.Messages())
			o := outboxSetup(t, st, srv, "i3/run/remind/notify/7")
			srv.FailNextData(554, "rejected")
			m, err := o.Deliver(ctx, "i3/run/remind/notify/7")
			var se *mail.SendError
			require.ErrorAs(t, err, &se)
			require.True(t, se.Permanent)
			m, _ = st.Mail(ctx, "i3/run/remind/notify/7")
			require.Equal(t, store.MailFailed, m.Status)
			require.Contains(t, m.LastError, "554")
			m, err = o.Deliver(ctx, "i3/run/remind/notify/7") // an operator's retry
			require.NoError(t, err)
			require.Equal(t, store.MailSent, m.Status)
			require.Len(t, srv.Messages(), before+1)
		})

		t.Run("crash after the server accepted: not sent twice", func(t *testing.T) {
			before := len(srv.Messages())
			o := outboxSetup(t, st, srv, "i4/run/remind/notify/7")
			crash := errors.New("worker killed")
			o.AfterAccept = func(context.Context) error { return crash }
			_, err := o.Deliver(ctx, "i4/run/remind/notify/7")
			require.ErrorIs(t, err, crash)
			m, _ := st.Mail(ctx, "i4/run/remind/notify/7")
			require.Equal(t, store.MailCommitting, m.Status, "the crash left the message past its commit point")
			require.Len(t, srv.Messages(), before+1)

			restarted := outboxSetup(t, st, srv, "i4/run/remind/notify/7") // a new process: nothing in memory
			m, err = restarted.Deliver(ctx, "i4/run/remind/notify/7")
			require.NoError(t, err)
			require.Equal(t, store.MailUnconfirmed, m.Status)
			require.Contains(t, m.LastError, "not sent again")
			require.Len(t, srv.Messages(), before+1, "one message, not two")
		})

		t.Run("crash before the end of data: sent by the next attempt", func(t *testing.T) {
			before := len(srv.Messages())
			key := "i5/run/remind/notify/7"
			o := outboxSetup(t, st, srv, key)
			// The first attempt claims it and dies mid-message (simulated:
			// the claim is taken but the commit never happens).
			m, err := st.ClaimMail(ctx, key, "dead-attempt")
			require.NoError(t, err)
			require.Equal(t, store.MailSending, m.Status)
			m, err = o.Deliver(ctx, key)
			require.NoError(t, err)
			require.Equal(t, store.MailSent, m.Status)
			require.Len(t, srv.Messages(), before+1)
			// The dead attempt, were it alive, can no longer commit.
			ok, err := st.CommitMail(ctx, key, "dead-attempt")
			require.NoError(t, err)
			require.False(t, ok)
		})

		t.Run("a second attempt takes over: one message", func(t *testing.T) {
			before := len(srv.Messages())
			key := "i6/run/remind/notify/7"
			o := outboxSetup(t, st, srv, key)
			// While this attempt is in its SMTP session, another one claims
			// the message (a retry after a timeout): this attempt must not
			// end its message, and its own retry takes the message back.
			var once sync.Once
			srv.OnRcpt(func(string) {
				once.Do(func() {
					_, err := st.ClaimMail(ctx, key, "other-attempt")
					require.NoError(t, err)
				})
			})
			defer srv.OnRcpt(nil)
			m, err := o.Deliver(ctx, key)
			require.NoError(t, err)
			require.Equal(t, store.MailSent, m.Status)
			require.Equal(t, 3, m.Attempts, "ours, the other one, ours again")
			require.Len(t, srv.Messages(), before+1, "the robbed transaction was abandoned before its end")
			ok, err := st.CommitMail(ctx, key, "other-attempt")
			require.NoError(t, err)
			require.False(t, ok, "and the other attempt can no longer commit")
		})
	})
}
