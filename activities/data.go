package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
	"github.com/civicflow/civicflow/workflows"
)

// Names of the data activities, as service tasks name them in BPMN
// (civicflow:activity="civicflow.ingest").
const (
	ActIngest      = "civicflow.ingest"
	ActValidate    = "civicflow.validate"
	ActHarmonise   = "civicflow.harmonise"
	ActDeduplicate = "civicflow.deduplicate"
	ActAnonymise   = "civicflow.anonymise"
	ActRelease     = "civicflow.release"
	ActPublish     = "civicflow.publish"
	ActExpose      = "civicflow.expose"
	ActNotify      = "civicflow.notify"
	ActNoop        = "civicflow.noop"
	ActHTTP        = "civicflow.http"
)

// ErrInvalidInput is the ApplicationError type of business errors (bad
// file, unknown dataset…): not retried, the flow shows an incident.
const ErrInvalidInput = "InvalidInput"

// Data runs the data lifecycle activities: ingest, validate, harmonise,
// deduplicate, anonymise, release/publish, expose, notify.
type Data struct {
	Store *store.Store
	// Blobs is the content-addressed file store (DATA/blobs).
	Blobs ingest.Blobs
	// DataDir is the installation's data directory.
	DataDir string
	Logger  *slog.Logger
	// Fetch tunes URL sources (tests set AllowPrivate).
	Fetch ingest.FetchOptions
	// HTTPClient is used by civicflow.http (default: 30 s timeout).
	HTTPClient *http.Client
	// AnonymiseKey is the HMAC key of pseudonymisation; when empty a random
	// key is created once and kept in the settings table.
	AnonymiseKey []byte
	// MaxErrors bounds the issues kept in a stored report (default 1,000).
	MaxErrors int
}

// Register registers the data activities by name.
func (d *Data) Register(r worker.ActivityRegistry) {
	for name, fn := range map[string]func(context.Context, workflows.ActivityInput) (workflows.ActivityResult, error){
		ActIngest:      d.Ingest,
		ActValidate:    d.Validate,
		ActHarmonise:   d.Harmonise,
		ActDeduplicate: d.Deduplicate,
		ActAnonymise:   d.Anonymise,
		ActRelease:     d.Release,
		ActPublish:     d.Publish,
		ActExpose:      d.Expose,
		ActNotify:      d.Notify,
		ActNoop:        d.Noop,
		ActHTTP:        d.HTTP,
	} {
		r.RegisterActivityWithOptions(withHeartbeat(fn), activity.RegisterOptions{Name: name})
	}
}

func (d *Data) log() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

// badInput is a business error: non-retryable, shown as an incident.
func badInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrInvalidInput, nil)
}

// heartbeatEvery is how often a data activity heartbeats (the SDK sends
// them to the server at most every 0.8 × the heartbeat timeout, or the
// worker's MaxHeartbeatThrottleInterval).
const heartbeatEvery = time.Second

// tracker holds the progress of a running activity, sent with each
// heartbeat.
type tracker struct {
	mu       sync.Mutex
	p        workflows.Progress
	reported chan struct{} // closed at the first report
}

// changed notes a report (t.mu held).
func (t *tracker) changed() {
	select {
	case <-t.reported:
	default:
		close(t.reported)
	}
}

type trackerKey struct{}

func (t *tracker) get() workflows.Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.p
}

// withHeartbeat runs fn with a goroutine that heartbeats every second, with
// the progress fn reports (see progress): a data activity heartbeats in
// every step, blocking ones included (a download, an index build), so the
// heartbeat timeout of service tasks only ever fires for a worker that is
// gone.
func withHeartbeat(fn func(context.Context, workflows.ActivityInput) (workflows.ActivityResult, error)) func(context.Context, workflows.ActivityInput) (workflows.ActivityResult, error) {
	return func(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
		if !activity.IsActivity(ctx) {
			return fn(ctx, in)
		}
		t := &tracker{p: workflows.Progress{Node: in.NodeID}, reported: make(chan struct{})}
		ctx = context.WithValue(ctx, trackerKey{}, t)
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			// The first heartbeat goes as soon as the activity says what it
			// does (the SDK sends the first one at once, the next ones
			// batched), at the latest after a second.
			select {
			case <-t.reported:
			case <-time.After(heartbeatEvery):
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
			tick := time.NewTicker(heartbeatEvery)
			defer tick.Stop()
			for {
				activity.RecordHeartbeat(ctx, t.get())
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
		defer func() { close(stop); <-stopped }()
		return fn(ctx, in)
	}
}

// progress records how far the activity went: step, done of total (0: not
// known), in rows.
func progress(ctx context.Context, step string, done, total int64) {
	if t, ok := ctx.Value(trackerKey{}).(*tracker); ok {
		t.mu.Lock()
		t.p.Step, t.p.Done, t.p.Total = step, done, total
		t.changed()
		t.mu.Unlock()
	}
}

// heartbeat records progress given as rows done (a number) and a step (a
// string).
func heartbeat(ctx context.Context, details ...any) {
	t, ok := ctx.Value(trackerKey{}).(*tracker)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.changed()
	for _, d := range details {
		switch v := d.(type) {
		case string:
			t.p.Step = v
		case int:
			t.p.Done = int64(v)
		case int64:
			t.p.Done = v
		}
	}
}

// resumed records what an earlier attempt had done.
func resumed(ctx context.Context, n int64) {
	if t, ok := ctx.Value(trackerKey{}).(*tracker); ok {
		t.mu.Lock()
		t.p.Resumed = n
		t.mu.Unlock()
	}
}

// lastProgress is the progress an earlier attempt of this activity reported
// in its last heartbeat (zero on a first attempt).
func lastProgress(ctx context.Context) workflows.Progress {
	var p workflows.Progress
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &p)
	}
	return p
}

