package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/anonymise"
	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/mail"
	"github.com/civicflow/civicflow/internal/mdm"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// maxDedupRows bounds the rows deduplicated in memory.
const maxDedupRows = 2_000_000

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Deduplicate groups duplicate rows of the current file (params: key =
// key columns, match = columns compared as text, threshold = similarity
// for near-duplicates; by default the schema's primary key, else whole
// rows) and keeps one golden record per group (first non-empty value of
// each column). Output: normalized and deduplicate (counts).
func (d *Data) Deduplicate(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	src, name, _, err := d.sourceBlob(ctx, in, ds)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	key := runKey(in, src, in.Params["key"], in.Params["match"], in.Params["threshold"])
	if res, ok, err := d.cached(ctx, key); err != nil || ok {
		return res, err
	}
	rs, err := d.openBlob(src, name)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	defer rs.close()
	header := rs.rows.Header()
	opts := mdm.Options{Header: header, Key: splitList(in.Params["key"]), Match: splitList(in.Params["match"])}
	if t := in.Params["threshold"]; t != "" {
		if opts.Threshold, err = strconv.ParseFloat(t, 64); err != nil {
			return workflows.ActivityResult{}, badInput("param threshold %q is not a number", t)
		}
	}
	if len(opts.Key) == 0 && len(opts.Match) == 0 {
		if sch, _, err := d.schemaOf(ctx, ds); err == nil && sch != nil && allIn(sch.PrimaryKey, header) {
			opts.Key = sch.PrimaryKey
		}
	}
	ded, err := mdm.NewDeduper(opts)
	if err != nil {
		return workflows.ActivityResult{}, badInput("%v", err)
	}
	var records []mdm.Record
	for {
		rec, line, err := rs.rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if msg, ok := businessMessage(err); ok {
				return workflows.ActivityResult{}, badInput("%s", msg)
			}
			return workflows.ActivityResult{}, err
		}
		if len(records) >= maxDedupRows {
			return workflows.ActivityResult{}, badInput("more than %d rows: too many to deduplicate in one run", maxDedupRows)
		}
		if err := ded.Add(rec); err != nil {
			return workflows.ActivityResult{}, badInput("%v", err)
		}
		records = append(records, mdm.Record{Source: name, Line: line, Values: rec})
		if len(records)%10000 == 0 {
			heartbeat(ctx, len(records))
		}
	}
	result := ded.Result()
	golden, err := mdm.Consolidate(records, result.Clusters, mdm.Rules{Header: header})
	if err != nil {
		return workflows.ActivityResult{}, badInput("%v", err)
	}
	i := 0
	sha, n, err := d.writeBlob(ctx, header, func() ([]string, error) {
		if i == len(golden) {
			return nil, io.EOF
		}
		g := golden[i]
		i++
		out := make([]string, len(header))
		for j, h := range header {
			out[j] = g.Values[h]
		}
		return out, nil
	})
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	sum := map[string]any{"records": result.Records, "kept": n, "duplicates": result.Duplicates, "exact": result.ExactDuplicates,
		"near": result.NearDuplicates, "fullRow": result.FullRowDuplicates, "key": opts.Key, "match": opts.Match}
	res := workflows.ActivityResult{Variables: map[string]any{"normalized": sha, "deduplicate": sum},
		Message: fmt.Sprintf("%d rows, %d duplicates merged, %d kept", result.Records, result.Duplicates, n)}
	return d.remember(ctx, store.DataRun{Key: key, Activity: ActDeduplicate, InstanceID: in.InstanceID, NodeID: in.NodeID,
		DatasetID: ds.ID, InputSHA: src, OutputSHA: sha}, res)
}

// Anonymise applies RGPD protections to the current file: the dataset's
// personal fields, plus the param fields (a JSON array of
// {"field","method",…}) that the policy does not name — a flow adds
// protections, it never lifts one. Fields already treated in the file's
// lineage are not treated again. Output: normalized and anonymisation
// (what was done per field); civicflow.release finds this run in the
// lineage of the file and does not anonymise those fields again.
func (d *Data) Anonymise(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	src, name, _, err := d.sourceBlob(ctx, in, ds)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	var extra []anonymise.Field
	if raw := in.Params["fields"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &extra); err != nil {
			return workflows.ActivityResult{}, badInput("anonymisation fields: %v", err)
		}
	}
	rs, err := d.openBlob(src, name)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	defer rs.close()
	fields, _, err := d.protections(ctx, ds, src, rs.rows.Header(), extra)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	plan, _ := json.Marshal(fields)
	key := runKey(in, src, string(plan))
	if res, ok, err := d.cached(ctx, key); err != nil || ok {
		return res, err
	}
	a, err := d.anonymiser(ctx, rs.rows.Header(), fields)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	rows := anonymise.Wrap(rs.rows, a)
	sha, n, err := d.writeBlob(ctx, rows.Header(), nextOf(rows))
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	reports := a.Reports()
	list := make([]any, len(reports))
	for i, r := range reports {
		list[i] = toMap(r)
	}
	res := workflows.ActivityResult{Variables: map[string]any{"normalized": sha, "anonymisation": list},
		Message: fmt.Sprintf("%d rows, %d fields anonymised", n, len(reports))}
	return d.remember(ctx, store.DataRun{Key: key, Activity: ActAnonymise, InstanceID: in.InstanceID, NodeID: in.NodeID,
		DatasetID: ds.ID, InputSHA: src, OutputSHA: sha}, res)
}

