package designer

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEveryActivityHasATemplate fails when an activity of KnownActivities
// has no catalogue entry (French label and help) and so no element
// template in the browser designer.
func TestEveryActivityHasATemplate(t *testing.T) {
	require.Len(t, Activities, len(KnownActivities), "Activities must describe exactly KnownActivities")
	tpls := map[string]ElementTemplate{}
	for _, tp := range ElementTemplates(TemplateOptions{Roles: []string{"agent"}, Departments: []string{"voirie"}, MailTemplates: []string{"approval-overdue"}}) {
		tpls[tp.ID] = tp
	}
	for _, name := range KnownActivities {
		a, ok := ActivityInfoOf(name)
		require.True(t, ok, "activity %s has no entry in designer.Activities", name)
		require.NotEmpty(t, a.Label, name)
		require.NotEmpty(t, a.Help, name)
		require.NotNil(t, a.Sample, "activity %s has no sample output for the sandbox", name)
		tp, ok := tpls[TemplateID(name)]
		require.True(t, ok, "activity %s has no element template", name)
		require.Equal(t, a.Label, tp.Name)
		require.Equal(t, "bpmn:ServiceTask", tp.ElementType.Value)
		require.Equal(t, name, tp.Properties[0].Value, "the hidden task type is the activity")
		require.Equal(t, "zeebe:taskDefinition", tp.Properties[0].Binding.Type)
		for _, p := range a.Params {
			require.NotEmpty(t, p.Label, "%s param %s", name, p.Name)
			require.NotEmpty(t, p.Help, "%s param %s", name, p.Name)
		}
	}
	for _, k := range TaskKinds {
		_, ok := tpls[TemplateID(strings.ToLower(k.Kind))]
		require.True(t, ok, "task kind %s has no template", k.Kind)
	}
	require.Len(t, tpls, len(KnownActivities)+len(TaskKinds), "template ids are unique")
}

// TestTemplatesCompile: a service task made with a template (activity as
// zeebe:taskDefinition type, params as task headers) compiles, and the
// params reach the graph; a user task made with the user task template
// compiles with its group, form, due date and four eyes.
func TestTemplatesCompile(t *testing.T) {
	xml := `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="h"/>
    <bpmn:serviceTask id="h" name="Appel">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="civicflow.http"/>
        <zeebe:taskHeaders><zeebe:header key="url" value="https://example.org/hook"/><zeebe:header key="timeout" value="30s"/></zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="h" targetRef="u"/>
    <bpmn:userTask id="u" name="Revue" civicflow:due="P5D" civicflow:fourEyes="initiator">
      <bpmn:extensionElements>
        <zeebe:userTask/>
        <zeebe:assignmentDefinition candidateGroups="steward@voirie"/>
        <zeebe:formDefinition formId="review"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="u" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>`
	g, problems, err := Compile([]byte(xml), Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	raw, _ := json.Marshal(g)
	require.Contains(t, string(raw), "https://example.org/hook")
	require.Contains(t, string(raw), "steward")
	require.Contains(t, string(raw), "P5D")
}

// TestModdleDescriptorCoversCompiler: every civicflow:… attribute the
// compiler reads is declared in the browser's moddle extension, so that
// the modeler keeps it (typed) on import and export.
func TestModdleDescriptorCoversCompiler(t *testing.T) {
	raw, err := os.ReadFile("../internal/web/ui/static/designer/civicflow-moddle.json")
	require.NoError(t, err)
	var d struct {
		URI   string `json:"uri"`
		Types []struct {
			Name       string                  `json:"name"`
			Properties []struct{ Name string } `json:"properties"`
		} `json:"types"`
	}
	require.NoError(t, json.Unmarshal(raw, &d))
	require.Equal(t, NSCivicflow, d.URI)
	declared := map[string]bool{}
	for _, ty := range d.Types {
		declared[strings.ToLower(ty.Name)] = true
		for _, p := range ty.Properties {
			declared[p.Name] = true
		}
	}
	src, err := os.ReadFile("compile.go")
	require.NoError(t, err)
	re := regexp.MustCompile(`(?:attr|ext1?)\(NSCivicflow, "([a-zA-Z]+)"\)`)
	found := 0
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		found++
		require.True(t, declared[m[1]], "civicflow:%s is read by the compiler but not declared in civicflow-moddle.json", m[1])
	}
	require.GreaterOrEqual(t, found, 7)
}

func TestProblemFR(t *testing.T) {
	require.Equal(t, "activité inconnue \"x\" (activités connues : a, b)", ProblemFR(`unknown activity "x" (known: a, b)`))
	require.Contains(t, ProblemFR(refusedReason["inclusiveGateway"]), "passerelles inclusives")
	require.Equal(t, "something new", ProblemFR("something new"))
}