// stringVar reads a variable as text ("" when absent); numbers are
// formatted without exponent.
func stringVar(in workflows.ActivityInput, name string) string {
	switch v := in.Variables[name].(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// intVar reads an integer variable (0 when absent or not a number).
func intVar(in workflows.ActivityInput, name string) int {
	n, _ := strconv.Atoi(stringVar(in, name))
	return n
}

// mapVar reads an object variable (nil when absent).
func mapVar(in workflows.ActivityInput, name string) map[string]any {
	m, _ := in.Variables[name].(map[string]any)
	return m
}

// runKey is the idempotency key of an activity run: instance, node and
// the attempt-independent inputs.
func runKey(in workflows.ActivityInput, parts ...string) string {
	return strings.Join(append([]string{in.InstanceID, in.NodeID}, parts...), "/")
}

// cached returns the result recorded under key, if any.
func (d *Data) cached(ctx context.Context, key string) (workflows.ActivityResult, bool, error) {
	run, err := d.Store.DataRun(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return workflows.ActivityResult{}, false, nil
	}
	if err != nil {
		return workflows.ActivityResult{}, false, err
	}
	var res workflows.ActivityResult
	if err := json.Unmarshal(run.Result, &res); err != nil {
		return res, false, fmt.Errorf("recorded run %q: %w", key, err)
	}
	return res, true, nil
}

// remember records a run's result and returns the recorded one (a
// concurrent twin may have won).
func (d *Data) remember(ctx context.Context, run store.DataRun, res workflows.ActivityResult) (workflows.ActivityResult, error) {
	b, err := json.Marshal(res)
	if err != nil {
		return res, fmt.Errorf("encode result: %w", err)
	}
	run.Result = store.JSONText(b)
	saved, err := d.Store.RecordDataRun(ctx, run)
	if err != nil {
		return res, err
	}
	var out workflows.ActivityResult
	if err := json.Unmarshal(saved.Result, &out); err != nil {
		return res, fmt.Errorf("recorded run %q: %w", run.Key, err)
	}
	return out, nil
}

// dataset loads the "dataset" variable's dataset.
func (d *Data) dataset(ctx context.Context, in workflows.ActivityInput) (store.Dataset, error) {
	id := stringVar(in, "dataset")
	if id == "" {
		id = in.Params["dataset"]
	}
	if id == "" {
		return store.Dataset{}, badInput("the variable \"dataset\" (a dataset id) is missing")
	}
	ds, err := d.Store.Dataset(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ds, badInput("unknown dataset %q", id)
	}
	return ds, err
}

// schemaOf returns the dataset's schema, or nil when it has none.
func (d *Data) schemaOf(ctx context.Context, ds store.Dataset) (*tableschema.Schema, string, error) {
	if ds.SchemaName == "" {
		return nil, "", nil
	}
	sch, v, err := d.Store.LoadSchema(ctx, ds.SchemaName, ds.SchemaVersion)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", badInput("dataset %q: its schema %q is unknown", ds.ID, ds.SchemaName)
	}
	return sch, v, err
}

// stagedFile loads the "file" variable's staged file of ds.
func (d *Data) stagedFile(ctx context.Context, in workflows.ActivityInput, ds store.Dataset) (store.DataFile, error) {
	id := stringVar(in, "file")
	if id == "" {
		return store.DataFile{}, badInput("the variable \"file\" (a staged file id) is missing")
	}
	f, err := d.Store.DataFile(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return f, badInput("unknown file %q", id)
	}
	if err != nil {
		return f, err
	}
	if f.DatasetID != ds.ID {
		return f, badInput("file %q belongs to dataset %q, not %q", id, f.DatasetID, ds.ID)
	}
	return f, nil
}

// Noop does nothing (a placeholder service task).
func (d *Data) Noop(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	return workflows.ActivityResult{Message: "nothing to do"}, nil
}

// businessMessage returns the message of a non-retryable InvalidInput
// error.
func businessMessage(err error) (string, bool) {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == ErrInvalidInput {
		return ae.Message(), true
	}
	var pe *tableschema.ParseError
	if errors.As(err, &pe) {
		return pe.Message, true
	}
	return "", false
}
