package activities

import (
	"context"
	"maps"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/workflows"
)

// Sandbox answers the activities of a draft tried in the designer
// ("Essayer"): registered on the sandbox task queue under the same names as
// the real ones, it never touches the store, the network or mail. Each
// service activity returns its catalogue sample (designer.Activities),
// except the variables the run already has (the designer's start variables
// win, so that another branch can be tried), or the designer's answer
// when the run carries one (workflows.SandboxAnswer: other variables, or a
// failure that stops the token on an incident); the bookkeeping activities
// (inbox, instance list) do nothing, so that a sandbox run never appears in
// inboxes, request lists or the audit.
type Sandbox struct{}

// Register adds every stub under its workflow-facing name.
func (Sandbox) Register(r worker.ActivityRegistry) {
	for _, name := range designer.KnownActivities {
		r.RegisterActivityWithOptions(SandboxService(name), activity.RegisterOptions{Name: name})
	}
	r.RegisterActivityWithOptions(func(context.Context, workflows.TaskSpec) error { return nil },
		activity.RegisterOptions{Name: workflows.ActTaskOpen})
	r.RegisterActivityWithOptions(func(context.Context, workflows.TaskClose) error { return nil },
		activity.RegisterOptions{Name: workflows.ActTaskClose})
	r.RegisterActivityWithOptions(func(context.Context, workflows.TaskAssign) error { return nil },
		activity.RegisterOptions{Name: workflows.ActTaskAssign})
	r.RegisterActivityWithOptions(func(context.Context, workflows.InstanceUpdate) error { return nil },
		activity.RegisterOptions{Name: workflows.ActInstance})
}

// SandboxService is the stub of the service activity name.
func SandboxService(name string) func(context.Context, workflows.ActivityInput) (workflows.ActivityResult, error) {
	info, _ := designer.ActivityInfoOf(name)
	label := info.Label
	if label == "" {
		label = name
	}
	return func(_ context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
		if a := in.Sandbox; a != nil {
			// The designer's answer (workflows.SandboxAnswer) replaces the sample.
			if a.Fail != "" {
				return workflows.ActivityResult{}, temporal.NewNonRetryableApplicationError(
					"échec simulé par le concepteur : "+a.Fail, "", nil)
			}
			return workflows.ActivityResult{Variables: maps.Clone(a.Variables),
				Message: "essai : « " + label + " » simulé (réponse du concepteur)"}, nil
		}
		vars := map[string]any{}
		for k, v := range maps.Clone(info.Sample) {
			if _, set := in.Variables[k]; !set {
				vars[k] = v
			}
		}
		return workflows.ActivityResult{Variables: vars, Message: "essai : « " + label + " » simulé (réponse d'exemple)"}, nil
	}
}
