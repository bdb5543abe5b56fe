package activities

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// Maintenance holds the product's own housekeeping activities (not
// offered in the designer).
type Maintenance struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time // default time.Now
}

// Register registers the maintenance activities.
func (m *Maintenance) Register(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(m.PurgeUsage, activity.RegisterOptions{Name: workflows.ActUsagePurge})
}

// PurgeUsage deletes the public API's usage rows older than in.Months
// months (6 to 12, the CNIL's recommendation for access logs) and returns
// how many went.
func (m *Maintenance) PurgeUsage(ctx context.Context, in workflows.UsagePurgeInput) (int64, error) {
	if in.Months < 6 || in.Months > 12 {
		return 0, temporal.NewNonRetryableApplicationError(fmt.Sprintf("usage retention of %d months is outside 6 to 12", in.Months), "InvalidInput", nil)
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	before := now().UTC().AddDate(0, -in.Months, 0)
	n, err := m.Store.PurgeAPIUsage(ctx, before)
	if err != nil {
		return n, err
	}
	if m.Log != nil {
		m.Log.Info("usage log retention: purged", "rows", n, "before", before.Format(time.DateOnly), "months", in.Months)
	}
	return n, nil
}
