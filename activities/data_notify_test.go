package activities_test

import (
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/mail"
	"github.com/civicflow/civicflow/internal/mail/mailtest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

type notifyBundle struct {
	d   *activities.Data
	st  *store.Store
	srv *mailtest.Server
	due time.Time
}

// notifySetup: users with addresses (one without), roles, a flow, an
// instance with an open approval task due on 2025-03-03 at 14:05 Paris.
func notifySetup(t *testing.T, st *store.Store) notifyBundle {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, st.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie et espaces publics"}))
	for _, u := range []struct{ name, email, role, dept string }{
		{"dgs", "DGS@ville-test.fr", "approver", "*"},
		{"adjoint", "adjoint@ville-test.fr", "approver", "voirie"},
		{"steward.voirie", "steward@ville-test.fr", "steward", "voirie"},
		{"agent.voirie", "", "agent", "voirie"},
	} {
		usr := &store.User{Username: u.name, DisplayName: u.name}
		if u.email != "" {
			usr.Email = &u.email
		}
		require.NoError(t, st.CreateUser(ctx, usr))
		require.NoError(t, st.GrantMembership(ctx, usr.ID, u.role, u.dept))
	}
	_, _, err := st.DeployFlow(ctx, "publication", "Publication d'un jeu de données", store.FlowVersion{Checksum: "x", BPMN: "<x/>", Graph: "{}", DeployedBy: "test"})
	require.NoError(t, err)
	require.NoError(t, st.CreateInstance(ctx, store.Instance{ID: "i1", FlowKey: "publication", Version: 1, Department: "voirie", Status: "running", StartedBy: "agent.voirie"}, nil))
	due := time.Date(2025, 3, 3, 13, 5, 0, 0, time.UTC)
	require.NoError(t, st.OpenTask(ctx, store.Task{ID: "i1.approval.1", InstanceID: "i1", Node: "approval", Name: "Approbation",
		FlowKey: "publication", Department: "voirie", Role: "approver", Due: &due}, []string{"approver@voirie"}, nil, nil, nil, nil))
	srv := mailtest.Start(t, mailtest.Options{})
	d := &activities.Data{Store: st, BaseURL: "https://data.ville-test.fr/", Mail: &mail.Outbox{Store: st, Backoff: 10 * time.Millisecond,
		Sender: mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, From: "Mairie <ne-pas-repondre@ville-test.fr>", StartTLS: true,
			TLS: &tls.Config{RootCAs: srv.Roots, MinVersion: tls.VersionTLS12}})}}
	return notifyBundle{d: d, st: st, srv: srv, due: due}
}

func notifyInput(to, tmpl string) workflows.ActivityInput {
	return workflows.ActivityInput{InstanceID: "i1", Flow: "publication", Version: 1, Department: "voirie", NodeID: "remind",
		Params: map[string]string{"to": to, "template": tmpl}}
}

func TestNotifySendsFrenchEmailOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		b := notifySetup(t, st)
		ctx := context.Background()
		res, err := b.d.Notify(ctx, notifyInput("approver", "approval-overdue"))
		require.NoError(t, err)
		require.Equal(t, store.MailSent, res.Variables["mail"])
		require.Contains(t, res.Message, "adjoint@ville-test.fr")
		msgs := b.srv.Messages()
		require.Len(t, msgs, 1)
		require.Equal(t, []string{"adjoint@ville-test.fr", "dgs@ville-test.fr"}, msgs[0].To,
			"the task's candidates: approvers of voirie and of every department")
		p, err := msgs[0].Parsed()
		require.NoError(t, err)
		subject, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, "Rappel : une publication attend votre approbation", subject)
		raw, err := io.ReadAll(quotedprintable.NewReader(p.Body))
		require.NoError(t, err)
		body := string(raw)
		require.Contains(t, body, "« Approbation »")
		require.Contains(t, body, "« Publication d'un jeu de données »")
		require.Contains(t, body, "Voirie et espaces publics")
		require.Contains(t, body, "lundi 3 mars 2025 à 14 h 05")
		require.Contains(t, body, "https://data.ville-test.fr/tasks/i1.approval.1")

		// A retry of the same activity: nothing more is sent.
		res, err = b.d.Notify(ctx, notifyInput("approver", "approval-overdue"))
		require.NoError(t, err)
		require.Equal(t, store.MailSent, res.Variables["mail"])
		require.Len(t, b.srv.Messages(), 1)
		ns, err := st.Notifications(ctx, "i1")
		require.NoError(t, err)
		require.Len(t, ns, 1)
		require.NotNil(t, ns[0].SentAt)
		ms, err := st.MailsOfInstance(ctx, "i1")
		require.NoError(t, err)
		require.Len(t, ms, 1)
		require.Equal(t, 1, ms[0].Attempts)
	})
}

