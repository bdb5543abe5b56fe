package service

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
)

// ReleaseDiff is what publishing a request's file would change in its
// dataset, compared with the dataset's latest release: rows added, removed
// and changed (by the schema's primary key when the release has one, else
// by whole rows). Anonymised columns are left out of the comparison: their
// released values are not the file's.
type ReleaseDiff struct {
	// Against is the release compared with (0: the dataset has none; every
	// row is new).
	Against   int
	ByKey     bool
	Added     int64
	Removed   int64
	Changed   int64
	Unchanged int64
	// Compared are the columns compared; Skipped those left out
	// (anonymised, or absent from one side).
	Compared []string
	Skipped  []string
	// Examples are a few keys of added, removed and changed rows.
	AddedKeys, RemovedKeys, ChangedKeys []string
	// TooLarge says the file has more rows than a preview compares: the
	// figures are those of the release, after publication.
	TooLarge bool
	// Missing is the French reason there is nothing to compare yet (no
	// report, no file); the other fields are then empty.
	Missing string
}

// MaxDiffPreviewRows bounds the files a preview compares (the comparison
// holds one 16-byte digest per row and per key).
const MaxDiffPreviewRows = 500_000

const diffExamples = 5

// diffCache keeps computed previews by file digest and release: both are
// immutable, so a preview is computed once per process.
var diffCache = struct {
	sync.Mutex
	m map[string]ReleaseDiff
}{m: map[string]ReleaseDiff{}}

// TaskReleaseDiff compares the file of the task's quality report with its
// dataset's latest release (the reader may see the task and the dataset).
func (s *Service) TaskReleaseDiff(ctx context.Context, c Caller, taskID string) (ReleaseDiff, error) {
	v, err := s.Task(ctx, c, taskID)
	if err != nil {
		return ReleaseDiff{}, err
	}
	vars := map[string]any{}
	_ = json.Unmarshal([]byte(v.VarsRaw), &vars)
	if r, err := s.Request(ctx, c, v.InstanceID); err == nil && r.Variables != nil {
		vars = r.Variables
	}
	rep, _ := vars["report"].(map[string]any)
	n, _ := rep["reportId"].(float64)
	if n <= 0 {
		return ReleaseDiff{Missing: "La demande n'a pas encore de rapport de qualité : les écarts s'afficheront après la validation du fichier."}, nil
	}
	qr, err := s.QualityReport(ctx, c, int64(n))
	if err != nil {
		return ReleaseDiff{}, err
	}
	if qr.DatasetID == nil || qr.BlobSHA == "" {
		return ReleaseDiff{Missing: "Le rapport ne désigne pas de fichier de jeu de données."}, nil
	}
	ds, err := s.store.Dataset(ctx, *qr.DatasetID)
	if err != nil {
		return ReleaseDiff{}, err
	}
	rels, err := s.store.Releases(ctx, ds.ID)
	if err != nil {
		return ReleaseDiff{}, err
	}
	if len(rels) == 0 {
		return ReleaseDiff{Added: qr.Rows}, nil
	}
	latest := slices.MaxFunc(rels, func(a, b store.Release) int { return a.Number - b.Number })
	if qr.Rows > MaxDiffPreviewRows {
		return ReleaseDiff{Against: latest.Number, TooLarge: true}, nil
	}
	key := fmt.Sprintf("%s/%s/%d", qr.BlobSHA, ds.ID, latest.Number)
	diffCache.Lock()
	d, ok := diffCache.m[key]
	diffCache.Unlock()
	if ok {
		return d, nil
	}
	var sch *tableschema.Schema
	if ds.SchemaName != "" {
		if sch, _, err = s.store.LoadSchema(ctx, ds.SchemaName, ds.SchemaVersion); err != nil {
			sch = nil // compared as text: the preview is a guide, the release's diff is exact
		}
	}
	name := qr.FileID
	if df, err := s.store.DataFile(ctx, qr.FileID); err == nil && df.Name != "" {
		name = df.Name
	}
	d, err = s.compareWithRelease(ctx, qr.BlobSHA, name, sch, latest)
	if err != nil {
		return ReleaseDiff{}, err
	}
	diffCache.Lock()
	if len(diffCache.m) > 256 {
		clear(diffCache.m)
	}
	diffCache.m[key] = d
	diffCache.Unlock()
	return d, nil
}

