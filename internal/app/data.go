package app

import (
	"context"
	"path/filepath"

	"go.temporal.io/sdk/activity"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/datagouv"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/mail"
)

// dataActivities builds the data lifecycle activities.
func dataActivities(a *App) *activities.Data {
	// Validate has checked the list; a bad one would have stopped the start.
	nets, hosts, _ := a.cfg.HTTPAllowList()
	d := &activities.Data{
		Store:   a.Store,
		Blobs:   ingest.Blobs{Dir: filepath.Join(a.cfg.DataDir, "blobs")},
		DataDir: a.cfg.DataDir,
		Logger:  a.log,
		Guard:   ingest.NewGuard(nets, hosts),
		BaseURL: a.cfg.BaseURL(),
		Audit:   audit.NewLogger(a.Store),
	}
	if a.cfg.DatagouvURL != "" && a.cfg.DatagouvAPIKey != "" {
		d.Datagouv = datagouv.New(a.cfg.DatagouvURL, a.cfg.DatagouvAPIKey)
		d.DatagouvOrg = a.cfg.DatagouvOrg
	}
	if a.cfg.SMTPHost != "" {
		d.Mail = &mail.Outbox{Store: a.Store, Log: a.log, Sender: mail.NewSender(mail.Config{
			Host: a.cfg.SMTPHost, Port: a.cfg.SMTPPort, Username: a.cfg.SMTPUsername, Password: a.cfg.SMTPPassword,
			From: a.cfg.SMTPFrom, StartTLS: a.cfg.SMTPStartTLS,
		}), Heartbeat: func(ctx context.Context) {
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx)
			}
		}}
	}
	return d
}

// DataActivities returns the data activities as this process's worker
// registers them; tests adjust them for workers of their own.
func (a *App) DataActivities() *activities.Data { return dataActivities(a) }