func TestNotifyRecipients(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	b := notifySetup(t, st)
	ctx := context.Background()
	tests := []struct {
		name, to string
		want     []string
		node     string
	}{
		{"a role the task is offered to", "approver", []string{"adjoint@ville-test.fr", "dgs@ville-test.fr"}, "n1"},
		{"the task's candidates", "candidates", []string{"adjoint@ville-test.fr", "dgs@ville-test.fr"}, "n2"},
		{"another role of the department", "steward", []string{"steward@ville-test.fr"}, "n3"},
		{"a role in a fixed department", "steward@voirie", []string{"steward@ville-test.fr"}, "n4"},
		{"a user", "steward.voirie", []string{"steward@ville-test.fr"}, "n5"},
		{"an address", "Service SIG <sig@ville-test.fr>", []string{"sig@ville-test.fr"}, "n6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(b.srv.Messages())
			in := notifyInput(tt.to, "task-overdue")
			in.NodeID = tt.node
			_, err := b.d.Notify(ctx, in)
			require.NoError(t, err)
			msgs := b.srv.Messages()
			require.Len(t, msgs, before+1)
			require.Equal(t, tt.want, msgs[len(msgs)-1].To)
		})
	}

	t.Run("claimed task: its assignee only", func(t *testing.T) {
		require.NoError(t, st.AssignTask(ctx, "i1.approval.1", "dgs", time.Now(), 1<<40))
		in := notifyInput("approver", "approval-overdue")
		in.NodeID = "n7"
		_, err := b.d.Notify(ctx, in)
		require.NoError(t, err)
		msgs := b.srv.Messages()
		require.Equal(t, []string{"dgs@ville-test.fr"}, msgs[len(msgs)-1].To)
	})

	t.Run("nobody with an address: recorded, not sent", func(t *testing.T) {
		before := len(b.srv.Messages())
		in := notifyInput("agent.voirie", "task-overdue")
		in.NodeID = "n8"
		res, err := b.d.Notify(ctx, in)
		require.NoError(t, err)
		require.Equal(t, store.MailSkipped, res.Variables["mail"])
		require.Contains(t, res.Message, "nobody concerned by \"agent.voirie\" has an e-mail address")
		require.Len(t, b.srv.Messages(), before)
	})

	t.Run("unknown template: a business error naming the known ones", func(t *testing.T) {
		in := notifyInput("approver", "relance")
		in.NodeID = "n9"
		_, err := b.d.Notify(ctx, in)
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.True(t, ae.NonRetryable())
		require.Contains(t, ae.Message(), "approval-overdue")
	})

	t.Run("the SMTP server refuses for good: a business error (incident)", func(t *testing.T) {
		b.srv.FailNextData(554, "policy rejection")
		in := notifyInput("approver", "approval-overdue")
		in.NodeID = "n10"
		_, err := b.d.Notify(ctx, in)
		var ae *temporal.ApplicationError
		require.ErrorAs(t, err, &ae)
		require.True(t, ae.NonRetryable())
		require.Contains(t, ae.Message(), "554")
	})
}
