package designer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckCompletion(t *testing.T) {
	g, problems, err := Compile(PublicationBPMN, Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	review, correction := g.Nodes["review"].User, g.Nodes["correction"].User
	require.Equal(t, []string{"comment", "decision"}, review.CompletionKeys())
	require.Equal(t, []string{"comment", "file"}, correction.CompletionKeys())
	vars := map[string]any{"dataset": "voirie-arbres", "file": "f1", "initiator": "agent.voirie", "valid": true}

	readOnly := &UserTask{Form: &Form{Fields: []FormField{{Key: "valid", ValueType: "boolean", ReadOnly: true}, {Key: "note", ValueType: "string"}}}}
	outputsOnly := &UserTask{Outputs: []Mapping{{Source: `decision == "ok" && score.value > 3`, Target: "approved"}}}
	byReference := &UserTask{Form: &Form{ID: "kept-elsewhere"}}
	for _, tt := range []struct {
		name string
		task *UserTask
		data map[string]any
		want string // "" = accepted; else a substring of the messages
	}{
		{"declared keys", review, map[string]any{"decision": "approve", "comment": "ok"}, ""},
		{"another department's dataset", review, map[string]any{"decision": "approve", "dataset": "finances-budget"},
			"dataset: not declared by the task's form (the task accepts comment, decision)"},
		{"several undeclared keys, named", review, map[string]any{"decision": "approve", "normalized": "abc", "file": "f9"},
			"file, normalized: not declared"},
		{"form rules still apply", review, map[string]any{"decision": "maybe"}, `decision: "maybe" is not one of`},
		{"a corrected file through the form", correction, map[string]any{"file": "f2", "comment": "fixed"}, ""},
		{"read-only field unchanged", readOnly, map[string]any{"valid": true, "note": "x"}, ""},
		{"read-only field changed", readOnly, map[string]any{"valid": false}, "valid: read-only"},
		{"no form: the keys outputs read", outputsOnly, map[string]any{"decision": "ok", "score": map[string]any{"value": 4.0}}, ""},
		{"no form: other keys refused", outputsOnly, map[string]any{"decision": "ok", "dataset": "x"}, "dataset: not declared"},
		{"form by reference: only what outputs read", byReference, map[string]any{"anything": 1}, "anything: not declared by the task's form (this task takes no data)"},
		{"no form, no outputs: no data", &UserTask{}, map[string]any{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs := strings.Join(tt.task.CheckCompletion(tt.data, vars), "; ")
			if tt.want == "" {
				require.Empty(t, msgs)
			} else {
				require.Contains(t, msgs, tt.want)
			}
		})
	}

	// A form compiled before the deploy check that declares dataset still
	// cannot change it.
	old := &UserTask{Form: &Form{Fields: []FormField{{Key: "dataset", ValueType: "string"}}}}
	require.Contains(t, old.CheckCompletion(map[string]any{"dataset": "finances-budget"}, vars)[0], "dataset: fixed when the instance started")
	require.Empty(t, old.CheckCompletion(map[string]any{"dataset": "voirie-arbres"}, vars), "the same value changes nothing")
}

func TestBoundVariablesRefusedAtDeploy(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"output mapping onto dataset", `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>
<bpmn:serviceTask id="t" civicflow:activity="x"><bpmn:extensionElements><zeebe:ioMapping><zeebe:output source="=other" target="dataset"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>`, `output mapping target "dataset"`},
		{"input mapping onto file", `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>
<bpmn:userTask id="t" civicflow:role="steward"><bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=x" target="file.id"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:userTask>
<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>`, `input mapping target "file.id"`},
		{"form field dataset", `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>
<bpmn:userTask id="t" civicflow:role="steward" civicflow:form='{"components":[{"key":"dataset","type":"textfield"}]}'/>
<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e"/><bpmn:endEvent id="e"/>`, `form field "dataset"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, problems, err := Compile(doc(tt.body), Options{AnyActivity: true})
			require.NoError(t, err)
			require.Len(t, problems, 1, "%v", problems)
			require.Equal(t, "t", problems[0].ElementID)
			require.Contains(t, problems[0].Message, tt.want)
		})
	}
}
