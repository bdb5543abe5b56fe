package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/designer"
)

const (
	review     = instanceID + ".review.1"
	approval   = instanceID + ".approval.1"
	correction = instanceID + ".correction.1"
)

// newPublication runs the embedded publication flow; validate answers valid
// from the list, one value per call (last value repeated).
func newPublication(t *testing.T, valid ...bool) *harness {
	h := newHarness(t, string(designer.PublicationBPMN), map[string]any{"dataset": "ds1", "file": "f1"})
	h.in.Flow = designer.PublicationKey
	h.service("civicflow.ingest", func(in ActivityInput) (ActivityResult, error) {
		return ActivityResult{Variables: map[string]any{"ingested": in.Variables["file"]}}, nil
	})
	n := 0
	h.service("civicflow.validate", func(ActivityInput) (ActivityResult, error) {
		v := valid[min(n, len(valid)-1)]
		n++
		return ActivityResult{Variables: map[string]any{"valid": v, "report": map[string]any{"errors": 0}}}, nil
	})
	for _, a := range []string{"civicflow.publish", "civicflow.expose", "civicflow.notify"} {
		h.service(a, nil)
	}
	return h
}

func approve() map[string]any { return map[string]any{"decision": "approve"} }

func TestPublicationHappyPath(t *testing.T) {
	h := newPublication(t, true)
	h.at(time.Minute, func() {
		st := h.state()
		require.Equal(t, []string{"review"}, st.Current)
		require.Equal(t, "steward@voirie", st.OpenTasks[0].Candidate)
		h.send("claim", UpdateClaim, ClaimRequest{TaskID: review, Actor: steward})
	})
	h.complete(2*time.Minute, "review", review, steward, map[string]any{"decision": "approve", "comment": "ok"})
	h.complete(3*time.Minute, "approval", approval, dgs, approve())
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, "ingest,validate,publish,expose", h.callList())
	require.Equal(t, "review:completed,approval:completed", h.closedList())
	for _, id := range []string{"claim", "review", "approval"} {
		require.Equal(t, "ok", h.outcome(id), id)
	}
	require.Equal(t, "f1", out.Variables["ingested"])
	require.Equal(t, "running,completed", h.statuses(), "few instance updates")
	rv, ap := h.opened[0], h.opened[1]
	require.Equal(t, "review", rv.Node)
	require.Equal(t, rv.Created.Add(5*24*time.Hour), *rv.Due)
	require.NotNil(t, rv.Form)
	require.Equal(t, []string{"approve", "changes", "reject"}, rv.Form.Fields[0].Enum)
	require.Equal(t, "approver@voirie", ap.Candidate)
	require.Equal(t, []string{"initiator", "correction"}, ap.FourEyes)
	require.Equal(t, ap.Created.Add(3*24*time.Hour), *ap.Due)
	require.Equal(t, "steward.voirie", h.assigns[0].Actor.Username)
	require.Equal(t, "steward.voirie", h.closed[0].Actor.Username)
}

func TestPublicationChangesLoopAndFourEyes(t *testing.T) {
	dual := Actor{ID: 9, Username: "dual", Groups: []string{"agent@voirie", "approver@voirie"}}
	assistant := Actor{ID: 10, Username: "assistant", OnBehalfOf: "agent.voirie", Groups: []string{"approver@*"}}
	h := newPublication(t, false, true)
	// invalid file → correction by dual, re-ingest, review asks for changes → correction again.
	h.complete(time.Minute, "c1", correction, dual, map[string]any{"file": "f2", "comment": "fixed"})
	h.complete(2*time.Minute, "r1", review, steward, map[string]any{"decision": "changes", "comment": "columns"})
	h.complete(3*time.Minute, "c2", instanceID+".correction.2", dual, map[string]any{"file": "f3"})
	h.complete(4*time.Minute, "r2", instanceID+".review.2", steward, approve())
	h.complete(5*time.Minute, "byCorrector", approval, dual, approve())
	h.complete(5*time.Minute+time.Second, "byInitiator", approval, Actor{ID: 1, Username: "agent.voirie", Groups: []string{"approver@*"}}, approve())
	h.complete(5*time.Minute+2*time.Second, "onBehalf", approval, assistant, approve())
	h.complete(6*time.Minute, "ok", approval, dgs, approve())
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, "ingest,validate,ingest,validate,ingest,validate,publish,expose", h.callList())
	require.Equal(t, "f3", out.Variables["ingested"], "correction data merged into variables")
	for id, want := range map[string]string{"c1": "ok", "r1": "ok", "c2": "ok", "r2": "ok",
		"byCorrector": ErrFourEyes, "byInitiator": ErrFourEyes, "onBehalf": ErrFourEyes, "ok": "ok"} {
		require.Equal(t, want, h.outcome(id), id)
	}
}

func TestPublicationReject(t *testing.T) {
	h := newPublication(t, true)
	h.complete(time.Minute, "r", review, steward, map[string]any{"decision": "reject", "comment": "not public data"})
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, "ingest,validate", h.callList())
	require.Equal(t, "reject", out.Variables["decision"])
	st := h.state()
	require.Equal(t, "rejected", st.History[len(st.History)-2].Node)
}

func TestPublicationRefusals(t *testing.T) {
	h := newPublication(t, true)
	h.complete(time.Minute, "forbidden", review, outsider, approve())
	h.complete(time.Minute+1*time.Second, "unknownTask", instanceID+".nope.1", steward, approve())
	h.complete(time.Minute+2*time.Second, "badEnum", review, steward, map[string]any{"decision": "maybe"})
	h.complete(time.Minute+3*time.Second, "missing", review, steward, map[string]any{"comment": "x"})
	h.complete(time.Minute+4*time.Second, "badType", review, steward, map[string]any{"decision": 3})
	h.complete(2*time.Minute, "first", review, steward, approve())
	h.complete(2*time.Minute+time.Second, "second", review, steward, approve())
	h.complete(3*time.Minute, "approval", approval, dgs, map[string]any{"decision": "reject"})
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	for id, want := range map[string]string{"forbidden": ErrForbidden, "unknownTask": ErrTaskNotFound,
		"badEnum": ErrInvalidData, "missing": ErrInvalidData, "badType": ErrInvalidData,
		"first": "ok", "second": ErrTaskClosed, "approval": "ok"} {
		require.Equal(t, want, h.outcome(id), id)
	}
	require.Equal(t, "ingest,validate", h.callList(), "approval rejected: nothing published")
}

func TestPublicationEscalation(t *testing.T) {
	h := newPublication(t, true)
	h.complete(time.Minute, "review", review, steward, approve())
	h.at(3*24*time.Hour+2*time.Minute, func() {
		require.Equal(t, "ingest,validate,remind", h.callList(), "reminder after the due date")
		st := h.state()
		require.Len(t, st.OpenTasks, 1, "non-interrupting: approval still open")
		require.Equal(t, "approval", st.OpenTasks[0].Node)
	})
	h.complete(4*24*time.Hour, "approval", approval, dgs, approve())
	require.Equal(t, StatusCompleted, h.run().Status)
	require.Equal(t, "ok", h.outcome("approval"))
	require.Equal(t, "ingest,validate,remind,publish,expose", h.callList())
}
