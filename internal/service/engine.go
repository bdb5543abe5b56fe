package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/workflows"
)

// kindOfAppErr maps the application error types raised by the workflow's
// update validators to kinds, with the French sentence the pages show.
var kindOfAppErr = map[string]struct {
	kind Kind
	fr   string
}{
	workflows.ErrTaskNotFound:     {NotFound, "Cette tâche n'existe pas ou n'est plus ouverte."},
	workflows.ErrTaskClosed:       {Conflict, "Cette tâche est déjà close."},
	workflows.ErrClaimed:          {Conflict, "Cette tâche est déjà prise en charge par une autre personne."},
	workflows.ErrForbidden:        {Forbidden, "Cette tâche ne vous est pas proposée."},
	workflows.ErrFourEyes:         {Forbidden, "Règle des quatre yeux : la personne qui a lancé la demande ou traité l'étape précédente ne peut pas traiter celle-ci."},
	workflows.ErrInvalidData:      {Invalid, "Le formulaire contient des erreurs : corrigez les champs signalés."},
	workflows.ErrIncidentNotFound: {Conflict, "Cette demande n'a pas d'incident à résoudre."},
	"BadRequest":                  {BadRequest, "La demande ne peut pas être lue."},
}

// errTaskOpening is the answer when a task is still being opened.
func errTaskOpening(err error) *Error {
	return &Error{Kind: Unavailable, Msg: "the task is still being opened; try again in a moment",
		Fr: "La tâche est en cours d'ouverture ; réessayez dans un instant.", Err: err}
}

// update sends a workflow update and waits for its result, so that the
// caller gets the validator's verdict synchronously. A task that the
// workflow is still opening (its inbox row written, the workflow not yet
// told) is retried for a few seconds: that happens right after a restart.
func (s *Service) update(ctx context.Context, workflowID, name string, arg any) (any, error) {
	if s.temporal == nil {
		return nil, &Error{Kind: Unavailable, Msg: "the workflow engine is not configured",
			Fr: "Le moteur de processus n'est pas disponible ; rien n'a été modifié."}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	giveUp := time.Now().Add(25 * time.Second)
	for {
		out, err := s.updateOnce(ctx, workflowID, name, arg)
		var appErr *temporal.ApplicationError
		if err != nil && errors.As(err, &appErr) && appErr.Type() == workflows.ErrTaskNotFound && strings.Contains(appErr.Message(), "being opened") {
			if time.Now().After(giveUp) {
				return nil, errTaskOpening(err)
			}
			select {
			case <-ctx.Done():
				return nil, errTaskOpening(err)
			case <-time.After(250 * time.Millisecond):
				continue
			}
		}
		return out, mapAppErr(err)
	}
}

func (s *Service) updateOnce(ctx context.Context, workflowID, name string, arg any) (any, error) {
	h, err := s.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, mapUpdateErr(err)
	}
	var out any
	if err := h.Get(ctx, &out); err != nil {
		return nil, mapUpdateErr(err)
	}
	return out, nil
}

// mapUpdateErr turns Temporal's answers to an update into domain errors.
func mapUpdateErr(err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &Error{Kind: Conflict, Msg: "the instance has ended; its tasks are closed",
			Fr: "La demande est terminée ; ses tâches sont closes.", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "context deadline exceeded") {
		return &Error{Kind: Unavailable, Msg: "the workflow engine did not answer in time; nothing was changed, try again in a moment",
			Fr: "Le moteur de processus n'a pas répondu à temps ; rien n'a été modifié, réessayez dans un instant.", Err: err}
	}
	return err
}

// mapAppErr turns a validator's refusal (an application error of a known
// type) into a domain error with the validator's message; other errors go
// through. For invalid data, the messages become the problems.
func mapAppErr(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return err
	}
	m, ok := kindOfAppErr[appErr.Type()]
	if !ok {
		return err
	}
	e := &Error{Kind: m.kind, Msg: appErr.Message(), Fr: m.fr, Err: err}
	if appErr.Type() == workflows.ErrInvalidData && appErr.HasDetails() {
		var msgs []string
		if appErr.Details(&msgs) == nil {
			for _, msg := range msgs {
				e.Problems = append(e.Problems, frenchCheck(msg))
			}
		}
	}
	return e
}

// QueryState asks the interpreter for an instance's live state.
func QueryState(ctx context.Context, tc client.Client, id string) (workflows.State, error) {
	var st workflows.State
	v, err := tc.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return st, err
	}
	err = v.Get(&st)
	return st, err
}
