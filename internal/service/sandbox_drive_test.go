package service

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/workflows"
)

func TestCheckSandboxAnswer(t *testing.T) {
	deep := map[string]any{}
	for i, m := 0, deep; i < MaxStartVariablesDepth+2; i++ {
		next := map[string]any{}
		m["x"] = next
		m = next
	}
	for _, tc := range []struct {
		name string
		in   workflows.SandboxAnswer
		want string // "" = accepted, else a part of the French refusal
		out  workflows.SandboxAnswer
	}{
		{"variables", workflows.SandboxAnswer{Variables: map[string]any{"valid": false}}, "", workflows.SandboxAnswer{Variables: map[string]any{"valid": false}}},
		{"empty answer", workflows.SandboxAnswer{}, "", workflows.SandboxAnswer{}},
		{"names the activities set are allowed", workflows.SandboxAnswer{Variables: map[string]any{"normalized": "x"}}, "", workflows.SandboxAnswer{Variables: map[string]any{"normalized": "x"}}},
		{"failure drops the variables and is trimmed", workflows.SandboxAnswer{Fail: "  panne  ", Variables: map[string]any{"a": 1}}, "", workflows.SandboxAnswer{Fail: "panne"}},
		{"failure too long", workflows.SandboxAnswer{Fail: strings.Repeat("é", maxSandboxFailText+1)}, "au plus 500 caractères", workflows.SandboxAnswer{}},
		{"bad variable name", workflows.SandboxAnswer{Variables: map[string]any{"a b": 1}}, "noms simples", workflows.SandboxAnswer{}},
		{"too deep", workflows.SandboxAnswer{Variables: map[string]any{"d": deep}}, "noms simples", workflows.SandboxAnswer{}},
		{"too large", workflows.SandboxAnswer{Variables: map[string]any{"big": strings.Repeat("x", MaxStartVariablesBytes)}}, "", workflows.SandboxAnswer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := checkSandboxAnswer(tc.in)
			if tc.name == "too large" {
				var se *Error
				require.True(t, errors.As(err, &se))
				require.Equal(t, TooLarge, se.Kind)
				return
			}
			if tc.want == "" {
				require.NoError(t, err)
				require.Equal(t, tc.out, out)
				return
			}
			var se *Error
			require.True(t, errors.As(err, &se), "%v", err)
			require.Contains(t, se.Fr, tc.want)
		})
	}
}

func TestSandboxViewServicesAndTimers(t *testing.T) {
	deadline := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	st := workflows.State{
		Status:    workflows.StatusIncident,
		Variables: map[string]any{"normalized": "déjà là"},
		Tokens: []workflows.Token{
			{ID: 1, Node: "ingest", Wait: workflows.WaitAnswer},
			{ID: 2, Node: "validate", Wait: "incident"},
			{ID: 3, Node: "wait", Wait: "timer", Deadline: &deadline},
			{ID: 4, Node: "approval", Wait: "task", TaskID: "t1"},
		},
		Incidents:  []workflows.Incident{{Node: "validate", Message: "échec simulé par le concepteur : panne", Token: 2}},
		Boundaries: []workflows.Boundary{{Node: "late", TaskID: "t1", Deadline: deadline.Add(time.Hour)}},
		Answers:    map[string]workflows.SandboxAnswer{"validate": {Fail: "panne"}},
		History:    []workflows.HistoryEntry{{Node: "start", Event: "completed"}},
	}
	services := map[string]string{"ingest": "civicflow.ingest", "validate": "civicflow.validate", "publish": "civicflow.publish"}
	v := sandboxView("sandbox-x", st, services)

	require.Len(t, v.Services, 2)
	ingest, validate := v.Services[0], v.Services[1]
	require.Equal(t, "ingest", ingest.Node)
	require.True(t, ingest.Waiting)
	info, _ := designer.ActivityInfoOf("civicflow.ingest")
	require.Equal(t, info.Label, ingest.Label)
	require.NotContains(t, ingest.Answer.Variables, "normalized", "a variable the run has is not prefilled from the sample")
	require.Contains(t, ingest.Answer.Variables, "ingest", "the rest of the sample is")
	require.Equal(t, "validate", validate.Node)
	require.False(t, validate.Waiting)
	require.Equal(t, "échec simulé par le concepteur : panne", validate.Incident)
	require.Equal(t, "panne", validate.Answer.Fail, "the last answer is prefilled")
	require.Equal(t, true, validate.Answer.Variables["valid"], "with the sample beside the failure")

	require.Equal(t, []SandboxTimer{{Node: "wait", Deadline: deadline}, {Node: "late", Task: "t1", Deadline: deadline.Add(time.Hour)}}, v.Timers)
	require.Equal(t, []string{"validate"}, v.Failed)
}

func TestSandboxServicesOfGraph(t *testing.T) {
	g, problems, err := designer.Compile(designer.PublicationBPMN, designer.Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	got := sandboxServices(g)
	require.Equal(t, map[string]string{"ingest": "civicflow.ingest", "validate": "civicflow.validate", "remind": "civicflow.notify",
		"publish": "civicflow.publish", "expose": "civicflow.expose"}, got)
}
