package designer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lintRules returns "id rule" for each problem of that severity.
func lintRules(ps []LintProblem, sev string) []string {
	var out []string
	for _, p := range ps {
		if p.Severity == sev {
			out = append(out, p.ElementID+" "+p.Rule)
		}
	}
	return out
}

const (
	lStart = `<bpmn:startEvent id="s" name="Début"/>`
	lEnd   = `<bpmn:endEvent id="e" name="Fin"/>`
	lTask  = `<bpmn:serviceTask id="t" name="Tâche" civicflow:activity="civicflow.noop"/>`
)

func lflow(id, src, dst string) string {
	return `<bpmn:sequenceFlow id="` + id + `" sourceRef="` + src + `" targetRef="` + dst + `"/>`
}

func lcond(id, src, dst, cond string) string {
	return `<bpmn:sequenceFlow id="` + id + `" sourceRef="` + src + `" targetRef="` + dst + `"><bpmn:conditionExpression>` + cond + `</bpmn:conditionExpression></bpmn:sequenceFlow>`
}

func TestLintRules(t *testing.T) {
	userTask := func(id, form string) string {
		return `<bpmn:userTask id="` + id + `" name="Revue" civicflow:role="steward" civicflow:form='` + form + `'/>`
	}
	decisionForm := `{"components":[{"key":"decision","type":"textfield","label":"Décision"}]}`
	cases := []struct {
		name             string
		body             string
		errors, warnings []string
	}{
		{name: "clean", body: lStart + lTask + lEnd + lflow("f1", "s", "t") + lflow("f2", "t", "e")},
		{name: "no start, no end", body: lTask,
			errors: []string{"p start-event-required", "p end-event-required", "t no-disconnected"}},
		{name: "disconnected task", body: lStart + lTask + lEnd + lflow("f1", "s", "e"),
			errors: []string{"t no-disconnected"}},
		{name: "implicit split", body: lStart + lTask + `<bpmn:serviceTask id="t2" name="B" civicflow:activity="civicflow.noop"/>` + lEnd +
			lflow("f1", "s", "t") + lflow("f2", "s", "t2") + lflow("f3", "t", "e") + lflow("f4", "t2", "e"),
			errors: []string{"s no-implicit-split"}},
		{name: "duplicate flows", body: lStart + lEnd + lflow("f1", "s", "e") + lflow("f2", "s", "e"),
			errors: []string{"f2 no-duplicate-sequence-flows", "s no-implicit-split"}},
		{name: "two blank starts", body: lStart + `<bpmn:startEvent id="s2" name="Autre"/>` + lEnd + lflow("f1", "s", "e") + lflow("f2", "s2", "e"),
			errors: []string{"p single-blank-start-event", "s2 civicflow/unreachable"}},
		{name: "superfluous gateway", body: lStart + `<bpmn:exclusiveGateway id="g"/>` + lEnd + lflow("f1", "s", "g") + lflow("f2", "g", "e"),
			warnings: []string{"g superfluous-gateway"}},
		{name: "conditional flows", body: userTask("u", decisionForm) + lStart + `<bpmn:exclusiveGateway id="g" name="Décision ?"/>` + lEnd + `<bpmn:endEvent id="e2" name="Autre fin"/>` +
			lflow("f0", "s", "u") + lflow("f1", "u", "g") + lcond("f2", "g", "e", `=decision = "ok"`) + lflow("f3", "g", "e2"),
			errors: []string{"f3 conditional-flows"}},
		{name: "label required", body: `<bpmn:startEvent id="s"/>` + `<bpmn:serviceTask id="t" civicflow:activity="civicflow.noop"/>` + lEnd + lflow("f1", "s", "t") + lflow("f2", "t", "e"),
			warnings: []string{"s label-required", "t label-required"}},
		{name: "gateway join and fork", body: lStart + `<bpmn:serviceTask id="t2" name="B" civicflow:activity="civicflow.noop"/>` + `<bpmn:parallelGateway id="g"/>` + lTask + lEnd + `<bpmn:endEvent id="e2" name="Fin 2"/>` +
			lflow("f1", "s", "g") + lflow("f2", "t2", "g") + lflow("f3", "g", "t") + lflow("f4", "g", "e2") + lflow("f5", "t", "e"),
			errors: []string{"g no-gateway-join-fork", "t2 civicflow/unreachable"}},
		{name: "fake join after exclusive split", body: userTask("u", decisionForm) + lStart + `<bpmn:exclusiveGateway id="x" name="Choix ?" default="f3"/>` +
			`<bpmn:serviceTask id="a" name="A" civicflow:activity="civicflow.noop"/><bpmn:serviceTask id="b" name="B" civicflow:activity="civicflow.noop"/>` +
			`<bpmn:parallelGateway id="j"/>` + lEnd +
			lflow("f0", "s", "u") + lflow("f1", "u", "x") + lcond("f2", "x", "a", `=decision = "a"`) + lflow("f3", "x", "b") +
			lflow("f4", "a", "j") + lflow("f5", "b", "j") + lflow("f6", "j", "e"),
			errors: []string{"j fake-join"}},
		{name: "outside the subset", body: lStart + `<bpmn:scriptTask id="sc" name="Script"/>` + lEnd + lflow("f1", "s", "sc") + lflow("f2", "sc", "e"),
			errors: []string{"sc civicflow/subset"}},
		{name: "unknown activity", body: lStart + `<bpmn:serviceTask id="t" name="X" civicflow:activity="acme.crm"/>` + lEnd + lflow("f1", "s", "t") + lflow("f2", "t", "e"),
			errors: []string{"t civicflow/unknown-activity"}},
		{name: "user task without candidates", body: lStart + `<bpmn:userTask id="u" name="Revue"/>` + lEnd + lflow("f1", "s", "u") + lflow("f2", "u", "e"),
			errors: []string{"u civicflow/candidate-groups"}},
		{name: "condition reads an unknown variable", body: userTask("u", decisionForm) + lStart + `<bpmn:exclusiveGateway id="g" name="Décision ?" default="f3"/>` + lEnd + `<bpmn:endEvent id="e2" name="Autre fin"/>` +
			lflow("f0", "s", "u") + lflow("f1", "u", "g") + lcond("f2", "g", "e", `=amount > 10 and decision = "ok"`) + lflow("f3", "g", "e2"),
			warnings: []string{"f2 civicflow/condition-variables"}},
		{name: "activity outputs feed conditions", body: lStart + `<bpmn:serviceTask id="v" name="Valider" civicflow:activity="civicflow.validate"/><bpmn:exclusiveGateway id="g" name="Valide ?" default="f3"/>` + lEnd + `<bpmn:endEvent id="e2" name="Autre fin"/>` +
			lflow("f0", "s", "v") + lflow("f1", "v", "g") + lcond("f2", "g", "e", `=valid = true`) + lflow("f3", "g", "e2")},
		{name: "form not deployed", body: lStart + `<bpmn:userTask id="u" name="Revue" civicflow:role="steward"><bpmn:extensionElements><zeebe:formDefinition formId="absent"/></bpmn:extensionElements></bpmn:userTask>` + lEnd + lflow("f1", "s", "u") + lflow("f2", "u", "e"),
			errors: []string{"u civicflow/form-deployed"}},
		{name: "deployed form fields feed conditions", body: lStart + `<bpmn:userTask id="u" name="Revue" civicflow:role="steward"><bpmn:extensionElements><zeebe:formDefinition formId="review"/></bpmn:extensionElements></bpmn:userTask>` +
			`<bpmn:exclusiveGateway id="g" name="Décision ?" default="f3"/>` + lEnd + `<bpmn:endEvent id="e2" name="Autre fin"/>` +
			lflow("f0", "s", "u") + lflow("f1", "u", "g") + lcond("f2", "g", "e", `=decision = "ok"`) + lflow("f3", "g", "e2")},
	}
	forms := func(id string) (*Form, error) {
		if id == "review" {
			return &Form{ID: id, Fields: []FormField{{Key: "decision", Type: "textfield"}}}, nil
		}
		return nil, nil
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := Lint(doc(tc.body), LintOptions{Form: forms})
			require.NoError(t, err)
			require.ElementsMatch(t, tc.errors, lintRules(ps, SeverityError), "%v", ps)
			require.ElementsMatch(t, tc.warnings, lintRules(ps, SeverityWarning), "%v", ps)
			for _, p := range ps {
				require.NotEmpty(t, p.Message, p.Rule)
				require.NotEmpty(t, p.MessageEN, p.Rule)
			}
		})
	}
}

