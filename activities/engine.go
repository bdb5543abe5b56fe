package activities

import (
	"context"
	"errors"
	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// Engine holds the activities that keep the engine's read models (task
// inbox, instance list) in step with the interpreter. Each is idempotent:
// replaying it leaves the same rows.
type Engine struct {
	Store *store.Store
	Log   *slog.Logger
}

// Register adds the engine activities under their workflow-facing names.
func (e *Engine) Register(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(e.OpenTask, activity.RegisterOptions{Name: workflows.ActTaskOpen})
	r.RegisterActivityWithOptions(e.CloseTask, activity.RegisterOptions{Name: workflows.ActTaskClose})
	r.RegisterActivityWithOptions(e.AssignTask, activity.RegisterOptions{Name: workflows.ActTaskAssign})
	r.RegisterActivityWithOptions(e.UpdateInstance, activity.RegisterOptions{Name: workflows.ActInstance})
}

// OpenTask puts a user task in the inbox.
func (e *Engine) OpenTask(ctx context.Context, t workflows.TaskSpec) error {
	var form any
	if t.Form != nil {
		form = t.Form
	}
	err := e.Store.OpenTask(ctx, store.Task{
		ID: t.TaskID, InstanceID: t.InstanceID, Node: t.Node, Name: t.Name, FlowKey: t.Flow,
		Department: t.Department, Role: t.Role, Assignee: t.Assignee, Due: t.Due, CreatedAt: t.Created, Seq: t.Seq,
	}, t.Candidates, t.CandidateUsers, t.FourEyes, form, t.Variables)
	return err // infrastructure errors as they are: Temporal retries them
}

// CloseTask marks a task completed or cancelled.
func (e *Engine) CloseTask(ctx context.Context, c workflows.TaskClose) error {
	var by, obo string
	if c.Actor != nil {
		by, obo = c.Actor.Username, c.Actor.OnBehalfOf
	}
	return e.Store.CloseTask(ctx, store.TaskClosing{ID: c.TaskID, InstanceID: c.InstanceID, Node: c.Node, Status: c.Status,
		By: by, OnBehalfOf: obo, Data: c.Data, Message: c.Message, At: c.At, Seq: c.Seq})
}

// AssignTask records a claim or an unclaim.
func (e *Engine) AssignTask(ctx context.Context, a workflows.TaskAssign) error {
	who := ""
	if a.Actor != nil {
		who = a.Actor.Username
	}
	return e.Store.AssignTask(ctx, a.TaskID, who, a.At, a.Seq)
}

// UpdateInstance records an instance status change (ignored when a newer
// one, by u.Seq, was recorded).
func (e *Engine) UpdateInstance(ctx context.Context, u workflows.InstanceUpdate) error {
	upd := store.InstanceUpdate{ID: u.InstanceID, Status: u.Status, Current: u.Current, Message: u.Message, At: u.At, Seq: u.Seq}
	err := e.Store.UpdateInstance(ctx, upd)
	if errors.Is(err, store.ErrNotFound) && u.Flow != "" && u.Department != "" {
		// Started by a schedule (timer start event): record it now, then
		// apply the update (CreateInstance records no current nodes).
		err = e.Store.CreateInstance(ctx, store.Instance{ID: u.InstanceID, FlowKey: u.Flow, Version: u.Version,
			Department: u.Department, Status: u.Status, StartedBy: "schedule"}, nil)
		if err == nil || errors.Is(err, store.ErrConflict) {
			err = e.Store.UpdateInstance(ctx, upd)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		// An instance started outside the HTTP API (tests, tctl): nothing to update.
		if e.Log != nil {
			e.Log.Warn("instance update for an unknown instance", "instance", u.InstanceID, "status", u.Status)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	switch u.Status {
	case workflows.StatusCancelled, workflows.StatusTerminated, workflows.StatusFailed:
		// Its publication will never resume: drop what it had loaded.
		dropped, err := e.Store.DropInstanceReleaseLoads(ctx, u.InstanceID)
		for _, l := range dropped {
			if e.Log != nil {
				e.Log.Info("partial release dropped: its instance ended", "instance", u.InstanceID, "status", u.Status,
					"dataset", l.DatasetID, "table", l.Table, "rows_loaded", l.RowsLoaded)
			}
		}
		return err
	}
	return nil
}
