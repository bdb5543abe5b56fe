package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/temporalserver"
	"github.com/civicflow/civicflow/workflows"
)

// BenchmarkInterpreterVsHandwritten runs the same process — three service
// tasks and an exclusive gateway — as a BPMN flow through the generic
// interpreter and as a hand-written Temporal workflow that does the same
// work (same activities, same schedule: see workflows.Handwritten, checked
// here on the histories and by TestHandwrittenMatchesInterpreter), on the
// embedded server. Activities are in-memory stubs so that the engine is
// what is measured.
//
// Each iteration is one pair of batches, hand-written then interpreter
// (A B A B …: each batch follows one of the other kind), a batch being 10
// concurrent instances. Reported: the median batch time of each, the
// ratio of those medians and the median of the per-pair ratios
// (interpreter / hand-written: 1.00 means no overhead). Run it with a
// fixed count of pairs, e.g. bench/run.sh interpreter.
func BenchmarkInterpreterVsHandwritten(b *testing.B) {
	xml, err := os.ReadFile("../../workflows/testdata/bench.bpmn")
	if err != nil {
		b.Fatal(err)
	}
	g, problems, err := designer.Compile(xml, designer.Options{})
	if err != nil || len(problems) > 0 {
		b.Fatalf("compile bench.bpmn: %v %v", err, problems)
	}
	srv, err := temporalserver.Start(context.Background(), temporalserver.Options{
		DatabasePath: b.TempDir() + "/temporal.db", Namespace: "civicflow", Retention: 24 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.HostPort(), Namespace: "civicflow", Logger: quietSDK()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const queue = workflows.TaskQueue // activity options name this queue
	w := sdkworker.New(c, queue, sdkworker.Options{})
	workflows.Register(w)
	stub := func(vars map[string]any) func(context.Context, workflows.ActivityInput) (workflows.ActivityResult, error) {
		return func(context.Context, workflows.ActivityInput) (workflows.ActivityResult, error) {
			return workflows.ActivityResult{Variables: vars}, nil
		}
	}
	w.RegisterActivityWithOptions(stub(map[string]any{"normalized": "abc"}), activity.RegisterOptions{Name: "civicflow.ingest"})
	w.RegisterActivityWithOptions(stub(map[string]any{"valid": true}), activity.RegisterOptions{Name: "civicflow.validate"})
	w.RegisterActivityWithOptions(stub(map[string]any{"release": 1}), activity.RegisterOptions{Name: "civicflow.publish"})
	w.RegisterActivityWithOptions(func(context.Context, workflows.InstanceUpdate) error { return nil }, activity.RegisterOptions{Name: workflows.ActInstance})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	const perBatch = 10
	batch := func(name string, seq int) time.Duration {
		t0 := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, perBatch)
		for i := 0; i < perBatch; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				id := fmt.Sprintf("%s-%d-%d", name, seq, i)
				r, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: queue}, name,
					workflows.Input{Flow: "bench", Version: 1, Graph: *g, Department: "voirie", InstanceID: id, Variables: map[string]any{}})
				if err == nil {
					var out workflows.Output
					err = r.Get(context.Background(), &out)
					if err == nil && out.Status != workflows.StatusCompleted {
						err = fmt.Errorf("%s ended %s", id, out.Status)
					}
				}
				if err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		d := time.Since(t0)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return d
	}
	hand, interp := workflows.HandwrittenName, workflows.InterpreterName
	batch(hand, -1) // warm up
	batch(interp, -1)
	// Same work: the same activities scheduled in the same order.
	hs, is := scheduled(b, c, hand+"--1-0"), scheduled(b, c, interp+"--1-0")
	if !slices.Equal(hs, is) || len(is) != 5 {
		b.Fatalf("the twins do not schedule the same activities:\nhand-written %v\ninterpreter  %v", hs, is)
	}

	var hd, id []time.Duration
	seq := 0
	for b.Loop() {
		hd = append(hd, batch(hand, seq))
		id = append(id, batch(interp, seq))
		seq++
	}
	ratios := make([]float64, len(id))
	for i := range id {
		ratios[i] = float64(id[i]) / float64(hd[i])
	}
	mh, mi := median(hd), median(id)
	b.ReportMetric(ms(mh), "hand-ms/batch")
	b.ReportMetric(ms(mi), "interp-ms/batch")
	b.ReportMetric(float64(mi)/float64(mh), "interp/hand")
	b.ReportMetric(medianF(ratios), "pair-ratio-median")
	b.ReportMetric(perBatch/mi.Seconds(), "interp-instances/s")
	b.Logf("%d pairs; hand-written ms: %s", len(hd), msList(hd))
	b.Logf("interpreter ms: %s", msList(id))
}

// scheduled lists the activity types a workflow scheduled, in order.
func scheduled(b *testing.B, c client.Client, id string) []string {
	var out []string
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			out = append(out, a.GetActivityType().GetName())
		}
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianF(fs []float64) float64 {
	s := slices.Clone(fs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func msList(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%.0f", ms(d)))
	}
	return strings.Join(s, " ")
}
