package activities

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/internal/datagouv"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// Names of the data.gouv.fr and withdrawal activities.
const (
	ActDatagouv = "civicflow.datagouv"
	ActWithdraw = "civicflow.withdraw"
)

// ErrDatagouv is the ApplicationError type of a push that data.gouv.fr
// refused for good (a 4xx other than 408/429: bad key, validation error)
// or that the installation cannot make (no API key): not retried.
const ErrDatagouv = "DatagouvRefused"

// datagouvExtra is the extra of the remote dataset that names the
// civicflow dataset: a push that crashed between the remote create and the
// local save finds its dataset by it rather than creating another.
const datagouvExtra = "civicflow:id"

// PublishDatagouv pushes the dataset's exposed release to data.gouv.fr: it
// creates the remote dataset once (or finds the one an interrupted
// attempt created, by its extra civicflow:id), updates its metadata and
// private flag (param private: a draft), uploads the release's CSV export
// (streamed from the store) as the dataset's main resource, or replaces
// that resource's file, and declares the resource's schema. The remote ids
// are stored as soon as they exist, so a retry never makes a second
// dataset or resource, and a release already pushed is not uploaded
// again. Param target ("demo", "production", or "configured"/empty for the
// configured platform) guards against a flow meant for the test platform pushing to
// production, and the reverse. Output: datagouv {dataset, resource, page,
// release, private}.
func (d *Data) PublishDatagouv(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	c, err := d.datagouvClient(in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	private, err := boolParam(in, "private", false)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	if ds.ExposedRelease == nil {
		return workflows.ActivityResult{}, badInput("dataset %q has no exposed release to push to data.gouv.fr (run civicflow.expose first) — le jeu de données %q n'a pas de version exposée à publier sur data.gouv.fr", ds.ID, ds.ID)
	}
	rel, err := d.Store.Release(ctx, ds.ID, *ds.ExposedRelease)
	if errors.Is(err, store.ErrNotFound) {
		return workflows.ActivityResult{}, badInput("dataset %q: its exposed release %d does not exist", ds.ID, *ds.ExposedRelease)
	}
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	target := c.BaseURL
	push, err := d.Store.DatagouvPush(ctx, ds.ID, target)
	if errors.Is(err, store.ErrNotFound) {
		push, err = store.DatagouvPush{DatasetID: ds.ID, TargetURL: target}, nil
	}
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	progress(ctx, "dataset", 0, rel.Rows)

	// 1. The remote dataset: the stored one, else the one an interrupted
	// attempt created, else a new one (whose id is saved at once).
	meta := datagouvMetadata(ds, private, d.DatagouvOrg, d.BaseURL)
	var remote datagouv.Dataset
	if push.RemoteDatasetID != "" {
		remote, err = c.Dataset(ctx, push.RemoteDatasetID)
		if datagouv.IsNotFound(err) {
			d.log().Warn("data.gouv.fr dataset gone: a new one is created", "dataset", ds.ID, "remote", push.RemoteDatasetID)
			push.RemoteDatasetID, push.RemoteResourceID, push.ReleaseNumber, push.Checksum = "", "", 0, ""
			err = nil
		}
		if err != nil {
			return workflows.ActivityResult{}, datagouvErr(err, "read the dataset")
		}
	}
	if push.RemoteDatasetID == "" {
		found, ok, err := c.FindDataset(ctx, d.DatagouvOrg, datagouvExtra, ds.ID)
		if err != nil {
			return workflows.ActivityResult{}, datagouvErr(err, "look for the dataset")
		}
		if ok {
			remote = found
			d.log().Info("data.gouv.fr dataset found by its extra", "dataset", ds.ID, "remote", found.ID)
		} else if remote, err = c.CreateDataset(ctx, meta); err != nil {
			return workflows.ActivityResult{}, datagouvErr(err, "create the dataset")
		}
		push.RemoteDatasetID, push.RemotePage = remote.ID, remote.Page
		push.RemoteResourceID, push.ReleaseNumber, push.Checksum = "", 0, ""
		if err := d.Store.SaveDatagouvPush(ctx, &push); err != nil {
			return workflows.ActivityResult{}, err
		}
	}
	if remote, err = c.UpdateDataset(ctx, remote.ID, meta); err != nil {
		return workflows.ActivityResult{}, datagouvErr(err, "update the dataset")
	}
	push.RemotePage = remote.Page

	// 2. The resource: the stored one, else one an interrupted upload
	// created (same file name, or our extra).
	filename := ds.ID + ".csv"
	if push.RemoteResourceID != "" {
		if _, ok := remote.Resource(push.RemoteResourceID); !ok {
			push.RemoteResourceID, push.ReleaseNumber, push.Checksum = "", 0, ""
		}
	}
	if push.RemoteResourceID == "" {
		for _, r := range remote.Resources {
			if v, _ := r.Extras[datagouvExtra].(string); v == ds.ID || r.Title == filename {
				push.RemoteResourceID = r.ID
				break
			}
		}
	}
	uploaded := false
	if push.RemoteResourceID == "" || push.ReleaseNumber != rel.Number || push.Checksum == "" {
		res, sum, err := d.uploadRelease(ctx, c, rel, remote.ID, push.RemoteResourceID, filename)
		if err != nil {
			return workflows.ActivityResult{}, err
		}
		push.RemoteResourceID, push.Checksum = res.ID, sum
		push.ReleaseNumber = 0 // pushed, not yet described: a retry uploads again rather than leave it half done
		if err := d.Store.SaveDatagouvPush(ctx, &push); err != nil {
			return workflows.ActivityResult{}, err
		}
		uploaded = true
	}
	progress(ctx, "schema", rel.Rows, rel.Rows)
	rin := datagouv.ResourceInput{Title: ds.Title + " (CSV)", Type: "main",
		Description: fmt.Sprintf("Version %d du jeu de données « %s », %d lignes, publiée par civicflow.", rel.Number, ds.Title, rel.Rows),
		Schema:      datagouvSchema(rel.SchemaName, rel.SchemaVersion),
		Extras:      map[string]any{datagouvExtra: ds.ID, "civicflow:release": rel.Number}}
	if _, err := c.UpdateResource(ctx, remote.ID, push.RemoteResourceID, rin); err != nil {
		return workflows.ActivityResult{}, datagouvErr(err, "describe the resource")
	}
	now := time.Now()
	push.ReleaseNumber, push.PushedAt, push.WithdrawnAt, push.WithdrawnAs = rel.Number, &now, nil, ""
	if err := d.Store.SaveDatagouvPush(ctx, &push); err != nil {
		return workflows.ActivityResult{}, err
	}
	if err := d.auditDataset(ctx, in, ds, "dataset.datagouv", nil, map[string]any{"target": target,
		"remoteDataset": remote.ID, "remoteResource": push.RemoteResourceID, "release": rel.Number, "private": private,
		"uploaded": uploaded}); err != nil {
		return workflows.ActivityResult{}, err
	}
	msg := fmt.Sprintf("release %d of %s pushed to %s (dataset %s, resource %s)", rel.Number, ds.ID, target, remote.ID, push.RemoteResourceID)
	if !uploaded {
		msg = fmt.Sprintf("release %d of %s already on %s (dataset %s): metadata updated, file not sent again", rel.Number, ds.ID, target, remote.ID)
	}
	if private {
		msg += " as a private draft"
	}
	return workflows.ActivityResult{Variables: map[string]any{"datagouv": map[string]any{
		"dataset": remote.ID, "resource": push.RemoteResourceID, "page": remote.Page, "release": rel.Number, "private": private,
	}}, Message: msg}, nil
}

// datagouvClient returns the client of the configured platform, or the
// business error that says why there is none; param target must match the
// platform.
func (d *Data) datagouvClient(in workflows.ActivityInput) (*datagouv.Client, error) {
	if d.Datagouv == nil || d.Datagouv.APIKey == "" {
		return nil, temporal.NewNonRetryableApplicationError(
			"Publication sur data.gouv.fr impossible : aucune clé d'API n'est configurée (--datagouv-api-key ou CIVICFLOW_DATAGOUV_API_KEY). "+
				"— data.gouv.fr publication is not configured: no API key (--datagouv-api-key or CIVICFLOW_DATAGOUV_API_KEY).",
			ErrDatagouv, nil)
	}
	base := strings.TrimSuffix(d.Datagouv.BaseURL, "/")
	want := ""
	switch t := strings.TrimSpace(in.Params["target"]); t {
	case "", "configured":
	case "demo":
		want = datagouv.DemoURL
	case "production":
		want = datagouv.ProductionURL
	default:
		return nil, badInput("param target %q: \"configured\", \"demo\" or \"production\" expected — paramètre target : « configured », « demo » ou « production »", t)
	}
	if want != "" && base != want {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"Le flux publie sur %s (target=%s) mais l'installation est configurée pour %s (--datagouv-url). "+
				"— The flow targets %s but the installation pushes to %s.", want, in.Params["target"], base, want, base), ErrDatagouv, nil)
	}
	return d.Datagouv, nil
}

