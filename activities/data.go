package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

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
	// Guard keeps civicflow.http and URL sources away from internal
	// addresses, but for its allow-list (--http-allow); nil refuses them all.
	Guard *ingest.Guard
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
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
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

// heartbeat records progress when running as an activity.
func heartbeat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
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
	if errors.Is(err, store.ErrTooManyColumns) {
		return nil, "", badInput("dataset %q: %v", ds.ID, err)
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
	var ce *store.ColumnLimitError
	if errors.As(err, &ce) {
		return ce.Error(), true
	}
	return "", false
}
