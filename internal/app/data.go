package app

import (
	"go.temporal.io/sdk/worker"
)

// registrar is a set of activities that registers itself.
type registrar interface{ Register(worker.ActivityRegistry) }

type noRegistrar struct{}

func (noRegistrar) Register(worker.ActivityRegistry) {}

// dataActivities builds the data lifecycle activities (filled in when they land).
func dataActivities(a *App) registrar { return noRegistrar{} }
