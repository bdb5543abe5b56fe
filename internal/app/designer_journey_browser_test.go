package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
)

// The designer's journey (issue #11): a form is deployed, a designer draws
// a flow on /designer/new with the modeler's API (start → user task on the
// form for the agents → exclusive gateway → a service task from the
// element templates → end events), sees the linter flag the gateway's
// flows without conditions, fixes them, tries the draft in the sandbox
// ("Essayer": its task in the side panel), deploys; an agent starts a request
// of the flow, completes the task with the form from /tasks, and the
// request ends completed.
func TestBrowserDesignerJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	br := browsertest.Start(t)
	e := startApp(t)
	canvas := []string{".djs-container", ".bjs-container"}
	check := func(tab *browsertest.Tab, name string, exclude ...string) {
		t.Helper()
		tab.Screenshot(name)
		tab.RequireAccessibleExcluding(name, exclude...)
		require.Empty(t, tab.ConsoleErrors(), "script errors on %s", name)
	}
	waitJS := func(tab *browsertest.Tab, what, expr string) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second) // a loaded CI machine
		for !browsertest.Eval[bool](tab, expr) {
			require.True(t, time.Now().Before(deadline), "timed out waiting for %s (lint: %s)", what,
				browsertest.Eval[string](tab, `Array.from(document.querySelectorAll('.cf-lint-badge')).map(b => b.getAttribute('data-element') + ': ' + b.title).join(' | ')`))
			time.Sleep(200 * time.Millisecond)
		}
	}

	des := e.login("designer")
	form := map[string]any{"id": "avis-voirie", "type": "default", "components": []any{
		map[string]any{"key": "decision", "label": "Décision", "type": "radio", "validate": map[string]any{"required": true},
			"values": []any{map[string]any{"label": "Accepter", "value": "ok"}, map[string]any{"label": "Refuser", "value": "ko"}}},
	}}
	require.Equal(t, 201, des.json(http.MethodPost, "/api/v1/forms", form, nil))

	tab := br.NewPerson()
	tab.Navigate(e.base + "/login")
	tab.Fill("#username", "designer")
	tab.Fill("#password", "demo")
	tab.ClickAndWait("form[action='/login'] button[type=submit]")
	tab.Navigate(e.base + "/designer/new")
	waitReady(t, tab)

	// Draw: start → user task → gateway → (service task → end) | end.
	browsertest.Eval[bool](tab, `(() => {
		const m = window.civicflowDesigner.modeler;
		const modeling = m.get('modeling'), ef = m.get('elementFactory'), bf = m.get('bpmnFactory'), r = m.get('elementRegistry');
		const start = r.get('start');
		const task = modeling.appendShape(start, ef.createShape({type: 'bpmn:UserTask'}), {x: start.x + 200, y: start.y + 18});
		modeling.updateProperties(task, {id: 'avis', name: 'Donner un avis'});
		modeling.updateProperties(task, {extensionElements: bf.create('bpmn:ExtensionElements', {values: [
			bf.create('zeebe:FormDefinition', {formId: 'avis-voirie'}),
			bf.create('zeebe:AssignmentDefinition', {candidateGroups: 'agent'})]})});
		const gw = modeling.appendShape(task, ef.createShape({type: 'bpmn:ExclusiveGateway'}), {x: task.x + 250, y: task.y + 40});
		modeling.updateProperties(gw, {id: 'choix', name: 'Avis ?'});
		const svc = modeling.appendShape(gw, ef.createShape({type: 'bpmn:ServiceTask'}), {x: gw.x + 200, y: gw.y - 80});
		const et = m.get('elementTemplates');
		const done = et.applyTemplate(svc, et.getLatest('fr.civicflow.noop')[0]);
		modeling.updateProperties(done, {id: 'jalon'});
		modeling.appendShape(done, ef.createShape({type: 'bpmn:EndEvent'}), {x: done.x + 200, y: done.y + 40});
		modeling.appendShape(gw, ef.createShape({type: 'bpmn:EndEvent'}), {x: gw.x + 200, y: gw.y + 150});
		return true;
	})()`)
	require.Equal(t, 2, browsertest.Eval[int](tab, `window.civicflowDesigner.modeler.get('elementRegistry').get('choix').outgoing.length`))
	require.Contains(t, browsertest.Eval[string](tab, `window.civicflowDesigner.save()`), `civicflow.noop`)

	// The linter flags the gateway's flows without conditions: red markers
	// and badges on the flows, and the page's French problems list.
	flagged := `(() => {
		const m = window.civicflowDesigner.modeler, c = m.get('canvas');
		return m.get('elementRegistry').get('choix').outgoing.map(f => f.id).filter(id =>
			c.hasMarker(id, 'cf-lint-error') || !!document.querySelector('.cf-lint-badge[data-element="' + id + '"]'));
	})()`
	waitJS(tab, "a lint problem on the gateway's flows", flagged+`.length === 2`)
	require.Contains(t, browsertest.Eval[string](tab, `Array.from(document.querySelectorAll('.cf-lint-badge')).map(b => b.title).join('\n')`), "passerelle exclusive")
	require.Contains(t, tab.Text("#lint-problems"), "passerelle exclusive")
	check(tab, "journey-lint-problem", canvas...)

	// Fix: a condition on each flow.
	browsertest.Eval[bool](tab, `(() => {
		const m = window.civicflowDesigner.modeler, bf = m.get('bpmnFactory'), modeling = m.get('modeling');
		for (const f of m.get('elementRegistry').get('choix').outgoing) {
			const body = f.target.type === 'bpmn:ServiceTask' ? '=decision = "ok"' : '=decision = "ko"';
			modeling.updateProperties(f, {conditionExpression: bf.create('bpmn:FormalExpression', {body: body})});
		}
		return true;
	})()`)
	waitJS(tab, "the lint problem gone", flagged+`.length === 0`)
	check(tab, "journey-lint-fixed", canvas...)

	// Tried before deploying: the draft runs in the sandbox, its user task
	// shows in the side panel with its real form; the try is then stopped.
	tab.Click("#designer-try")
	avis := `#designer-try-panel .designer-try-task[data-node="avis"]`
	waitPanel(t, tab, avis+`[data-viewer="ready"]`)
	require.Contains(t, tab.Text(avis), "Accepter", "the task's form in the try panel")
	waitMarker(t, tab, "avis", "cf-try-active")
	check(tab, "journey-try", canvas...)
	tab.Click("#designer-try-stop")
	stopBy := time.Now().Add(60 * time.Second)
	for !strings.Contains(tab.Text("#designer-try-status"), "arrêté") {
		require.True(t, time.Now().Before(stopBy), "the try never stopped: %s", tab.Text("#designer-try-status"))
		time.Sleep(200 * time.Millisecond)
	}

	// Deploy with a comment: version 1.
	tab.Fill("#designer-comment", "Première version")
	tab.Click("#designer-deploy button[type=submit]")
	waitStatus(t, tab, "Version 1")
	key := browsertest.Eval[string](tab, `document.getElementById('designer').getAttribute('data-key')`)
	require.NotEmpty(t, key)
	check(tab, "journey-deployed", canvas...)
	var flow struct {
		LatestVersion int `json:"latestVersion"`
	}
	require.Equal(t, 200, des.json(http.MethodGet, "/api/v1/flows/"+key, nil, &flow))
	require.Equal(t, 1, flow.LatestVersion)

	// An agent starts a request and completes the task with the form.
	agent := e.login("agent.voirie")
	var started map[string]any
	require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": key, "department": "voirie", "variables": map[string]any{}}, &started), "%v", started)
	id, _ := started["id"].(string)
	require.NotEmpty(t, id)

	at := br.NewPerson()
	at.Navigate(e.base + "/login")
	at.Fill("#username", "agent.voirie")
	at.Fill("#password", "demo")
	at.ClickAndWait("form[action='/login'] button[type=submit]")
	deadline := time.Now().Add(90 * time.Second)
	for {
		at.Navigate(e.base + "/tasks")
		if strings.Contains(at.Text("main"), "Donner un avis") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the task never reached the agent's inbox")
		time.Sleep(500 * time.Millisecond)
	}
	check(at, "journey-inbox")
	at.ClickAndWait("main a[href^='/tasks/'][href*='.avis.']")
	at.WaitVisible("#task-form[data-viewer='ready']")
	check(at, "journey-task")
	chooseDecision(t, at, "Accepter")
	at.ClickAndWait("#task-form button[type=submit]")
	inst := agent.waitStatus(id, "completed")
	require.Equal(t, "completed", inst["status"])
	check(at, "journey-after-task")
}