func TestLintNotBPMN(t *testing.T) {
	ps, err := Lint([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`), LintOptions{})
	require.Error(t, err)
	require.Len(t, ps, 1)
	require.Equal(t, RuleNotBPMN, ps[0].Rule)
	require.Contains(t, ps[0].Message, "BPMN")
}

// TestLintDefaultFlows: the flows civicflow ships lint without errors.
func TestLintDefaultFlows(t *testing.T) {
	files, err := filepath.Glob("flows/*.bpmn")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		ps, err := Lint(b, LintOptions{})
		require.NoError(t, err)
		require.Empty(t, LintErrors(ps), f)
	}
}

// TestLintCamundaSamples: every element the compiler refuses in the real
// Camunda Modeler files is named by a lint error, with a French message.
func TestLintCamundaSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/camunda/*.bpmn")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			problems, err := Validate(b, Options{})
			require.NoError(t, err)
			ps, err := Lint(b, LintOptions{})
			require.NoError(t, err)
			errs := map[string]bool{}
			for _, p := range LintErrors(ps) {
				errs[p.ElementID] = true
				if p.Rule == RuleSubset && !strings.Contains(p.Message, "condition") && !strings.Contains(p.Message, "élément non pris") {
					require.NotContains(t, p.Message, "not supported", "French message: %s", p.Message)
				}
			}
			for _, p := range problems {
				require.True(t, errs[p.ElementID], "%s: compiler problem %q has no lint error", f, p)
			}
			if len(problems) == 0 {
				for _, p := range LintErrors(ps) {
					require.False(t, strings.HasPrefix(p.Rule, "civicflow/"), "%s: %s", f, p)
				}
			}
		})
	}
}
