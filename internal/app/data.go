package app

import (
	"path/filepath"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/ingest"
)

// dataActivities builds the data lifecycle activities.
func dataActivities(a *App) *activities.Data {
	return &activities.Data{
		Store:   a.Store,
		Blobs:   ingest.Blobs{Dir: filepath.Join(a.cfg.DataDir, "blobs")},
		DataDir: a.cfg.DataDir,
		Logger:  a.log,
		Audit:   audit.NewLogger(a.Store),
	}
}