// datagouvErr maps a client error: retryable ones go back as they are
// (Temporal retries), the others become a non-retryable error that says
// what data.gouv.fr refused.
func datagouvErr(err error, what string) error {
	if datagouv.Retryable(err) {
		return fmt.Errorf("data.gouv.fr: %s: %w", what, err)
	}
	msg := fmt.Sprintf("data.gouv.fr refused to %s: %v", what, err)
	switch datagouv.StatusOf(err) {
	case 401:
		msg += " — la clé d'API data.gouv.fr est refusée (vérifiez CIVICFLOW_DATAGOUV_API_KEY et la plateforme, demo ou production)"
	case 403:
		msg += " — le compte de la clé d'API n'a pas le droit de publier pour cette organisation (CIVICFLOW_DATAGOUV_ORG)"
	case 400:
		msg += " — data.gouv.fr a refusé les métadonnées du jeu de données"
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrDatagouv, err)
}

// uploadRelease streams the release as CSV (UTF-8, comma, header row, the
// SCDL recommendation) to a new resource, or to resourceID's file; it
// returns the resource and the file's SHA-256.
func (d *Data) uploadRelease(ctx context.Context, c *datagouv.Client, rel store.Release, remoteID, resourceID, filename string) (datagouv.Resource, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	h := sha256.New()
	done := make(chan error, 1)
	go func() {
		var rows int64
		cw := csv.NewWriter(io.MultiWriter(pw, h))
		rec := []string{}
		err := d.Store.ExploreStream(ctx, rel, store.ExploreQuery{Limit: -1},
			func(names []string) error { return cw.Write(names) },
			func(row []any) error {
				rec = rec[:0]
				for _, v := range row {
					rec = append(rec, csvCell(v))
				}
				rows++
				if rows%1000 == 0 {
					progress(ctx, "upload", rows, rel.Rows)
				}
				return cw.Write(rec)
			})
		if err == nil {
			cw.Flush()
			err = cw.Error()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	progress(ctx, "upload", 0, rel.Rows)
	var res datagouv.Resource
	var err error
	if resourceID == "" {
		res, err = c.UploadResource(ctx, remoteID, filename, pr)
	} else {
		res, err = c.ReplaceResourceFile(ctx, remoteID, resourceID, filename, pr)
	}
	pr.CloseWithError(errUploadOver)
	cancel()
	exportErr := <-done
	if errors.Is(exportErr, errUploadOver) || errors.Is(exportErr, context.Canceled) {
		exportErr = nil
	}
	if exportErr != nil {
		// The store failed while the file was being sent: retry.
		return res, "", fmt.Errorf("export release %d of %s: %w", rel.Number, rel.DatasetID, exportErr)
	}
	if err != nil {
		return res, "", datagouvErr(err, "upload the file")
	}
	progress(ctx, "upload", rel.Rows, rel.Rows)
	return res, hex.EncodeToString(h.Sum(nil)), nil
}

// errUploadOver stops the export when the upload ended first.
var errUploadOver = errors.New("upload over")

// csvCell writes a value of the records API as a CSV cell.
func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// datagouvMetadata is the remote dataset's metadata, from the local one.
func datagouvMetadata(ds store.Dataset, private bool, org, source string) datagouv.DatasetInput {
	desc := strings.TrimSpace(ds.Description)
	if desc == "" {
		desc = ds.Title
	}
	var tags []string
	for _, k := range ds.Keywords {
		if n := len([]rune(k)); n >= 3 && n <= 96 {
			tags = append(tags, k)
		}
	}
	extras := map[string]any{datagouvExtra: ds.ID}
	if source != "" {
		extras["civicflow:source"] = source
	}
	return datagouv.DatasetInput{Title: ds.Title, Description: desc, Organization: org, License: datagouvLicence(ds.Licence),
		Frequency: ds.Frequency, Tags: tags, Private: private, Extras: extras}
}

// datagouvLicence maps a licence (SPDX-like ids) to data.gouv.fr's ids.
func datagouvLicence(l string) string {
	switch strings.ToLower(l) {
	case "etalab-2.0", "lov2", "licence-ouverte-2.0":
		return "lov2"
	case "etalab-1.0", "fr-lo":
		return "fr-lo"
	case "odbl", "odbl-1.0", "odc-odbl":
		return "odc-odbl"
	case "cc-by", "cc-by-4.0":
		return "cc-by"
	case "cc0", "cc0-1.0", "cc-zero":
		return "cc-zero"
	}
	return "notspecified"
}

// datagouvSchemas are the schema.data.gouv.fr names of the shipped schemas
// that are not SCDL (the SCDL ones are scdl/NAME).
var datagouvSchemas = map[string]string{
	"irve-statique":          "etalab/schema-irve-statique",
	"irve-dynamique":         "etalab/schema-irve-dynamique",
	"lieux-covoiturage":      "etalab/schema-lieux-covoiturage",
	"stationnement":          "etalab/schema-stationnement",
	"stationnement-cyclable": "etalab/schema-stationnement-cyclable",
	"hautes-remunerations":   "etalab/schema-hautes-remunerations",
	"arbres-urbains":         "etalab/schema-arbre",
	"fontaine-eau":           "etalab/schema-fontaine-eau",
	"mediation-numerique":    "etalab/schema-lieux-mediation-numerique",
	"dae":                    "arsante/schema-dae",
	"decp-marches-publics":   "139bercy/format-commande-publique",
}

// datagouvSchema is the schema a resource declares: the national schema
// the release was validated against, or none for a custom schema.
func datagouvSchema(name, version string) *datagouv.Schema {
	var n string
	if rest, ok := strings.CutPrefix(name, "scdl-"); ok {
		n = "scdl/" + rest
	} else {
		n = datagouvSchemas[name]
	}
	if n == "" {
		return nil
	}
	if _, err := strconv.Atoi(version); err == nil {
		version = "" // a custom schema's version number, not the national one
	}
	return &datagouv.Schema{Name: n, Version: version}
}

// boolParam reads a "true"/"false" param (def when absent).
func boolParam(in workflows.ActivityInput, name string, def bool) (bool, error) {
	v := strings.TrimSpace(in.Params[name])
	if v == "" {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "true", "oui", "yes":
		return true, nil
	case "false", "non", "no":
		return false, nil
	}
	return false, badInput("param %s %q: true or false expected — paramètre %s : true ou false attendu", name, v, name)
}

// isGone reports whether err says the remote object does not exist.
func isGone(err error) bool { return datagouv.IsNotFound(err) }
