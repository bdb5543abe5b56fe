package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// Withdraw takes the dataset out of the catalog and the public records
// API at once (it becomes private, no release is exposed; its releases
// are kept, so a later publication can bring it back). When it was pushed
// to the configured data.gouv.fr platform, param remote says what happens
// there: "private" (default: the remote dataset becomes a private draft),
// "archive" (it stays public, marked archived) or "none". Idempotent.
// Output: withdrawn {dataset, remote}.
func (d *Data) Withdraw(ctx context.Context, in workflows.ActivityInput) (workflows.ActivityResult, error) {
	ds, err := d.dataset(ctx, in)
	if err != nil {
		return workflows.ActivityResult{}, err
	}
	mode := strings.TrimSpace(in.Params["remote"])
	switch mode {
	case "":
		mode = "private"
	case "private", "archive", "none":
	default:
		return workflows.ActivityResult{}, badInput("param remote %q: \"private\", \"archive\" or \"none\" expected — paramètre remote : « private », « archive » ou « none »", mode)
	}
	if ds.Visibility != store.VisibilityPrivate || ds.ExposedRelease != nil {
		if err := d.Store.WithdrawDataset(ctx, ds.ID); err != nil {
			return workflows.ActivityResult{}, err
		}
		if err := d.auditDataset(ctx, in, ds, "dataset.withdraw",
			map[string]any{"visibility": ds.Visibility, "exposedRelease": ds.ExposedRelease},
			map[string]any{"visibility": store.VisibilityPrivate, "exposedRelease": nil, "reason": stringVar(in, "reason")}); err != nil {
			return workflows.ActivityResult{}, err
		}
	}
	msg := fmt.Sprintf("dataset %s withdrawn from the catalog and the API", ds.ID)
	remote := "none"
	if mode != "none" {
		pushes, err := d.Store.DatagouvPushes(ctx, ds.ID)
		if err != nil {
			return workflows.ActivityResult{}, err
		}
		for _, p := range pushes {
			if p.RemoteDatasetID == "" {
				continue
			}
			as := map[string]string{"private": "private", "archive": "archived"}[mode]
			if p.WithdrawnAs == as {
				remote = as
				continue
			}
			c, err := d.datagouvClient(workflows.ActivityInput{})
			if err != nil {
				return workflows.ActivityResult{}, err
			}
			if strings.TrimSuffix(c.BaseURL, "/") != p.TargetURL {
				d.log().Warn("dataset pushed to another data.gouv.fr platform than the configured one: left as it is",
					"dataset", ds.ID, "target", p.TargetURL, "configured", c.BaseURL)
				msg += "; not withdrawn from " + p.TargetURL + " (another platform than the configured one)"
				continue
			}
			if mode == "archive" {
				_, err = c.Archive(ctx, p.RemoteDatasetID, time.Now())
			} else {
				_, err = c.SetPrivate(ctx, p.RemoteDatasetID, true)
			}
			if isGone(err) {
				err = nil // deleted there already
			}
			if err != nil {
				return workflows.ActivityResult{}, datagouvErr(err, "withdraw the dataset")
			}
			now := time.Now()
			p.WithdrawnAt, p.WithdrawnAs = &now, as
			if err := d.Store.SaveDatagouvPush(ctx, &p); err != nil {
				return workflows.ActivityResult{}, err
			}
			if err := d.auditDataset(ctx, in, ds, "dataset.datagouv.withdraw", nil,
				map[string]any{"target": p.TargetURL, "remoteDataset": p.RemoteDatasetID, "as": as}); err != nil {
				return workflows.ActivityResult{}, err
			}
			remote = as
			msg += fmt.Sprintf("; data.gouv.fr dataset %s %s", p.RemoteDatasetID, as)
		}
	}
	return workflows.ActivityResult{Variables: map[string]any{"withdrawn": map[string]any{"dataset": ds.ID, "remote": remote}},
		Message: msg}, nil
}
