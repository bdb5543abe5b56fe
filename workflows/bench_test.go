package workflows

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// twinRun is what one run of testdata/bench.bpmn did, as the activities saw it.
type twinRun struct {
	schedule   string // activity types in the order the workflow scheduled them
	calls      string // service tasks
	updates    []InstanceUpdate
	overlapped bool // the "running" update was in flight when ingest started
}

func runTwin(t *testing.T, wf string) twinRun {
	t.Helper()
	xml, err := os.ReadFile("testdata/bench.bpmn")
	require.NoError(t, err)
	h := newHarness(t, string(xml), map[string]any{"file": "f1"})
	h.env.RegisterWorkflowWithOptions(Handwritten, workflow.RegisterOptions{Name: HandwrittenName})

	var (
		mu     sync.Mutex
		starts = map[int]string{} // activity id (the schedule sequence) → type
		r      twinRun
	)
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		id, err := strconv.Atoi(info.ActivityID)
		require.NoError(t, err)
		mu.Lock()
		defer mu.Unlock()
		if _, seen := starts[id]; !seen {
			starts[id] = info.ActivityType.Name
		}
	})
	ingestStarted := make(chan struct{})
	h.service("civicflow.ingest", func(ActivityInput) (ActivityResult, error) {
		close(ingestStarted)
		return ActivityResult{}, nil
	})
	h.service("civicflow.validate", func(ActivityInput) (ActivityResult, error) {
		return ActivityResult{Variables: map[string]any{"valid": true}}, nil
	})
	h.service("civicflow.publish", nil)
	// Registrations come first: the test environment refuses them after a mock.
	h.env.OnActivity(ActInstance, mock.Anything, mock.Anything).Return(func(_ context.Context, u InstanceUpdate) error {
		if u.Status == StatusRunning {
			// Both workflows must leave this write in flight while the
			// first service task runs: wait (real time) for ingest.
			select {
			case <-ingestStarted:
				mu.Lock()
				r.overlapped = true
				mu.Unlock()
			case <-time.After(time.Second):
			}
		}
		u.At = time.Time{}
		mu.Lock()
		r.updates = append(r.updates, u)
		mu.Unlock()
		return nil
	})
	h.env.SetTestTimeout(30 * time.Second)
	h.env.ExecuteWorkflow(wf, h.in)
	require.NoError(t, h.env.GetWorkflowError())
	var out Output
	require.NoError(t, h.env.GetWorkflowResult(&out))
	require.Equal(t, StatusCompleted, out.Status)

	ids := make([]int, 0, len(starts))
	for id := range starts {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var names []string
	for _, id := range ids {
		names = append(names, starts[id])
	}
	r.schedule = strings.Join(names, ",")
	r.calls = h.callList()
	return r
}

// TestHandwrittenMatchesInterpreter runs testdata/bench.bpmn through the
// interpreter and the hand-written twin: the same activities scheduled in
// the same order with the same instance updates, the running update in
// flight during the first service task in both (the benchmark compares
// engines, not schedules), and the same result.
func TestHandwrittenMatchesInterpreter(t *testing.T) {
	interp, hand := runTwin(t, InterpreterName), runTwin(t, HandwrittenName)
	want := strings.Join([]string{ActInstance, "civicflow.ingest", "civicflow.validate", "civicflow.publish", ActInstance}, ",")
	require.Equal(t, want, interp.schedule)
	require.Equal(t, interp.schedule, hand.schedule)
	require.Equal(t, "ingest,validate,publish", interp.calls)
	require.Equal(t, interp.calls, hand.calls)
	require.True(t, interp.overlapped, "the interpreter does not wait for its running update")
	require.True(t, hand.overlapped, "the hand-written twin must not wait for its running update either")
	require.Len(t, interp.updates, 2)
	require.Equal(t, interp.updates, hand.updates, "same read-model writes")
}

// runBenchFlow runs testdata/bench.bpmn once through wf in a fresh
// in-memory test environment.
func runBenchFlow(b *testing.B, xml []byte, wf string) {
	h := newHarness(b, string(xml), map[string]any{"file": "f1"})
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
	if got := h.statuses(); got != "running,completed" {
		b.Fatal(fmt.Errorf("%s: instance updates %q", wf, got))
	}
}

// BenchmarkBenchFlowTestEnv runs the interpreter and its hand-written twin
// on testdata/bench.bpmn in the SDK's in-memory test environment, one of
// each per iteration (A B A B …), and reports the median time of each and
// their ratio. It tracks the interpreter's own CPU cost; the comparison on
// a real server is BenchmarkInterpreterVsHandwritten (internal/app).
func BenchmarkBenchFlowTestEnv(b *testing.B) {
	xml, err := os.ReadFile("testdata/bench.bpmn")
	require.NoError(b, err)
	var hand, interp []time.Duration
	for b.Loop() {
		t0 := time.Now()
		runBenchFlow(b, xml, HandwrittenName)
		t1 := time.Now()
		runBenchFlow(b, xml, InterpreterName)
		hand, interp = append(hand, t1.Sub(t0)), append(interp, time.Since(t1))
	}
	mh, mi := medianDuration(hand), medianDuration(interp)
	b.ReportMetric(float64(mh)/1e3, "hand-µs")
	b.ReportMetric(float64(mi)/1e3, "interp-µs")
	b.ReportMetric(float64(mi)/float64(mh), "interp/hand")
}

func medianDuration(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
