package designer

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// linkedBPMN links the form "invoice" from two tasks (one in a
// sub-process), embeds another and names a Camunda 7 form key.
const linkedBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="linked" isExecutable="true">
    <bpmn:extensionElements><zeebe:userTaskForm id="emb">{"components":[{"key":"ok","type":"checkbox"}]}</zeebe:userTaskForm></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check"><bpmn:extensionElements><zeebe:formDefinition formId="invoice"/><zeebe:assignmentDefinition candidateGroups="steward"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:subProcess id="sub"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:startEvent id="s2"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="again"><bpmn:extensionElements><zeebe:formDefinition formId="invoice"/><zeebe:assignmentDefinition candidateGroups="steward"/></bpmn:extensionElements>
        <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
      <bpmn:userTask id="other"><bpmn:extensionElements><zeebe:formDefinition formId="unknown-form"/><zeebe:assignmentDefinition candidateGroups="steward"/></bpmn:extensionElements>
        <bpmn:incoming>g2</bpmn:incoming><bpmn:outgoing>g3</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="e2"><bpmn:incoming>g3</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="again"/>
      <bpmn:sequenceFlow id="g2" sourceRef="again" targetRef="other"/>
      <bpmn:sequenceFlow id="g3" sourceRef="other" targetRef="e2"/>
    </bpmn:subProcess>
    <bpmn:userTask id="embedded"><bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:emb"/><zeebe:assignmentDefinition candidateGroups="steward"/></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="sub"/>
    <bpmn:sequenceFlow id="f3" sourceRef="sub" targetRef="embedded"/>
    <bpmn:sequenceFlow id="f4" sourceRef="embedded" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>`

func TestResolveLinkedForms(t *testing.T) {
	compile := func() *Graph {
		g, problems, err := Compile([]byte(linkedBPMN), Options{})
		require.NoError(t, err)
		require.Empty(t, problems)
		return g
	}
	g := compile()
	require.Equal(t, map[string][]string{"invoice": {"again", "check"}, "unknown-form": {"other"}}, g.LinkedForms())

	data, err := os.ReadFile("testdata/camunda/camunda-bpm-examples__task-form.form")
	require.NoError(t, err)
	invoice, err := ParseForm(data)
	require.NoError(t, err)
	invoice.Version = 3
	lookup := func(id string) (*Form, error) {
		if id == "invoice" {
			return invoice, nil
		}
		return nil, nil
	}
	problems, err := g.ResolveForms(lookup)
	require.NoError(t, err)
	require.Equal(t, []Problem{{ElementID: "other", Message: `formId "unknown-form": no form with this id is deployed (deploy the .form file with POST /api/v1/forms first)`}}, problems)

	idx := g.Index()
	for _, task := range []string{"check", "again"} {
		f := idx[task].Node.User.Form
		require.Equal(t, "invoice", f.ID, "the id the flow links, whatever the JSON says")
		require.Equal(t, 3, f.Version)
		require.NotEmpty(t, f.Schema, "the schema travels in the compiled flow")
		require.Equal(t, []string{"amount: required", "approved: required", "creditor: required"}, f.CheckData(map[string]any{}),
			"completion data is checked against the linked form")
	}
	require.Equal(t, 0, idx["embedded"].Node.User.Form.Version, "embedded forms are not linked")
	require.Equal(t, []string{"invoice@3"}, g.FormVersions())

	// The same XML with another version of the form is another deployment.
	g2 := compile()
	invoice2 := *invoice
	invoice2.Version = 4
	_, err = g2.ResolveForms(func(id string) (*Form, error) { return &invoice2, nil })
	require.NoError(t, err)
	require.NotEqual(t, DeployChecksum([]byte(linkedBPMN), g), DeployChecksum([]byte(linkedBPMN), g2))
	require.Equal(t, Checksum([]byte(linkedBPMN)), DeployChecksum([]byte(linkedBPMN), compile()), "no linked form resolved: the XML's checksum")

	// Storage errors come back as they are.
	boom := errors.New("database down")
	_, err = compile().ResolveForms(func(string) (*Form, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
}

func TestFormIDPattern(t *testing.T) {
	for _, ok := range []string{"Form_0w7r08e", "test-basic-form", "invoice.v2", "_x"} {
		require.True(t, FormIDPattern.MatchString(ok), ok)
	}
	for _, bad := range []string{"", "1form", "a b", "a/b", strings.Repeat("a", 129), "é"} {
		require.False(t, FormIDPattern.MatchString(bad), bad)
	}
}

func TestCollecteFlowCompiles(t *testing.T) {
	g, problems, err := Compile(CollecteBPMN, Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, CollecteKey, g.ID)
	require.Equal(t, []string{"nightly"}, g.TimerStarts)
	require.Equal(t, TimerCycle, g.Nodes["nightly"].Timer.Type)
	c, err := ParseCycle(g.Nodes["nightly"].Timer.Value)
	require.NoError(t, err)
	require.Equal(t, 1, c.Interval.Days)
	require.Equal(t, "civicflow.collect", g.Nodes["collect"].Service.Activity)
	require.NotNil(t, g.Nodes["review"].User.Form)
}
