package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/temporalserver"
	"github.com/civicflow/civicflow/workflows"
)

// BenchmarkInterpreterVsHandwritten runs the same process — three service
// tasks and an exclusive gateway — as a BPMN flow through the generic
// interpreter and as a hand-written Temporal workflow, on the embedded
// server, in the same run. Activities are in-memory stubs so that the
// engine is what is measured. Each op is a batch of 10 concurrent instances.
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

	batch := func(b *testing.B, name string, seq int) {
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for i := 0; i < 10; i++ {
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
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	for _, name := range []string{workflows.HandwrittenName, workflows.InterpreterName} {
		batch(b, name, -1) // warm up
	}
	for _, name := range []string{workflows.HandwrittenName, workflows.InterpreterName} {
		b.Run(name, func(b *testing.B) {
			seq := 0
			for b.Loop() {
				batch(b, name, seq)
				seq++
			}
			b.ReportMetric(float64(10*b.N)/b.Elapsed().Seconds(), "instances/s")
		})
	}
}