// Notify records a notification (params to and template) and, when e-mail
// is on, sends it: the template (internal/mail/templates) is rendered in
// French for the task the reminder is about, to the users concerned (the
// task's candidates, or the members of the role "to" names, or a user, or
// an address), through the outbox, once. Idempotent per scheduled
// activity (workflow, run, node, occurrence): a retry does not notify
// twice, a new firing of the same boundary timer does.
func (d *Data) Notify(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	to, tmpl := in.Params["to"], in.Params["template"]
	if to == "" || tmpl == "" {
		return workflows.ActivityResult{}, badInput("civicflow.notify needs the params to and template")
	}
	if !mail.HasTemplate(tmpl) {
		return workflows.ActivityResult{}, badInput("civicflow.notify: unknown template %q (known: %s)", tmpl, strings.Join(mail.Templates(), ", "))
	}
	key := notifyKey(ctx, in)
	payload, _ := store.ToJSONText(map[string]any{"flow": in.Flow, "department": in.Department,
		"dataset": stringVar(in, "dataset"), "variables": smallVars(in.Variables)})
	n := &store.Notification{Key: &key, Recipient: to, Template: tmpl, InstanceID: in.InstanceID, NodeID: in.NodeID, Payload: payload}
	created, err := d.Store.RecordNotification(ctx, n)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	if created {
		d.log().Info("notification recorded", "to", to, "template", tmpl, "instance", in.InstanceID, "node", in.NodeID, "id", n.ID)
	}
	vars := map[string]any{"notification": n.ID}
	if d.Mail == nil {
		return workflows.ActivityResult{Variables: vars,
			Message: fmt.Sprintf("notification %s recorded for %s (e-mail off: --smtp-host is not set)", tmpl, to)}, nil
	}
	m, err := d.Store.Mail(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		m, err = d.enqueueMail(ctx, in, n, key)
	}
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	if m.Status != store.MailSkipped {
		m, err = d.Mail.Deliver(ctx, key)
		if err != nil {
			var se *mail.SendError
			if errors.As(err, &se) && se.Permanent {
				return workflows.ActivityResult{}, badInput("e-mail %s not sent: %v", tmpl, err)
			}
			return workflows.ActivityResult{}, fmt.Errorf("e-mail %s not sent: %w", tmpl, err)
		}
	}
	vars["mail"] = m.Status
	switch m.Status {
	case store.MailSent, store.MailUnconfirmed:
		if m.SentAt != nil {
			if err := d.Store.MarkNotificationSent(ctx, n.ID, *m.SentAt); err != nil {
				return workflows.ActivityResult{}, err
			}
		}
		note := ""
		if m.Status == store.MailUnconfirmed {
			note = " (unconfirmed: a worker stopped before recording the server's reply; not sent again)"
		}
		return workflows.ActivityResult{Variables: vars, Message: fmt.Sprintf("e-mail %s sent to %s%s", tmpl,
			strings.Join(m.Recipients(), ", "), note)}, nil
	default:
		return workflows.ActivityResult{Variables: vars, Message: fmt.Sprintf("e-mail %s not sent: %s", tmpl, m.LastError)}, nil
	}
}

// smallVars keeps the scalar variables (no reports or summaries).
func smallVars(vars map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range vars {
		switch v.(type) {
		case string, float64, bool, int, int64:
			out[k] = v
		}
	}
	return out
}

// HTTP POSTs the instance variables as JSON to param url (http or https
// only; param timeout, default 10s). A 2xx answer's JSON object becomes
// the variable response; 4xx is an incident, 5xx and network errors retry.
// The request goes through the SSRF guard (d.Guard): an internal address
// (loopback, private, link-local, cloud metadata), reached directly, by a
// name or by a redirect, is an incident unless --http-allow lists it.
func (d *Data) HTTP(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	u, err := url.Parse(in.Params["url"])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return workflows.ActivityResult{}, badInput("param url must be an absolute http(s) URL, not %q", in.Params["url"])
	}
	timeout := 10 * time.Second
	if t := in.Params["timeout"]; t != "" {
		if timeout, err = time.ParseDuration(t); err != nil || timeout <= 0 || timeout > 5*time.Minute {
			return workflows.ActivityResult{}, badInput("param timeout %q: a duration up to 5m (e.g. 30s)", t)
		}
	}
	body, err := json.Marshal(map[string]any{"instance": in.InstanceID, "flow": in.Flow, "node": in.NodeID, "variables": in.Variables})
	if err != nil {
		return workflows.ActivityResult{}, badInput("variables cannot be encoded: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return workflows.ActivityResult{}, badInput("%v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", runKey(in))
	resp, err := d.Guard.Client(timeout, 5).Do(req)
	if err != nil {
		if errors.Is(err, ingest.ErrBlocked) || errors.Is(err, ingest.ErrScheme) {
			var why error = err
			var blocked *ingest.BlockedError
			if errors.As(err, &blocked) {
				why = blocked
			}
			where := u.Redacted()
			var ue *url.Error
			if errors.As(err, &ue) && ue.URL != u.String() {
				if to, perr := url.Parse(ue.URL); perr == nil {
					where += " (redirected to " + to.Redacted() + ")"
				}
			}
			return workflows.ActivityResult{}, badInput("POST %s refused: %v", where, why)
		}
		return workflows.ActivityResult{}, fmt.Errorf("POST %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return workflows.ActivityResult{}, fmt.Errorf("POST %s: HTTP %s", u.Redacted(), resp.Status)
	case resp.StatusCode >= 300:
		return workflows.ActivityResult{}, badInput("POST %s: HTTP %s", u.Redacted(), resp.Status)
	}
	vars := map[string]any{"httpStatus": resp.StatusCode}
	var obj map[string]any
	if json.Unmarshal(data, &obj) == nil {
		vars["response"] = obj
	}
	return workflows.ActivityResult{Variables: vars, Message: fmt.Sprintf("POST %s: %s", u.Host, resp.Status)}, nil
}
