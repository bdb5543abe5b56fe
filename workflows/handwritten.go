package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// Handwritten is the benchmark twin of testdata/bench.bpmn written by hand:
// ingest → validate → (valid? publish) → end. It does the interpreter's work
// on that flow and nothing less, so that the benchmark measures the
// interpreter's overhead and not a different schedule:
//
//   - the "running" instance update is scheduled together with the first
//     service task and runs in parallel with it (the interpreter does not
//     wait for its read-model writes before moving on), and it is waited
//     for before the "completed" update, which the run then awaits;
//   - the same activities with the same options and payloads (the running
//     update names the start event as current, like the interpreter's).
//
// TestHandwrittenMatchesInterpreter checks that both schedule the same
// activities in the same order, with the running update in flight during
// ingest.
func Handwritten(ctx workflow.Context, in Input) (Output, error) {
	ctx = workflow.WithActivityOptions(ctx, BookkeepingOptions)
	vars := copyVars(in.Variables)
	var seq int64 // read-model writes carry a sequence number, as the interpreter's do
	upd := func(status string, current []string) workflow.Future {
		seq++
		return workflow.ExecuteActivity(ctx, ActInstance, InstanceUpdate{InstanceID: in.InstanceID, Flow: in.Flow,
			Version: in.Version, Department: in.Department, Status: status, Current: current, At: workflow.Now(ctx), Seq: seq})
	}
	running := upd(StatusRunning, []string{in.Graph.Start})
	call := func(node, name string) error {
		actx := workflow.WithActivityOptions(ctx, ServiceOptions(0))
		var res ActivityResult
		err := workflow.ExecuteActivity(actx, name, ActivityInput{InstanceID: in.InstanceID, Flow: in.Flow,
			Version: in.Version, Department: in.Department, NodeID: node, Variables: copyVars(vars)}).Get(ctx, &res)
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
	// The interpreter's finish: every pending activity, then the final update.
	_ = running.Get(ctx, nil)
	_ = upd(StatusCompleted, []string{}).Get(ctx, nil)
	return Output{Status: StatusCompleted, Variables: vars}, nil
}
