package app_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/browsertest"
)

// The browser designer in a real headless Chromium on the embedded
// engine: a designer opens the publication flow in the modeler (every
// element drawn, a user task's properties in the panel), renames a task
// and deploys with a comment: version 2 exists while a request started
// before keeps version 1. A Camunda file outside the subset is imported
// and refused in French on its offending element. axe-core runs on every
// page outside the bpmn.io canvas; the modeler page's load time is logged.
func TestBrowserDesigner(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	br := browsertest.Start(t)
	e := startApp(t)
	// bpmn.io's canvas is a third-party SVG widget (its palette and context
	// pad are not ours to fix); the rest of the page is.
	canvas := []string{".djs-container", ".bjs-container"}
	check := func(tab *browsertest.Tab, name string) {
		t.Helper()
		tab.Screenshot(name)
		tab.RequireAccessibleExcluding(name, canvas...)
		require.Empty(t, tab.ConsoleErrors(), "script errors on %s", name)
	}

	// A request started on version 1 (it waits for the steward's review).
	agent := e.login("agent.voirie")
	_, before := newSubmission(t, agent, "voirie", filepath.Join("testdata", "scdl-subventions.valid.csv"))
	e.login("steward.voirie").waitTask(before, "review")

	tab := br.NewPerson()
	tab.Navigate(e.base + "/login")
	tab.Fill("#username", "designer")
	tab.Fill("#password", "demo")
	tab.ClickAndWait("form[action='/login'] button[type=submit]")

	tab.Navigate(e.base + "/designer")
	require.Contains(t, tab.Text("main"), "Publication d'un jeu de données")
	check(tab, "designer-list")

	// The publication flow in the modeler.
	tab.ClickAndWait("a[href='/designer/flows/publication']")
	waitReady(t, tab)
	load := browsertest.Eval[map[string]float64](tab, `(() => {
		const n = performance.getEntriesByType('navigation')[0];
		return {domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, ready: window.civicflowDesigner.readyAt || 0};
	})()`)
	t.Logf("designer page /designer/flows/publication: DOMContentLoaded %.0f ms, load %.0f ms, diagram ready %.0f ms", load["domContentLoaded"], load["load"], load["ready"])
	// The target is 2 s (0.4–0.9 s measured on a quiet run, README § Designer);
	// the test fails only on what no load explains: this machine runs
	// other test packages beside this one.
	if load["ready"] > 2000 {
		t.Logf("over the 2 s target in this run (machine load: %s)", loadAverage())
	}
	require.Less(t, load["ready"], 15000.0, "the modeler page must be usable")

	// The bpmn.io watermark is visible and nothing covers it (its licence).
	require.True(t, browsertest.Eval[bool](tab, `(() => {
		const w = document.querySelector('#designer-canvas .bjs-powered-by');
		if (!w) return false;
		const r = w.getBoundingClientRect();
		if (r.width === 0 || r.height === 0 || getComputedStyle(w).visibility === 'hidden') return false;
		w.scrollIntoView({block: 'center'});
		const b = w.getBoundingClientRect();
		const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
		return !!hit && (hit === w || w.contains(hit));
	})()`), "the bpmn.io watermark must stay visible and uncovered")

	// Every element drawn: as many shapes and connections as the file has DI.
	shapes, edges := diCount(t, designer.PublicationBPMN)
	drawn := browsertest.Eval[map[string]int](tab, `(() => {
		const r = window.civicflowDesigner.modeler.get('elementRegistry');
		const all = r.filter(e => e.type !== 'label' && e.type !== 'bpmn:Process');
		return {shapes: all.filter(e => !e.waypoints).length, connections: all.filter(e => !!e.waypoints).length,
			gfx: document.querySelectorAll('#designer-canvas .djs-element.djs-shape, #designer-canvas .djs-element.djs-connection').length};
	})()`)
	require.Equal(t, shapes, drawn["shapes"], "shapes drawn")
	require.Equal(t, edges, drawn["connections"], "connections drawn")
	require.GreaterOrEqual(t, drawn["gfx"], shapes+edges, "every element has its SVG")
	// Round trip: the modeler's export compiles to the same graph as the file.
	exportedV1 := browsertest.Eval[string](tab, `window.civicflowDesigner.save()`)
	g1, p1, err := designer.Compile(designer.PublicationBPMN, designer.Options{})
	require.NoError(t, err)
	require.Empty(t, p1)
	g2, p2, err := designer.Compile([]byte(exportedV1), designer.Options{})
	require.NoError(t, err)
	require.Empty(t, p2, "the exported file compiles")
	semantic := func(g *designer.Graph) map[string]any { // the graph without the file's checksum
		var m map[string]any
		raw, _ := json.Marshal(g)
		require.NoError(t, json.Unmarshal(raw, &m))
		delete(m, "checksum")
		return m
	}
	require.Equal(t, semantic(g1), semantic(g2), "the modeler keeps every civicflow and zeebe attribute")

	// Every element template loaded (none silently dropped by the validator).
	tpl := browsertest.Eval[map[string]int](tab, `({loaded: window.civicflowDesigner.modeler.get('elementTemplates').getAll().length,
		served: window.civicflowDesigner.templates.length, errors: window.civicflowDesigner.templateErrors.length})`)
	require.Equal(t, len(designer.KnownActivities)+len(designer.TaskKinds), tpl["served"])
	require.Equal(t, tpl["served"], tpl["loaded"], "element templates loaded by the modeler (errors: %q)",
		browsertest.Eval[[]string](tab, `window.civicflowDesigner.templateErrors.map(e => String(e && e.message || e))`))

	// A user task selected shows its properties in the panel, in French.
	browsertest.Eval[bool](tab, `(async () => {
		const m = window.civicflowDesigner.modeler;
		m.get('selection').select(m.get('elementRegistry').get('review'));
		await new Promise(r => setTimeout(r, 300));
		return true;
	})()`)
	panel := tab.Text("#designer-props")
	require.Contains(t, panel, "Revue qualité")
	require.Contains(t, panel, "Général", "the panel's groups are in French")
	require.Contains(t, panel, "Attribution")
	check(tab, "designer-modeler-review-selected")
	// Other kinds of elements (service task, gateway, flow, event, timer, the process): their panels too.
	browsertest.Eval[bool](tab, `(async () => {
		const m = window.civicflowDesigner.modeler, r = m.get('elementRegistry');
		for (const id of ['ingest', 'isValid', 'f_valid', 'start', 'approvalOverdue', 'remind', 'publication']) {
			const el = r.get(id) || m.get('canvas').getRootElement();
			m.get('selection').select(el);
			await new Promise(res => setTimeout(res, 150));
			document.querySelectorAll('#designer-props .bio-properties-panel-group-header').forEach(h => h.click());
			await new Promise(res => setTimeout(res, 150));
		}
		m.get('selection').select(r.get('review'));
		return true;
	})()`)
	missing := browsertest.Eval[[]string](tab, `Object.keys(window.civicflowDesigner.missing).sort()`)
	require.Empty(t, missing, "strings of the modeler and its panel without French (add them to static/designer/translations-fr.js)")

	// Rename the task and deploy with a comment: version 2.
	browsertest.Eval[bool](tab, `(() => {
		const m = window.civicflowDesigner.modeler;
		m.get('modeling').updateProperties(m.get('elementRegistry').get('review'), {name: 'Revue qualité des données'});
		return true;
	})()`)
	tab.Fill("#designer-comment", "Renommage de la revue")
	tab.Click("#designer-deploy button[type=submit]")
	status := waitStatus(t, tab, "Version 2")
	require.Contains(t, status, "publication")
	check(tab, "designer-deployed-v2")

	var flow struct {
		LatestVersion int `json:"latestVersion"`
		Versions      []struct {
			Version    int    `json:"version"`
			DeployedBy string `json:"deployedBy"`
		} `json:"versions"`
	}
	des := e.login("designer")
	require.Equal(t, 200, des.json(http.MethodGet, "/api/v1/flows/publication", nil, &flow))
	require.Equal(t, 2, flow.LatestVersion)
	require.Equal(t, "designer", flow.Versions[0].DeployedBy)
	var inst map[string]any
	require.Equal(t, 200, agent.json(http.MethodGet, "/api/v1/instances/"+before, nil, &inst))
	require.EqualValues(t, 1, inst["version"], "the request started before keeps version 1")

	// Import a Camunda file outside the subset: refused in French, on the element.
	sample, err := filepath.Abs("../../designer/testdata/camunda/lib-bpmn-engine__inclusive-gateway-multiple-tasks.bpmn")
	require.NoError(t, err)
	tab.Do("import a file", chromedp.SetUploadFiles(chromedp.CSS("#designer-file"), []string{sample}))
	waitStatus(t, tab, "Fichier importé")
	tab.Click("#designer-deploy button[type=submit]")
	tab.WaitVisible("#designer-problems")
	problems := tab.Text("#designer-problems")
	require.Contains(t, problems, "Déploiement refusé")
	require.Contains(t, problems, "passerelles inclusives ne sont pas prises en charge")
	gw := browsertest.Eval[string](tab, `window.civicflowDesigner.modeler.get('elementRegistry').filter(e => e.type === 'bpmn:InclusiveGateway').map(e => e.id)[0] || ''`)
	require.NotEmpty(t, gw)
	require.Contains(t, problems, gw, "the refusal names the offending element")
	require.True(t, browsertest.Eval[bool](tab, fmt.Sprintf(`window.civicflowDesigner.modeler.get('canvas').hasMarker(%q, 'cf-problem')`, gw)), "the offending element is highlighted")
	check(tab, "designer-import-refused")

	// Every Camunda sample: imported, then deployed or refused on elements of the diagram.
	samples, err := filepath.Glob("../../designer/testdata/camunda/*.bpmn")
	require.NoError(t, err)
	require.NotEmpty(t, samples)
	deployed := 0
	for _, f := range samples {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		q, _ := json.Marshal(string(raw))
		res := browsertest.Eval[map[string]any](tab, `(async () => {
			const d = window.civicflowDesigner;
			try { await d.open(`+string(q)+`, 'échantillon'); } catch (e) { return {imported: false, error: String(e && e.message || e)}; }
			const r = await d.deploy('import ' + `+strconv.Quote(filepath.Base(f))+`);
			const reg = d.modeler.get('elementRegistry');
			const off = (r.problems || []).filter(p => p.element && !reg.get(p.element)).map(p => p.element);
			const onDiagram = (r.problems || []).filter(p => p.element && reg.get(p.element));
			const marked = onDiagram.filter(p => d.modeler.get('canvas').hasMarker(p.element, 'cf-problem')).length;
			const listed = document.querySelectorAll('#designer-problems-list li').length;
			return {imported: true, ok: !!r.ok, message: r.message || '', problems: (r.problems || []).length, notOnDiagram: off,
				marked: marked, unmarked: onDiagram.length - marked, listed: listed};
		})()`)
		name := filepath.Base(f)
		require.Equal(t, true, res["imported"], "%s: %v", name, res["error"])
		require.NotEmpty(t, res["message"], name)
		if res["ok"] == true {
			deployed++
			t.Logf("sample %s: deployed (%s)", name, res["message"])
			continue
		}
		require.NotZero(t, res["problems"], "%s refused without problems: %s", name, res["message"])
		t.Logf("sample %s: refused, %v problem(s), %v marked on the diagram, not on it: %v", name, res["problems"], res["marked"], res["notOnDiagram"])
		require.EqualValues(t, 0, res["unmarked"], "%s: every offending element of the diagram is marked", name)
		require.Equal(t, res["problems"], res["listed"], "%s: every problem is listed", name)
	}
	t.Logf("%d of %d Camunda samples deployed from the designer, the others refused on their elements", deployed, len(samples))
	require.Empty(t, tab.ConsoleErrors(), "script errors while importing the samples")

	// Export gives back the diagram's XML.
	exported := browsertest.Eval[string](tab, `window.civicflowDesigner.save()`)
	root := browsertest.Eval[string](tab, `window.civicflowDesigner.modeler.get('canvas').getRootElement().id`)
	require.Contains(t, exported, `<bpmn:process id="`+root+`"`)

	// A new flow from an empty diagram.
	tab.Navigate(e.base + "/designer/new")
	waitReady(t, tab)
	require.Equal(t, 1, browsertest.Eval[int](tab, `window.civicflowDesigner.modeler.get('elementRegistry').filter(e => e.type === 'bpmn:StartEvent').length`))
	// A service task picked from the templates: "Valider contre un schéma".
	applied := browsertest.Eval[map[string]string](tab, `(async () => {
		const m = window.civicflowDesigner.modeler;
		const r = m.get('elementRegistry'), start = r.get('start');
		const task = m.get('modeling').appendShape(start, m.get('elementFactory').createShape({type: 'bpmn:ServiceTask'}), {x: start.x + 200, y: start.y + 18});
		const et = m.get('elementTemplates');
		const tpl = et.getLatest('fr.civicflow.validate')[0];
		const done = et.applyTemplate(task, tpl);
		m.get('selection').select(done);
		await new Promise(res => setTimeout(res, 300));
		document.querySelectorAll('#designer-props .bio-properties-panel-group-header:not(.open)').forEach(h => h.click());
		await new Promise(res => setTimeout(res, 300));
		const xml = await window.civicflowDesigner.save();
		return {panel: document.getElementById('designer-props').textContent, xml: xml, name: tpl.name};
	})()`)
	require.Equal(t, "Valider contre un schéma", applied["name"])
	require.Contains(t, applied["panel"], "Valider contre un schéma")
	require.Contains(t, applied["panel"], "Jeu de données", "the activity's params in the panel")
	require.Contains(t, applied["xml"], `<zeebe:taskDefinition type="civicflow.validate" />`)
	require.Empty(t, browsertest.Eval[[]string](tab, `Object.keys(window.civicflowDesigner.missing).sort()`), "strings without French on the new flow page")
	check(tab, "designer-new-template")

	// Version 2 shows what changed since version 1: the renamed task.
	tab.Navigate(e.base + "/designer/flows/publication/versions/2")
	tab.Do("wait for the diagram", chromedp.WaitVisible(chromedp.CSS(`#diagram[data-ready="true"]`)))
	diff := tab.Text("#diff-list")
	require.Contains(t, diff, "modifié : « Revue qualité des données » (review)")
	require.NotContains(t, diff, "ajouté")
	require.True(t, browsertest.Eval[bool](tab, `!!document.querySelector('#diagram [data-element-id="review"].cf-changed')`), "the changed task is highlighted")
	require.Contains(t, tab.Text("main"), "Renommage de la revue", "the version's comment")
	check(tab, "designer-version-2-diff")

	// The read-only version 1 and its history.
	tab.Navigate(e.base + "/designer/flows/publication/versions/1")
	tab.Do("wait for the diagram", chromedp.WaitVisible(chromedp.CSS(`#diagram[data-ready="true"]`)))
	main := tab.Text("main")
	require.Contains(t, main, "version 2")
	require.Contains(t, main, "lecture seule")
	check(tab, "designer-version-1")

	// The vendored bundles' weight, as served (gzip).
	for _, a := range []string{"vendor/camunda-bpmn-js/camunda-cloud-modeler.production.min.js", "vendor/camunda-bpmn-js/camunda-cloud-modeler.css"} {
		req, _ := http.NewRequest(http.MethodGet, e.base+"/static/"+a, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		tr := &http.Transport{DisableCompression: true}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		require.NoError(t, err)
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), a)
		t.Logf("%s: %d bytes on the wire (gzip)", a, buf.Len())
	}
}

func waitReady(t *testing.T, tab *browsertest.Tab) {
	t.Helper()
	tab.Do("wait for the modeler", chromedp.WaitVisible(chromedp.CSS(`#designer[data-ready="true"]`)))
}

// waitStatus waits until the designer's status line contains want.
func waitStatus(t *testing.T, tab *browsertest.Tab, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := browsertest.Eval[string](tab, `document.getElementById('designer-status').textContent`)
		if strings.Contains(s, want) {
			return s
		}
		require.True(t, time.Now().Before(deadline), "status %q never said %q (problems: %s)", s, want,
			browsertest.Eval[string](tab, `document.getElementById('designer-problems').textContent`))
		time.Sleep(100 * time.Millisecond)
	}
}

// diCount counts the BPMNShape and BPMNEdge elements of a BPMN file.
func diCount(t *testing.T, b []byte) (shapes, edges int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "BPMNShape":
				shapes++
			case "BPMNEdge":
				edges++
			}
		}
	}
	require.NotZero(t, shapes)
	return shapes, edges
}

// loadAverage is the first field of /proc/loadavg ("?" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
