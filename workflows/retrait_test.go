package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/designer"
)

// newRetrait runs the embedded retrait flow with civicflow.withdraw mocked.
func newRetrait(t *testing.T) *harness {
	h := newHarness(t, string(designer.RetraitBPMN), map[string]any{"dataset": "ds1"})
	h.in.Flow = designer.RetraitKey
	h.service("civicflow.withdraw", func(in ActivityInput) (ActivityResult, error) {
		require.Equal(t, "private", in.Params["remote"])
		require.Equal(t, "ds1", in.Variables["dataset"])
		return ActivityResult{Variables: map[string]any{"withdrawn": map[string]any{"dataset": "ds1", "remote": "private"}}}, nil
	})
	return h
}

func TestRetraitApproved(t *testing.T) {
	dual := Actor{ID: 9, Username: "dual", Groups: []string{"steward@voirie", "approver@voirie"}}
	h := newRetrait(t)
	request, approval := instanceID+".request.1", instanceID+".approval.1"
	h.complete(time.Minute, "noReason", request, dual, map[string]any{})
	h.complete(2*time.Minute, "request", request, dual, map[string]any{"reason": "erreur de publication"})
	h.complete(3*time.Minute, "byRequester", approval, dual, approve())
	h.complete(4*time.Minute, "byOutsider", approval, outsider, approve())
	h.complete(5*time.Minute, "approval", approval, dgs, approve())
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Equal(t, "withdraw", h.callList())
	for id, want := range map[string]string{"noReason": ErrInvalidData, "request": "ok", "byRequester": ErrFourEyes,
		"byOutsider": ErrForbidden, "approval": "ok"} {
		require.Equal(t, want, h.outcome(id), id)
	}
	require.Equal(t, "erreur de publication", out.Variables["reason"])
	rq, ap := h.opened[0], h.opened[1]
	require.Equal(t, "steward@voirie", rq.Candidate)
	require.Equal(t, "approver@voirie", ap.Candidate)
	require.Equal(t, []string{"initiator", "request"}, ap.FourEyes)
}

func TestRetraitRefused(t *testing.T) {
	h := newRetrait(t)
	h.complete(time.Minute, "request", instanceID+".request.1", steward, map[string]any{"reason": "doublon"})
	h.complete(2*time.Minute, "approval", instanceID+".approval.1", dgs, map[string]any{"decision": "reject", "comment": "à garder"})
	out := h.run()
	require.Equal(t, StatusCompleted, out.Status)
	require.Empty(t, h.callList(), "nothing withdrawn")
	require.Equal(t, "reject", out.Variables["decision"])
}
