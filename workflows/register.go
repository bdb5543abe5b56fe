package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Register registers the interpreter (and the benchmark twin) on a worker.
func Register(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: InterpreterName})
	w.RegisterWorkflowWithOptions(Handwritten, workflow.RegisterOptions{Name: HandwrittenName})
}
