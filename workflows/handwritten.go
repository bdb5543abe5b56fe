package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// Handwritten is the benchmark twin of testdata/bench.bpmn written by hand:
// ingest → validate → (valid? publish) → end, with the same activity options
// and instance updates as the interpreter, so the lead can measure the
// interpreter's overhead on the embedded server.
func Handwritten(ctx workflow.Context, in Input) (Output, error) {
	ctx = workflow.WithActivityOptions(ctx, BookkeepingOptions)
	vars := copyVars(in.Variables)
	upd := func(status string) error {
		return workflow.ExecuteActivity(ctx, ActInstance, InstanceUpdate{InstanceID: in.InstanceID, Flow: in.Flow,
			Version: in.Version, Department: in.Department, Status: status, Current: []string{}, At: workflow.Now(ctx)}).Get(ctx, nil)
	}
	if err := upd(StatusRunning); err != nil {
		return Output{}, err
	}
	call := func(node, name string) error {
		actx := workflow.WithActivityOptions(ctx, ServiceOptions(0))
		var res ActivityResult
		err := workflow.ExecuteActivity(actx, name, ActivityInput{InstanceID: in.InstanceID, Flow: in.Flow,
			Version: in.Version, Department: in.Department, NodeID: node, Variables: vars}).Get(ctx, &res)
		for _, k := range workflow.DeterministicKeys(res.Variables) {
			vars[k] = res.Variables[k]
		}
		return err
	}
	if err := call("ingest", "civicflow.ingest"); err != nil {
		return Output{}, err
	}
	if err := call("validate", "civicflow.validate"); err != nil {
		return Output{}, err
	}
	if v, _ := vars["valid"].(bool); v {
		if err := call("publish", "civicflow.publish"); err != nil {
			return Output{}, err
		}
	}
	if err := upd(StatusCompleted); err != nil {
		return Output{}, err
	}
	return Output{Status: StatusCompleted, Variables: vars}, nil
}
