package workflows

import (
	"fmt"

	"go.temporal.io/sdk/activity"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func activityName(n string) activity.RegisterOptions { return activity.RegisterOptions{Name: n} }
