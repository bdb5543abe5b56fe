package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A steward's completion cannot carry keys the review form does not
// declare, so it cannot point the publication at another dataset.
func TestCompletionCannotRedirectTheFlow(t *testing.T) {
	h := newPublication(t, true)
	var published []any
	h.service("civicflow.publish", func(in ActivityInput) (ActivityResult, error) {
		published = append(published, in.Variables["dataset"])
		return ActivityResult{}, nil
	})
	h.complete(time.Minute, "redirect", review, steward, map[string]any{"decision": "approve", "dataset": "finances-budget"})
	h.complete(time.Minute+time.Second, "sneaky", review, steward, map[string]any{"decision": "approve", "normalized": "0123"})
	h.complete(2*time.Minute, "review", review, steward, approve())
	h.complete(3*time.Minute, "approval", approval, dgs, map[string]any{"decision": "approve", "file": "f-other"})
	h.complete(4*time.Minute, "approval2", approval, dgs, approve())
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	for id, want := range map[string]string{"redirect": ErrInvalidData, "sneaky": ErrInvalidData, "review": "ok",
		"approval": ErrInvalidData, "approval2": "ok"} {
		require.Equal(t, want, h.outcome(id), id)
	}
	require.Equal(t, []any{"ds1"}, published)
	require.Equal(t, "ds1", out.Variables["dataset"])
	require.Equal(t, "f1", out.Variables["file"])
}

// An activity result (civicflow.http returns what a remote service says)
// cannot rebind the instance: the token stops in an incident, and an
// operator's resolution cannot rebind it either.
func TestResultsCannotRebindTheInstance(t *testing.T) {
	h := newPublication(t, true)
	calls := 0
	h.service("civicflow.ingest", func(in ActivityInput) (ActivityResult, error) {
		calls++
		if calls == 1 {
			return ActivityResult{Variables: map[string]any{"dataset": "finances-budget", "ingested": true}}, nil
		}
		return ActivityResult{Variables: map[string]any{"dataset": "ds1", "ingested": true}}, nil // the same value is harmless
	})
	h.at(time.Minute, func() {
		st := h.state()
		require.Equal(t, StatusIncident, st.Status)
		require.Len(t, st.Incidents, 1)
		require.Contains(t, st.Incidents[0].Message, "the variable dataset is fixed")
		require.Equal(t, "ds1", st.Variables["dataset"])
		h.send("rebind", UpdateResolve, ResolveRequest{Action: ResolveRetry, Variables: map[string]any{"dataset": "finances-budget"}, Actor: steward})
	})
	h.at(2*time.Minute, func() {
		h.send("retry", UpdateResolve, ResolveRequest{Action: ResolveRetry, Actor: steward})
	})
	h.complete(3*time.Minute, "review", review, steward, map[string]any{"decision": "reject"})
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, ErrInvalidData, h.outcome("rebind"))
	require.Equal(t, "ok", h.outcome("retry"))
	require.Equal(t, "ds1", out.Variables["dataset"])
}
