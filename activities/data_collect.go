package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/ingest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// ActCollect names the collection activity.
const ActCollect = "civicflow.collect"

// collectSummary is the "collect" variable.
type collectSummary struct {
	Source       string `json:"source"`
	File         string `json:"file,omitempty"`
	Previous     string `json:"previousFile,omitempty"`
	SHA256       string `json:"sha256,omitempty"`
	Size         int64  `json:"size,omitempty"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Unchanged    bool   `json:"unchanged"`
	Reason       string `json:"reason,omitempty"`
}

// Collect fetches the source URL (variable or param source) of the dataset
// (variable or param dataset) with a conditional request built from the
// dataset's last file collected from that URL (If-None-Match,
// If-Modified-Since). New content is staged as a new file of the dataset
// (kind "collected"): variables file (its id), unchanged = false and
// collect. An unchanged source (HTTP 304, or the same bytes) stages
// nothing: unchanged = true, and the message says "skipped: unchanged", so
// that a gateway on unchanged can end the run without a task.
func (d *Data) Collect(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	src := stringVar(in, "source")
	if src == "" {
		src = strings.TrimSpace(in.Params["source"])
	}
	if src == "" {
		return workflows.ActivityResult{}, badInput("the variable \"source\" (the URL to collect) is missing")
	}
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(src) > 2048 {
		return workflows.ActivityResult{}, badInput("the source %q is not an absolute http(s) URL", shortURL(src))
	}
	key := runKey(in, "collect", src)
	if res, ok, err := d.cached(ctx, key); err != nil || ok {
		return res, err
	}
	// The staged file's id derives from the run: a retry after a crash
	// between staging and recording finds it instead of collecting again
	// (which would answer "unchanged" against its own file).
	h := sha256.Sum256([]byte(key))
	fileID := "f" + hex.EncodeToString(h[:10])
	f, err := d.Store.DataFile(ctx, fileID)
	switch {
	case err == nil:
		return d.collected(ctx, in, ds, key, f, "")
	case !errors.Is(err, store.ErrNotFound):
		return workflows.ActivityResult{}, err
	}
	prev, err := d.Store.LatestCollected(ctx, ds.ID, u.String())
	hasPrev := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return workflows.ActivityResult{}, err
	}
	tmp, err := os.CreateTemp(d.DataDir, "collect-*")
	if err != nil {
		return workflows.ActivityResult{}, fmt.Errorf("collect %s: %w", shortURL(src), err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	opts := d.Fetch
	if hasPrev {
		opts.ETag, opts.LastModified = prev.ETag, prev.LastModified
	}
	heartbeat(ctx, "collecting "+shortURL(src))
	r, err := ingest.Fetch(ctx, u.String(), tmp, opts)
	if err != nil {
		var hs *ingest.HTTPStatusError
		switch {
		case errors.Is(err, ingest.ErrScheme), errors.Is(err, ingest.ErrBlocked), errors.Is(err, ingest.ErrLimit):
			return workflows.ActivityResult{}, badInput("collect: %v", err)
		case errors.As(err, &hs) && hs.StatusCode >= 400 && hs.StatusCode < 500 && hs.StatusCode != 408 && hs.StatusCode != 429:
			return workflows.ActivityResult{}, badInput("collect: %v", err)
		}
		return workflows.ActivityResult{}, fmt.Errorf("collect: %w", err) // network, 5xx: retried
	}
	sum := collectSummary{Source: shortURL(src), ETag: r.ETag, LastModified: r.LastModified}
	switch {
	case r.NotModified && hasPrev:
		sum.Unchanged, sum.Previous, sum.Reason = true, prev.ID, "HTTP 304 Not Modified"
	case r.NotModified:
		return workflows.ActivityResult{}, fmt.Errorf("collect %s: HTTP 304 to an unconditional request", shortURL(src))
	case hasPrev && r.SHA256 == prev.SHA256:
		sum.Unchanged, sum.Previous, sum.Reason = true, prev.ID, "same content as file "+prev.ID
	}
	if sum.Unchanged {
		sum.SHA256, sum.Size = prev.SHA256, prev.Size
		res := workflows.ActivityResult{Variables: map[string]any{"unchanged": true, "collect": toMap(sum)},
			Message: fmt.Sprintf("skipped: unchanged (%s since %s)", sum.Reason, fetchedAt(prev))}
		return d.remember(ctx, store.DataRun{Key: key, Activity: ActCollect, InstanceID: in.InstanceID, NodeID: in.NodeID,
			DatasetID: ds.ID, InputSHA: prev.SHA256}, res)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return workflows.ActivityResult{}, err
	}
	sha, size, err := d.Blobs.Put(ctx, tmp)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	if size == 0 {
		return workflows.ActivityResult{}, badInput("collect %s: the source answered an empty file", shortURL(src))
	}
	name := in.Params["name"]
	if name == "" {
		name = path.Base(u.Path)
	}
	if name == "" || name == "/" || name == "." {
		name = u.Hostname()
	}
	head := make([]byte, min(size, ingest.SniffLen))
	_, _ = tmp.ReadAt(head, 0)
	format, err := ingest.Detect(name, head)
	if err != nil {
		return workflows.ActivityResult{}, badInput("collect %s: %v (CSV, XLSX, JSON or GeoJSON expected)", shortURL(src), err)
	}
	now := time.Now()
	f = store.DataFile{ID: fileID, DatasetID: ds.ID, Kind: store.FileCollected, Name: name, Format: string(format),
		SHA256: sha, Size: size, URL: u.String(), ETag: r.ETag, LastModified: r.LastModified, FetchedAt: &now}
	if err := d.Store.CreateDataFile(ctx, &f); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			return workflows.ActivityResult{}, err
		}
		if f, err = d.Store.DataFile(ctx, fileID); err != nil { // a concurrent twin staged it
			return workflows.ActivityResult{}, err
		}
	}
	prevID := ""
	if hasPrev {
		prevID = prev.ID
	}
	return d.collected(ctx, in, ds, key, f, prevID)
}

// collected records and returns the result of a collection that staged f.
func (d *Data) collected(ctx context.Context, in workflows.ActivityInput, ds store.Dataset, key string, f store.DataFile, prev string) (workflows.ActivityResult, error) {
	sum := collectSummary{Source: shortURL(f.URL), File: f.ID, Previous: prev, SHA256: f.SHA256, Size: f.Size, ETag: f.ETag, LastModified: f.LastModified}
	res := workflows.ActivityResult{Variables: map[string]any{"file": f.ID, "unchanged": false, "collect": toMap(sum)},
		Message: fmt.Sprintf("collected %s: %d bytes, staged as file %s", sum.Source, f.Size, f.ID)}
	return d.remember(ctx, store.DataRun{Key: key, Activity: ActCollect, InstanceID: in.InstanceID, NodeID: in.NodeID,
		DatasetID: ds.ID, OutputSHA: f.SHA256}, res)
}

func fetchedAt(f store.DataFile) string {
	at := f.CreatedAt
	if f.FetchedAt != nil {
		at = *f.FetchedAt
	}
	return "file " + f.ID + " of " + at.UTC().Format(time.RFC3339)
}

// shortURL drops user info and the query (tokens travel there) for messages.
func shortURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if len(raw) > 80 {
			return raw[:80] + "…"
		}
		return raw
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
