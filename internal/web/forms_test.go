package web_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const formSamples = "../../designer/testdata/camunda/"

// reviewForm is a form-js document as Camunda Modeler saves it.
const reviewForm = `{
  "id": "revue-qualite",
  "type": "default",
  "schemaVersion": 16,
  "components": [
    {"type": "text", "text": "## Revue"},
    {"key": "decision", "label": "Décision", "type": "radio", "validate": {"required": true},
     "values": [{"label": "Approuver", "value": "approve"}, {"label": "Rejeter", "value": "reject"}]},
    {"key": "comment", "label": "Commentaire", "type": "textarea"}
  ]
}`

// linkedFlow links the form "revue-qualite" by id, as Camunda 8 does.
const linkedFlow = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="revue" name="Revue" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Revue qualité">
      <bpmn:extensionElements><zeebe:formDefinition formId="revue-qualite"/><zeebe:assignmentDefinition candidateGroups="steward"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>`

func TestFormsDeployAndLink(t *testing.T) {
	b := peopleSetup(t)
	designer := "Bearer " + b.login(t, "designer")
	agent := "Bearer " + b.login(t, "agent.voirie")

	// A flow linking a form that is not deployed: 422 naming the task.
	r := b.do("POST", "/api/v1/flows", linkedFlow, designer, "")
	require.Equal(t, 422, r.status, r.body)
	prob := r.json(t)
	require.Contains(t, prob["detail"], "not deployed")
	require.Equal(t, "review", prob["problems"].([]any)[0].(map[string]any)["element"])
	require.Contains(t, prob["problems"].([]any)[0].(map[string]any)["message"], `formId "revue-qualite"`)

	// Only designers and admins deploy forms.
	require.Equal(t, 403, b.do("POST", "/api/v1/forms", reviewForm, agent, "").status)
	r = b.do("POST", "/api/v1/forms", reviewForm, designer, "")
	require.Equal(t, 201, r.status, r.body)
	dep := r.json(t)
	require.Equal(t, "revue-qualite", dep["id"])
	require.EqualValues(t, 1, dep["version"])
	require.Len(t, dep["fields"], 2)
	// The same form again (reformatted): the same version.
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, []byte(reviewForm)))
	r = b.do("POST", "/api/v1/forms", compact.String(), designer, "")
	require.Equal(t, 200, r.status, r.body)
	require.EqualValues(t, 1, r.json(t)["version"])

	// Now the flow deploys, and its compiled graph carries the schema.
	r = b.do("POST", "/api/v1/flows", linkedFlow, designer, "")
	require.Equal(t, 201, r.status, r.body)
	require.EqualValues(t, 1, r.json(t)["version"])
	graph := b.do("GET", "/api/v1/flows/revue?format=graph", "", agent, "")
	require.Equal(t, 200, graph.status, graph.body)
	var g struct {
		Nodes map[string]struct {
			User struct {
				Form struct {
					ID      string
					Version int
					Schema  json.RawMessage
					Fields  []struct{ Key string }
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(graph.body), &g))
	f := g.Nodes["review"].User.Form
	require.Equal(t, "revue-qualite", f.ID)
	require.Equal(t, 1, f.Version)
	require.Contains(t, string(f.Schema), `"decision"`)
	require.Len(t, f.Fields, 2)

	// A new version of the form: the flow's version 1 keeps the old one;
	// deploying the same BPMN again makes version 2 with the new form.
	v2 := strings.Replace(reviewForm, `{"key": "comment", "label": "Commentaire", "type": "textarea"}`,
		`{"key": "comment", "label": "Commentaire", "type": "textarea", "validate": {"required": true}}`, 1)
	r = b.do("POST", "/api/v1/forms", v2, designer, "")
	require.Equal(t, 201, r.status, r.body)
	require.EqualValues(t, 2, r.json(t)["version"])
	r = b.do("POST", "/api/v1/flows", linkedFlow, designer, "")
	require.Equal(t, 201, r.status, r.body)
	require.EqualValues(t, 2, r.json(t)["version"])
	graph = b.do("GET", "/api/v1/flows/revue?format=graph&version=1", "", agent, "")
	require.NoError(t, json.Unmarshal([]byte(graph.body), &g))
	require.Equal(t, 1, g.Nodes["review"].User.Form.Version, "version 1 keeps the form it was deployed with")
	graph = b.do("GET", "/api/v1/flows/revue?format=graph", "", agent, "")
	require.NoError(t, json.Unmarshal([]byte(graph.body), &g))
	require.Equal(t, 2, g.Nodes["review"].User.Form.Version)
	r = b.do("POST", "/api/v1/flows", linkedFlow, designer, "")
	require.Equal(t, 200, r.status, "same XML, same forms: the same version")

	// Reading forms: any role that reads flows.
	r = b.do("GET", "/api/v1/forms", "", agent, "")
	require.Equal(t, 200, r.status, r.body)
	list := r.json(t)["forms"].([]any)
	require.Len(t, list, 1)
	require.EqualValues(t, 2, list[0].(map[string]any)["version"])
	r = b.do("GET", "/api/v1/forms/revue-qualite?version=1", "", agent, "")
	require.Equal(t, 200, r.status, r.body)
	one := r.json(t)
	require.EqualValues(t, 1, one["version"])
	require.Len(t, one["versions"], 2)
	require.Equal(t, "revue-qualite", one["schema"].(map[string]any)["id"])
	require.Equal(t, 404, b.do("GET", "/api/v1/forms/nope", "", agent, "").status)
	require.Equal(t, 404, b.do("GET", "/api/v1/forms/revue-qualite?version=9", "", agent, "").status)
	require.Equal(t, 400, b.do("GET", "/api/v1/forms/revue-qualite?version=x", "", agent, "").status)
}

func TestFormSamplesDeploy(t *testing.T) {
	b := peopleSetup(t)
	designer := "Bearer " + b.login(t, "designer")
	for file, id := range map[string]string{
		"camunda-8-js-sdk__test-basic-form.form": "test-basic-form",
		"zeebe-process-test__test-form-v2.form":  "Form_0w7r08e",
	} {
		data, err := os.ReadFile(formSamples + file)
		require.NoError(t, err)
		r := b.do("POST", "/api/v1/forms", string(data), designer, "")
		require.Equal(t, 201, r.status, "%s: %s", file, r.body)
		require.Equal(t, id, r.json(t)["id"])
	}
	// A .form without an id takes one from ?id=.
	data, err := os.ReadFile(formSamples + "camunda-bpm-examples__task-form.form")
	require.NoError(t, err)
	r := b.do("POST", "/api/v1/forms", string(data), designer, "")
	require.Equal(t, 422, r.status, r.body)
	require.Contains(t, r.json(t)["detail"], "?id=")
	r = b.do("POST", "/api/v1/forms?id=invoice-approval", string(data), designer, "")
	require.Equal(t, 201, r.status, r.body)
	require.Len(t, r.json(t)["fields"], 5)
}

func TestFormsRefuseBadInput(t *testing.T) {
	b := peopleSetup(t)
	designer := "Bearer " + b.login(t, "designer")
	tests := []struct {
		name, path, body string
		want             int
		detail           string
	}{
		{"empty", "/api/v1/forms", " ", 400, "empty"},
		{"not JSON", "/api/v1/forms", "<form/>", 422, "form-js"},
		{"a list", "/api/v1/forms", "[]", 422, "form-js"},
		{"no components", "/api/v1/forms", `{"id":"x"}`, 422, "components"},
		{"components not a list", "/api/v1/forms", `{"id":"x","components":{}}`, 422, "components"},
		{"duplicate keys", "/api/v1/forms", `{"id":"x","components":[{"key":"a","type":"textfield"},{"key":"a","type":"number"}]}`, 422, "twice"},
		{"bad id", "/api/v1/forms?id=a%2Fb", `{"components":[]}`, 422, "not valid"},
		{"too large", "/api/v1/forms", `{"id":"x","components":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do("POST", tt.path, tt.body, designer, "")
			require.Equal(t, tt.want, r.status, r.body)
			require.Contains(t, r.json(t)["detail"], tt.detail)
		})
	}
}
