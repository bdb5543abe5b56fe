package workflows

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"
)

// TestHandwrittenMatchesInterpreter runs testdata/bench.bpmn through the
// interpreter and the hand-written twin: same activities, same result.
func TestHandwrittenMatchesInterpreter(t *testing.T) {
	xml, err := os.ReadFile("testdata/bench.bpmn")
	require.NoError(t, err)
	var calls [2]string
	for i, wf := range []string{InterpreterName, HandwrittenName} {
		h := newHarness(t, string(xml), map[string]any{"file": "f1"})
		h.env.RegisterWorkflowWithOptions(Handwritten, workflow.RegisterOptions{Name: HandwrittenName})
		h.service("civicflow.ingest", nil)
		h.service("civicflow.validate", func(ActivityInput) (ActivityResult, error) {
			return ActivityResult{Variables: map[string]any{"valid": true}}, nil
		})
		h.service("civicflow.publish", nil)
		h.env.ExecuteWorkflow(wf, h.in)
		require.NoError(t, h.env.GetWorkflowError())
		var out Output
		require.NoError(t, h.env.GetWorkflowResult(&out))
		require.Equal(t, StatusCompleted, out.Status)
		require.Equal(t, "running,completed", h.statuses())
		calls[i] = h.callList()
	}
	require.Equal(t, "ingest,validate,publish", calls[0])
	require.Equal(t, calls[0], calls[1])
}

func benchRun(b *testing.B, wf string) {
	xml, err := os.ReadFile("testdata/bench.bpmn")
	require.NoError(b, err)
	t := &testing.T{}
	for b.Loop() {
		h := newHarness(t, string(xml), map[string]any{"file": "f1"})
		h.env.RegisterWorkflowWithOptions(Handwritten, workflow.RegisterOptions{Name: HandwrittenName})
		h.service("civicflow.ingest", nil)
		h.service("civicflow.validate", func(ActivityInput) (ActivityResult, error) {
			return ActivityResult{Variables: map[string]any{"valid": true}}, nil
		})
		h.service("civicflow.publish", nil)
		h.env.ExecuteWorkflow(wf, h.in)
		if err := h.env.GetWorkflowError(); err != nil {
			b.Fatal(err)
		}
	}
}

// In-memory test environment only: the lead's embedded-server benchmark is
// the real comparison; this one tracks the interpreter's own CPU cost.
func BenchmarkInterpreterBenchFlow(b *testing.B) { benchRun(b, InterpreterName) }
func BenchmarkHandwrittenBenchFlow(b *testing.B) { benchRun(b, HandwrittenName) }
