package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/datagouv"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/mail"
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
	// Mail sends the e-mails of civicflow.notify; nil means e-mail is off
	// (notifications are only recorded).
	Mail *mail.Outbox
	// BaseURL starts the links in e-mails (--public-url).
	BaseURL string
	// Audit records the objects refused because they are not the
	// instance's, and the dataset changes made by flows (nil: not audited).
	Audit audit.Recorder
	// Datagouv is the data.gouv.fr platform of civicflow.datagouv and
	// civicflow.withdraw (nil or without API key: publication is off);
	// DatagouvOrg the organization the datasets belong to.
	Datagouv    *datagouv.Client
	DatagouvOrg string
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
		ActCollect:     d.Collect,
		ActDatagouv:    d.PublishDatagouv,
		ActWithdraw:    d.Withdraw,
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

// dataset loads the "dataset" variable's dataset (else the param
// dataset) and checks that the instance may work on it: the dataset
// belongs to the instance's department, and the staged "file", when set,
// to the dataset. Every data activity starts here; an object of another
// department or dataset is refused (an audited business error: an
// incident, not retried).
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
	if err != nil {
		return ds, err
	}
	if ds.Department != in.Department {
		return ds, d.refuse(ctx, in, "dataset", ds.ID,
			fmt.Sprintf("dataset %q belongs to department %s, not to the instance's department %q", ds.ID, ds.Department, in.Department))
	}
	if fid := stringVar(in, "file"); fid != "" {
		f, err := d.Store.DataFile(ctx, fid)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Unknown: activities that read the file say so (stagedFile).
		case err != nil:
			return ds, err
		case f.DatasetID != ds.ID:
			return ds, d.refuse(ctx, in, "file", fid, fmt.Sprintf("file %q belongs to dataset %q, not %q", fid, f.DatasetID, ds.ID))
		}
	}
	return ds, nil
}

// refuse records that an activity refused an object that is not the
// instance's (audit action data.refused) and returns the business error.
// When the audit cannot be written the error is retryable: the refusal is
// not lost.
func (d *Data) refuse(ctx context.Context, in workflows.ActivityInput, objType, objID, reason string) error {
	d.log().Warn("data activity refused an object of another department or dataset", "instance", in.InstanceID, "node", in.NodeID, "reason", reason)
	if d.Audit != nil {
		act := ""
		if activity.IsActivity(ctx) {
			act = activity.GetInfo(ctx).ActivityType.Name
		}
		err := d.Audit.Record(ctx, audit.Entry{Actor: auditActor, Action: "data.refused", ObjectType: objType, ObjectID: objID,
			Department: in.Department, Outcome: audit.Denied, Detail: audit.Detail(map[string]any{
				"instance": in.InstanceID, "flow": in.Flow, "node": in.NodeID, "activity": act, "reason": reason,
				"initiator": stringVar(in, "initiator")})})
		if err != nil {
			return fmt.Errorf("audit the refusal (%s): %w", reason, err)
		}
	}
	return badInput("%s", reason)
}

// auditActor is the actor of the audit entries that activities write.
const auditActor = "workflow"

// auditDataset records a change that an activity made to a dataset, with
// the values before and after.
func (d *Data) auditDataset(ctx context.Context, in workflows.ActivityInput, ds store.Dataset, action string, before, after map[string]any) error {
	if d.Audit == nil {
		return nil
	}
	return d.Audit.Record(ctx, audit.Entry{Actor: auditActor, Action: action, ObjectType: "dataset", ObjectID: ds.ID,
		Department: ds.Department, Detail: audit.Detail(map[string]any{"instance": in.InstanceID, "flow": in.Flow,
			"node": in.NodeID, "before": before, "after": after})})
}

// reportOf returns the quality report a release records: the one of the
// "report" variable (report.reportId) when it is a report of ds, else the
// dataset's latest, else none. Another dataset's report is refused.
func (d *Data) reportOf(ctx context.Context, in workflows.ActivityInput, ds store.Dataset) (*int64, error) {
	if rep := mapVar(in, "report"); rep != nil {
		if id, ok := rep["reportId"].(float64); ok && id > 0 {
			n := int64(id)
			qr, err := d.Store.QualityReport(ctx, n)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return nil, badInput("unknown quality report %d (variable report)", n)
			case err != nil:
				return nil, err
			case qr.DatasetID == nil || *qr.DatasetID != ds.ID:
				return nil, d.refuse(ctx, in, "report", strconv.FormatInt(n, 10), fmt.Sprintf("quality report %d is not a report of dataset %q", n, ds.ID))
			}
			return &n, nil
		}
	}
	qr, err := d.Store.LatestQualityReport(ctx, ds.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &qr.ID, nil
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
