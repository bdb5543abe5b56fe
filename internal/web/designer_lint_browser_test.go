package web_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
)

// lintDiagram is start → exclusive split → a | b → join → end, with its
// diagram; join is a parallel gateway (deadlock: fake-join) or an exclusive
// one (fixed). Task b has no name (a label-required warning).
func lintDiagram(join string) string {
	shape := func(id string, x, y, w, h int) string {
		return `<bpmndi:BPMNShape id="` + id + `_di" bpmnElement="` + id + `"><dc:Bounds x="` + strconv.Itoa(x) + `" y="` + strconv.Itoa(y) + `" width="` + strconv.Itoa(w) + `" height="` + strconv.Itoa(h) + `"/></bpmndi:BPMNShape>`
	}
	edge := func(id string, pts ...int) string {
		s := `<bpmndi:BPMNEdge id="` + id + `_di" bpmnElement="` + id + `">`
		for i := 0; i < len(pts); i += 2 {
			s += `<di:waypoint x="` + strconv.Itoa(pts[i]) + `" y="` + strconv.Itoa(pts[i+1]) + `"/>`
		}
		return s + `</bpmndi:BPMNEdge>`
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d" targetNamespace="t">
<bpmn:process id="lintee" isExecutable="true">
  <bpmn:startEvent id="s" name="Début"/>
  <bpmn:exclusiveGateway id="x" name="Montant ?" default="f3"/>
  <bpmn:serviceTask id="a" name="Gros montant" civicflow:activity="civicflow.noop"/>
  <bpmn:serviceTask id="b" civicflow:activity="civicflow.noop"/>
  <bpmn:` + join + ` id="j"/>
  <bpmn:endEvent id="e" name="Fin"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x"/>
  <bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="a"><bpmn:conditionExpression>=amount &gt; 10</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f3" sourceRef="x" targetRef="b"/>
  <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="j"/>
  <bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="j"/>
  <bpmn:sequenceFlow id="f6" sourceRef="j" targetRef="e"/>
</bpmn:process>
<bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="lintee">` +
		shape("s", 100, 182, 36, 36) + shape("x", 190, 175, 50, 50) + shape("a", 290, 80, 100, 80) + shape("b", 290, 240, 100, 80) +
		shape("j", 440, 175, 50, 50) + shape("e", 540, 182, 36, 36) +
		edge("f1", 136, 200, 190, 200) + edge("f2", 215, 175, 215, 120, 290, 120) + edge("f3", 215, 225, 215, 280, 290, 280) +
		edge("f4", 390, 120, 465, 120, 465, 175) + edge("f5", 390, 280, 465, 280, 465, 225) + edge("f6", 490, 200, 540, 200) +
		`</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>`
}

// lintHarness is a page of this test only: bpmn-js's navigated viewer (the
// modeler is the designer page's) with lint.js attached to it.
const lintHarness = `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Banc d'essai du lint</title>
<link rel="stylesheet" href="/static/vendor/bpmn-js/diagram-js.css">
<link rel="stylesheet" href="/static/vendor/bpmn-js/bpmn-js.css">
<link rel="stylesheet" href="/static/vendor/bpmn-js/bpmn-embedded.css">
<link rel="stylesheet" href="/static/designer/lint.css">
</head><body><main>
<h1>Banc d'essai du lint</h1>
<div id="canvas" style="height:420px;border:1px solid #ccc"></div>
<section aria-labelledby="pb"><h2 id="pb">Problèmes</h2><div id="lint-problems"></div></section>
</main>
<script src="/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"></script>
<script src="/static/designer/lint.js"></script>
<script>
window.lintCalls = 0;
var realFetch = window.fetch;
window.fetch = function () { window.lintCalls++; return realFetch.apply(this, arguments); };
window.viewer = new BpmnJS({ container: '#canvas' });
window.lint = civicflowLint.attach(window.viewer, { endpoint: '/designer/lint' });
fetch('/lint-harness.bpmn').then(function (r) { return r.text(); })
  .then(function (xml) { return window.viewer.importXML(xml); })
  .then(function () { window.viewer.get('canvas').zoom('fit-viewport'); });
</script></body></html>`

func TestBrowserLintOverlays(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	b := browsertest.Start(t)
	pb := peopleSetup(t)
	app := pb.srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/lint-harness":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(lintHarness))
		case "/lint-harness.bpmn":
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write([]byte(lintDiagram("parallelGateway")))
		default:
			app.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	tab := b.NewTab()
	signIn(t, tab, ts.URL, "designer", "demo")

	tab.Navigate(ts.URL + "/lint-harness")
	waitLint := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for browsertest.Eval[string](tab, `document.getElementById('lint-problems').getAttribute('data-lint') || ''`) != "done" {
			require.True(t, time.Now().Before(deadline), "lint did not finish: %s", tab.Text("#lint-problems"))
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitLint()

	// The deadlock: a red badge and marker on the join, an amber one on the
	// unnamed task, and the French list.
	require.Equal(t, "j", browsertest.Eval[string](tab, `[...document.querySelectorAll('.cf-lint-badge--error')].map(b => b.dataset.element).join(',')`))
	// (and on f2, whose condition reads a variable nothing produces)
	require.Equal(t, "b,f2", browsertest.Eval[string](tab, `[...document.querySelectorAll('.cf-lint-badge--warning')].map(b => b.dataset.element).sort().join(',')`))
	require.True(t, browsertest.Eval[bool](tab, `document.querySelector('[data-element-id="j"]').classList.contains('cf-lint-error')`))
	require.True(t, browsertest.Eval[bool](tab, `document.querySelector('[data-element-id="b"]').classList.contains('cf-lint-warning')`))
	list := tab.Text("#lint-problems")
	require.Contains(t, list, "1 erreur, 2 avertissements")
	require.Contains(t, list, "Blocage")
	require.Equal(t, "polite", browsertest.Eval[string](tab, `document.getElementById('lint-problems').getAttribute('aria-live')`))
	tab.Screenshot("designer-lint-deadlock")
	tab.RequireAccessible("the lint harness")

	// A problem of the list selects its element; so does a badge.
	tab.Click(`#lint-problems .cf-lint-goto[data-element="j"]`)
	require.Equal(t, "j", browsertest.Eval[string](tab, `window.viewer.get('selection').get().map(e => e.id).join(',')`))
	tab.Click(`.cf-lint-badge[data-element="b"]`)
	require.Equal(t, "b", browsertest.Eval[string](tab, `window.viewer.get('selection').get().map(e => e.id).join(',')`))

	// Changes are linted once, 400 ms after the last one.
	before := browsertest.Eval[int](tab, `window.lintCalls`)
	browsertest.Eval[bool](tab, `(() => { const bus = window.viewer.get('eventBus'); for (let i = 0; i < 5; i++) bus.fire('commandStack.changed', {}); return true })()`)
	time.Sleep(150 * time.Millisecond)
	require.Equal(t, before, browsertest.Eval[int](tab, `window.lintCalls`), "debounced")
	waitLint()
	time.Sleep(600 * time.Millisecond)
	waitLint()
	require.Equal(t, before+1, browsertest.Eval[int](tab, `window.lintCalls`))

	// Fixed (an exclusive join): the error is gone, the warning stays.
	browsertest.Eval[bool](tab, `window.viewer.importXML(`+strconvQuoteJS(lintDiagram("exclusiveGateway"))+`).then(() => true)`)
	time.Sleep(100 * time.Millisecond)
	waitLint()
	require.Equal(t, 0, browsertest.Eval[int](tab, `document.querySelectorAll('.cf-lint-badge--error').length`))
	require.False(t, browsertest.Eval[bool](tab, `document.querySelector('[data-element-id="j"]').classList.contains('cf-lint-error')`))
	require.Contains(t, tab.Text("#lint-problems"), "Aucune erreur, 2 avertissements")
	require.Empty(t, tab.ConsoleErrors())
	tab.Screenshot("designer-lint-fixed")
}

// strconvQuoteJS quotes s as a JavaScript string literal (JSON).
func strconvQuoteJS(s string) string {
	q := strconv.Quote(s)
	return strings.ReplaceAll(q, "\\'", "'")
}
