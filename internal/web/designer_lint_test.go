package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func lintFlowDoc(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d" targetNamespace="t">
<bpmn:process id="lintee" isExecutable="true">` + body + `</bpmn:process></bpmn:definitions>`
}

// A flow the compiler accepts but that deadlocks: a parallel join after an
// exclusive split.
var fakeJoinFlow = lintFlowDoc(`
  <bpmn:startEvent id="s" name="Début"/>
  <bpmn:exclusiveGateway id="x" name="Choix ?" default="f3"/>
  <bpmn:serviceTask id="a" name="A" civicflow:activity="civicflow.noop"/>
  <bpmn:serviceTask id="b" name="B" civicflow:activity="civicflow.noop"/>
  <bpmn:parallelGateway id="j"/>
  <bpmn:endEvent id="e" name="Fin"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x"/>
  <bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="a"><bpmn:conditionExpression>=amount &gt; 10</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="b"/>
  <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="j"/>
  <bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="j"/>
  <bpmn:sequenceFlow id="f6" sourceRef="j" targetRef="e"/>`)

// A valid flow with a warning (an unnamed task).
var warnedFlow = lintFlowDoc(`
  <bpmn:startEvent id="s" name="Début"/>
  <bpmn:serviceTask id="t" civicflow:activity="civicflow.noop"/>
  <bpmn:endEvent id="e" name="Fin"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>`)

func xmlPost(b peopleBundle, path, body, cred, ct string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", cred)
	rec := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func TestDesignerLintAndDeploy(t *testing.T) {
	b := peopleSetup(t)
	designer := "Bearer " + b.login(t, "designer")
	agent := "Bearer " + b.login(t, "agent.voirie")

	// The lint endpoint: designers only, French messages.
	require.Equal(t, 403, xmlPost(b, "/designer/lint", fakeJoinFlow, agent, "application/xml").Code)
	require.Equal(t, 415, xmlPost(b, "/designer/lint", fakeJoinFlow, designer, "text/plain").Code)
	rec := xmlPost(b, "/designer/lint", fakeJoinFlow, designer, "application/xml")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var ans struct {
		Problems []struct{ ElementID, Rule, Severity, Message string }
		Errors   int
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))
	require.Equal(t, 1, ans.Errors, rec.Body.String())
	found := false
	for _, p := range ans.Problems {
		if p.Rule == "fake-join" {
			found = true
			require.Equal(t, "j", p.ElementID)
			require.Equal(t, "error", p.Severity)
			require.Contains(t, p.Message, "Blocage")
		}
	}
	require.True(t, found, rec.Body.String())

	// Hostile or broken XML: a lint problem, never a 500.
	rec = xmlPost(b, "/designer/lint", `<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>`, designer, "application/xml")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "civicflow/not-bpmn")
	rec = xmlPost(b, "/designer/lint", "<a>"+strings.Repeat("x", 6<<20)+"</a>", designer, "application/xml")
	require.Equal(t, 413, rec.Code)

	// Deploy: refused on lint errors (problem+json naming the rule)…
	rec = xmlPost(b, "/api/v1/flows", fakeJoinFlow, designer, "application/xml")
	require.Equal(t, 422, rec.Code, rec.Body.String())
	require.Contains(t, rec.Header().Get("Content-Type"), "application/problem+json")
	var prob struct {
		Problems []struct{ Element, Rule, Severity, Message string }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &prob))
	require.Len(t, prob.Problems, 1, rec.Body.String())
	require.Equal(t, "j", prob.Problems[0].Element)
	require.Equal(t, "fake-join", prob.Problems[0].Rule)
	require.Contains(t, prob.Problems[0].Message, "deadlock")

	// …and warnings come back with the new version.
	rec = xmlPost(b, "/api/v1/flows", warnedFlow, designer, "application/xml")
	require.Equal(t, 201, rec.Code, rec.Body.String())
	var dep struct {
		Version  int
		Warnings []map[string]string
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &dep))
	require.Equal(t, 1, dep.Version)
	require.Len(t, dep.Warnings, 1, rec.Body.String())
	require.Equal(t, "t", dep.Warnings[0]["element"])
	require.Equal(t, "label-required", dep.Warnings[0]["rule"])
	require.NotEmpty(t, dep.Warnings[0]["messageFr"])
}
