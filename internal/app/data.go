package app

import (
	"path/filepath"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/ingest"
)

// dataActivities builds the data lifecycle activities.
func dataActivities(a *App) *activities.Data {
	// Validate has checked the list; a bad one would have stopped the start.
	nets, hosts, _ := a.cfg.HTTPAllowList()
	return &activities.Data{
		Store:   a.Store,
		Blobs:   ingest.Blobs{Dir: filepath.Join(a.cfg.DataDir, "blobs")},
		DataDir: a.cfg.DataDir,
		Logger:  a.log,
		Guard:   ingest.NewGuard(nets, hosts),
	}
}
