package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/workflows"
)

// ScheduleID names the Temporal schedule of a flow's timer start event.
func ScheduleID(flow, node string) string { return "flow-" + flow + "-" + node }

// SyncSchedules creates or replaces one Temporal schedule per timer start
// event of the deployed version: each firing starts an interpreter run at
// that start event, in department dept. Older versions' schedules of the
// same flow and node are replaced: a schedule always runs the latest version.
func SyncSchedules(ctx context.Context, tc client.Client, taskQueue string, g *designer.Graph, dept string) ([]string, error) {
	var ids []string
	for _, node := range g.TimerStarts {
		n := g.Nodes[node]
		if n == nil || n.Timer == nil {
			continue
		}
		spec, limit, err := scheduleSpec(*n.Timer, time.Now())
		if err != nil {
			return ids, fmt.Errorf("timer start %s: %w", node, err)
		}
		id := ScheduleID(g.Key, node)
		action := &client.ScheduleWorkflowAction{
			ID:        "scheduled-" + g.Key + "-" + node,
			Workflow:  workflows.InterpreterName,
			TaskQueue: taskQueue,
			Args: []any{workflows.Input{Flow: g.Key, Version: g.Version, Graph: *g, Department: dept,
				Initiator: workflows.Actor{Username: "schedule"}, StartEvent: node, Variables: map[string]any{}}},
		}
		h := tc.ScheduleClient().GetHandle(ctx, id)
		_ = h.Delete(ctx) // replace a previous version's schedule
		opts := client.ScheduleOptions{ID: id, Spec: spec, Action: action, Overlap: 0}
		if limit > 0 {
			opts.RemainingActions = limit
		}
		if _, err := tc.ScheduleClient().Create(ctx, opts); err != nil {
			var exists *serviceerror.AlreadyExists
			if !errors.As(err, &exists) {
				return ids, fmt.Errorf("create schedule %s: %w", id, err)
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// scheduleSpec maps a BPMN timer to a Temporal schedule spec and the
// number of firings (0 = unbounded).
func scheduleSpec(t designer.Timer, now time.Time) (client.ScheduleSpec, int, error) {
	switch t.Type {
	case designer.TimerCycle:
		c, err := designer.ParseCycle(t.Value)
		if err != nil {
			return client.ScheduleSpec{}, 0, err
		}
		every := approx(c.Interval)
		if every < time.Second {
			return client.ScheduleSpec{}, 0, fmt.Errorf("interval %s is shorter than a second", t.Value)
		}
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
		if !c.Start.IsZero() {
			spec.StartAt = c.Start
			spec.Intervals[0].Offset = time.Duration(c.Start.UnixNano() % int64(every))
		}
		if c.Repeat < 0 {
			return spec, 0, nil
		}
		return spec, c.Repeat, nil
	case designer.TimerDate:
		at, err := designer.ParseDate(t.Value)
		if err != nil {
			return client.ScheduleSpec{}, 0, err
		}
		return onceAt(at), 1, nil
	case designer.TimerDuration:
		d, err := designer.ParseDuration(t.Value)
		if err != nil {
			return client.ScheduleSpec{}, 0, err
		}
		return onceAt(d.AddTo(now)), 1, nil
	}
	return client.ScheduleSpec{}, 0, fmt.Errorf("unknown timer type %q", t.Type)
}

func onceAt(at time.Time) client.ScheduleSpec {
	at = at.UTC()
	return client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
		Second: []client.ScheduleRange{{Start: at.Second()}}, Minute: []client.ScheduleRange{{Start: at.Minute()}},
		Hour: []client.ScheduleRange{{Start: at.Hour()}}, DayOfMonth: []client.ScheduleRange{{Start: at.Day()}},
		Month: []client.ScheduleRange{{Start: int(at.Month())}}, Year: []client.ScheduleRange{{Start: at.Year()}},
	}}}
}

// approx turns an ISO duration into a fixed interval (months = 30 days,
// years = 365 days), as schedules need.
func approx(d designer.Duration) time.Duration {
	days := float64(d.Years*365 + d.Months*30 + d.Weeks*7 + d.Days)
	secs := days*86400 + float64(d.Hours*3600+d.Minutes*60) + d.Seconds
	return time.Duration(math.Round(secs * float64(time.Second)))
}