// compareWithRelease reads the file (blob sha, its name for its format)
// and the release once each, keeping a digest of the compared values of
// each row by key (or a count per row digest when there is no key).
func (s *Service) compareWithRelease(ctx context.Context, sha, name string, sch *tableschema.Schema, rel store.Release) (ReleaseDiff, error) {
	d := ReleaseDiff{Against: rel.Number, ByKey: len(rel.PrimaryKey) > 0}
	var anon []struct {
		Field string `json:"field"`
	}
	_ = json.Unmarshal(rel.Anonymisation, &anon)
	anonymised := map[string]bool{}
	for _, a := range anon {
		anonymised[a.Field] = true
	}

	rows, done, err := s.openBlobRows(sha, name)
	if err != nil {
		return d, err
	}
	defer done()
	header := rows.Header()

	// The compared columns: in the file and in the release, not anonymised.
	type col struct {
		file, rel int
		kind      string
		field     tableschema.Field
	}
	var cols []col
	relIdx := map[string]int{}
	for i, c := range rel.Columns {
		relIdx[c.Field] = i
	}
	for i, h := range header {
		j, ok := relIdx[h]
		if !ok || anonymised[h] {
			d.Skipped = append(d.Skipped, h)
			continue
		}
		c := col{file: i, rel: j, kind: rel.Columns[j].Kind}
		if sch != nil && c.kind != store.KindText {
			if fld, ok := sch.Field(h); ok {
				c.field = fld
			}
		}
		cols = append(cols, c)
		d.Compared = append(d.Compared, h)
	}
	// The key as the loader writes it: the primary key's cells joined by
	// U+001F.
	var keyFile []int
	for _, k := range rel.PrimaryKey {
		fi := slices.Index(header, k)
		if fi < 0 || anonymised[k] {
			d.ByKey = false
			break
		}
		keyFile = append(keyFile, fi)
	}

	digest := func(vals func(c col) any) [16]byte {
		h := sha256.New()
		for _, c := range cols {
			fmt.Fprint(h, vals(c))
			h.Write([]byte{0x1f})
		}
		var out [16]byte
		copy(out[:], h.Sum(nil))
		return out
	}
	fileValue := func(rec []string) func(c col) any {
		return func(c col) any {
			cell := ""
			if c.file < len(rec) {
				cell = rec[c.file]
			}
			if cell == "" {
				return nil
			}
			if c.field == nil {
				return store.NormaliseValue(c.kind, cell)
			}
			v, err := c.field.Cast(cell)
			if err != nil {
				return nil // the release stores NULL where a cell does not cast
			}
			return store.NormaliseValue(c.kind, v)
		}
	}
	byKey := map[string][16]byte{}
	byRow := map[[16]byte]int{}
	for {
		rec, _, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return d, err
		}
		if err := ctx.Err(); err != nil {
			return d, err
		}
		sum := digest(fileValue(rec))
		if !d.ByKey {
			byRow[sum]++
			continue
		}
		parts := make([]string, len(keyFile))
		for i, j := range keyFile {
			if j < len(rec) {
				parts[i] = rec[j]
			}
		}
		byKey[strings.Join(parts, "\x1f")] = sum
	}

	seen := map[string]bool{}
	err = s.store.EachReleaseRow(ctx, rel, func(k string, vals []any) error {
		sum := digest(func(c col) any { return vals[c.rel] })
		if !d.ByKey {
			if byRow[sum] > 0 {
				byRow[sum]--
				d.Unchanged++
			} else {
				d.Removed++
			}
			return nil
		}
		fileSum, ok := byKey[k]
		switch {
		case !ok:
			d.Removed++
			if len(d.RemovedKeys) < diffExamples {
				d.RemovedKeys = append(d.RemovedKeys, keyText(k))
			}
		case fileSum == sum:
			d.Unchanged++
		default:
			d.Changed++
			if len(d.ChangedKeys) < diffExamples {
				d.ChangedKeys = append(d.ChangedKeys, keyText(k))
			}
		}
		seen[k] = true
		return nil
	})
	if err != nil {
		return d, err
	}
	if !d.ByKey {
		for _, n := range byRow {
			d.Added += int64(n)
		}
		return d, nil
	}
	for k := range byKey {
		if !seen[k] {
			d.Added++
			if len(d.AddedKeys) < diffExamples {
				d.AddedKeys = append(d.AddedKeys, keyText(k))
			}
		}
	}
	slices.Sort(d.AddedKeys)
	return d, nil
}

// keyText shows a key to a person ("75056 / 2024").
func keyText(k string) string { return strings.ReplaceAll(k, "\x1f", " / ") }
