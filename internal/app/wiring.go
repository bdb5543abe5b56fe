package app

import (
	"context"
	"fmt"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/web"
	"github.com/civicflow/civicflow/internal/worker"
	"github.com/civicflow/civicflow/workflows"
)

// Registrations lists what the worker runs: the interpreter workflow and
// every activity, with their dependencies taken from the app.
func Registrations(a *App) []worker.Registration {
	engine := &activities.Engine{Store: a.Store, Log: a.log}
	return []worker.Registration{
		func(r sdkworker.Registry) { workflows.Register(r) },
		func(r sdkworker.Registry) { engine.Register(r) },
		func(r sdkworker.Registry) { dataActivities(a).Register(r) },
		// The public API's usage retention (h/apigw, usage_purge.go).
		func(r sdkworker.Registry) { workflows.RegisterMaintenance(r) },
		func(r sdkworker.Registry) { (&activities.Maintenance{Store: a.Store, Log: a.log}).Register(r) },
	}
}

// SandboxRegistrations lists what the sandbox worker runs: the same
// interpreter, every activity answered by a stub (activities.Sandbox) that
// touches neither the store nor the outside.
func SandboxRegistrations() []worker.Registration {
	return []worker.Registration{
		func(r sdkworker.Registry) { workflows.Register(r) },
		func(r sdkworker.Registry) { activities.Sandbox{}.Register(r) },
	}
}

// Seed loads the demo data (--demo), idempotently: departments, users and
// the default flows, publication and retrait.
func Seed(ctx context.Context, a *App) error {
	a.log.Warn("DEMO MODE: demo users agent.voirie, steward.voirie, agent.finances, steward.finances, dgs, designer and admin have the password from CIVICFLOW_DEMO_PASSWORD (default \"demo\"); never use --demo in production")
	if err := auth.SeedDemo(ctx, a.Store, a.cfg.DemoPassword); err != nil {
		return err
	}
	if svc := a.Web.Auth(); svc != nil {
		svc.Changed()
	}
	// The default flows: publication, and the withdrawal (retrait) that
	// undoes it.
	for _, f := range []struct {
		name string
		xml  []byte
	}{{designer.PublicationKey, designer.PublicationBPMN}, {designer.RetraitKey, designer.RetraitBPMN}} {
		g, err := web.CompileFlow(f.xml)
		if err != nil {
			return fmt.Errorf("compile the %s flow: %w", f.name, err)
		}
		v, created, err := web.DeployFlow(ctx, a.Store, f.xml, g, "demo")
		if err != nil {
			return fmt.Errorf("deploy the %s flow: %w", f.name, err)
		}
		a.log.Info("demo flow deployed", "flow", v.FlowKey, "version", v.Version, "new", created)
	}
	return nil
}
