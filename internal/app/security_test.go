package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store/storetest"
)

// Regression tests of issue 8 (points 1, 2 and 7): what a user of the API
// could do against their role, on a whole process (embedded Temporal,
// worker, HTTP), on SQLite and on PostgreSQL.

// eachDialect runs fn against a demo process on each database.
func eachDialect(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			fn(t, startAppOn(t, d.URL(t)))
		})
	}
}

// stageDataset creates a dataset of dept (as u) and stages file in it.
func stageDataset(t *testing.T, u *user, dept, title, schema, file string) (dataset, fileID string) {
	t.Helper()
	body := map[string]any{"title": title, "department": dept}
	if schema != "" {
		body["schema"] = schema
	}
	var ds map[string]any
	require.Equal(t, 201, u.json(http.MethodPost, "/api/v1/datasets", body, &ds), "create dataset: %v", ds)
	dataset = fmt.Sprint(ds["id"])
	st, f := u.upload("/api/v1/datasets/"+dataset+"/files", file)
	require.Equal(t, 201, st, "upload: %v", f)
	return dataset, fmt.Sprint(f["id"])
}

// start posts a start request and returns the status and the answer.
func start(u *user, dept string, vars map[string]any) (int, map[string]any) {
	out := map[string]any{}
	st := u.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "publication", "department": dept, "variables": vars}, &out)
	return st, out
}

func complete(u *user, taskID string, data map[string]any) (int, map[string]any) {
	out := map[string]any{}
	st := u.json(http.MethodPost, "/api/v1/tasks/"+taskID+"/complete", map[string]any{"data": data}, &out)
	return st, out
}

func releasesOf(t *testing.T, u *user, dataset string) []any {
	t.Helper()
	var ds map[string]any
	require.Equal(t, 200, u.json(http.MethodGet, "/api/v1/datasets/"+dataset, nil, &ds))
	rel, _ := ds["releases"].([]any)
	return rel
}

type auditRow struct {
	Actor, Action, Outcome, Department, Detail string
	ObjectType                                 string `json:"object_type"`
	ObjectID                                   string `json:"object_id"`
}

func auditOf(t *testing.T, admin *user, action string) []auditRow {
	t.Helper()
	var rows []auditRow
	require.Equal(t, 200, admin.json(http.MethodGet, "/api/v1/audit?action="+action, nil, &rows))
	return rows
}

func instanceRows(t *testing.T, e *env) int {
	t.Helper()
	var n int
	require.NoError(t, e.app.Store.DB().Get(&n, "SELECT COUNT(*) FROM instances"))
	return n
}

const validCSV = "testdata/scdl-subventions.valid.csv"

// Point 1: completion data cannot redirect the flow to another dataset, a
// corrected file must be the instance's dataset's, and a flow that names
// another department's dataset stops in an audited incident.
func TestSecurityTaskDataRedirect(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		agentV, stewardV, dgs := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs")
		agentF, stewardF, admin := e.login("agent.finances"), e.login("steward.finances"), e.login("admin")
		dsV, fileV := stageDataset(t, agentV, "voirie", "Subventions voirie", "scdl-subventions", validCSV)
		dsF, fileF := stageDataset(t, agentF, "finances", "Subventions finances", "scdl-subventions", validCSV)

		st, out := start(agentV, "voirie", map[string]any{"dataset": dsV, "file": fileV})
		require.Equal(t, 201, st, "%v", out)
		id := fmt.Sprint(out["id"])
		review := stewardV.waitTask(id, "review")
		// The attack of the issue: a review that names finances' dataset.
		st, out = complete(stewardV, review.ID, map[string]any{"decision": "approve", "dataset": dsF})
		require.Equal(t, 422, st, "%v", out)
		require.Contains(t, fmt.Sprint(out["detail"]), "dataset: not declared by the task's form")
		st, out = complete(stewardV, review.ID, map[string]any{"decision": "approve", "normalized": "0000", "valid": true})
		require.Equal(t, 422, st, "%v", out)
		require.Contains(t, fmt.Sprint(out["detail"]), "normalized, valid: not declared")
		st, out = complete(stewardV, review.ID, map[string]any{"decision": "approve", "file": fileF})
		require.Equal(t, 403, st, "another department's file: %v", out)
		st, _ = complete(stewardV, review.ID, map[string]any{"decision": "approve"})
		require.Equal(t, 200, st)
		approval := dgs.waitTask(id, "approval")
		st, _ = complete(dgs, approval.ID, map[string]any{"decision": "approve"})
		require.Equal(t, 200, st)
		inst := agentV.waitStatus(id, "completed")
		vars, _ := inst["variables"].(map[string]any)
		require.Equal(t, dsV, vars["dataset"])
		require.Len(t, releasesOf(t, agentV, dsV), 1, "the voirie dataset was published")
		require.Empty(t, releasesOf(t, stewardF, dsF), "finances' dataset was not touched")

		// The correction form names a file: only one of the instance's dataset.
		st, out = start(agentF, "finances", map[string]any{"dataset": dsF, "file": fileF})
		require.Equal(t, 201, st, "%v", out)
		idF := fmt.Sprint(out["id"])
		reviewF := stewardF.waitTask(idF, "review")
		st, _ = complete(stewardF, reviewF.ID, map[string]any{"decision": "changes", "comment": "colonnes"})
		require.Equal(t, 200, st)
		corr := agentF.waitTask(idF, "correction")
		st, out = complete(agentF, corr.ID, map[string]any{"file": fileV})
		require.Equal(t, 403, st, "another department's file: %v", out)
		st, out = complete(agentF, corr.ID, map[string]any{"file": "ghost"})
		require.Equal(t, 422, st, "%v", out)
		_, fileF2 := stageDataset(t, agentF, "finances", "Autre jeu", "", validCSV)
		st, out = complete(agentF, corr.ID, map[string]any{"file": fileF2})
		require.Equal(t, 422, st, "a file of another dataset of the department: %v", out)
		var files map[string]any
		require.Equal(t, 201, func() int { s, f := agentF.upload("/api/v1/datasets/"+dsF+"/files", validCSV); files = f; return s }())
		st, out = complete(agentF, corr.ID, map[string]any{"file": files["id"], "comment": "corrigé"})
		require.Equal(t, 200, st, "%v", out)
		stewardF.waitTask(idF, "review")
		require.Equal(t, 202, stewardF.json(http.MethodPost, "/api/v1/instances/"+idF+"/cancel", nil, nil))

		// A deployed flow naming another department's dataset in a param:
		// the activity refuses it, the instance is in incident, audited.
		designer := e.login("designer")
		probe := strings.NewReplacer("DATASET", dsF).Replace(probeBPMN)
		var dep map[string]any
		require.Equal(t, 201, e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(probe), &dep), "%v", dep)
		var started map[string]any
		require.Equal(t, 201, agentV.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "probe", "department": "voirie"}, &started))
		agentV.waitStatus(fmt.Sprint(started["id"]), "incident")
		// The details are for those who may resolve incidents (an agent reads a plain sentence).
		inc := e.login("steward.voirie").waitStatus(fmt.Sprint(started["id"]), "incident")
		require.Contains(t, mustJSON(t, inc["incidents"]), "belongs to department finances")
		refused := auditOf(t, admin, "data.refused")
		require.NotEmpty(t, refused)
		require.Equal(t, "denied", refused[0].Outcome)
		require.Equal(t, "voirie", refused[0].Department)
		require.Equal(t, dsF, refused[0].ObjectID)
		require.Empty(t, releasesOf(t, stewardF, dsF))
	})
}

const probeBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d" targetNamespace="t">
  <bpmn:process id="probe" name="Sonde" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="publish" name="Publier" civicflow:activity="civicflow.publish">
      <bpmn:extensionElements><civicflow:param name="dataset" value="DATASET"/></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publish"/>
    <bpmn:sequenceFlow id="f2" sourceRef="publish" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>`

// Point 1: a start names only the department's own dataset and files.
func TestSecurityStartForeignDataset(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		agentV, agentF, admin := e.login("agent.voirie"), e.login("agent.finances"), e.login("admin")
		dsV, fileV := stageDataset(t, agentV, "voirie", "Subventions voirie", "scdl-subventions", validCSV)
		_, fileV2 := stageDataset(t, agentV, "voirie", "Autre voirie", "", validCSV)
		dsF, fileF := stageDataset(t, agentF, "finances", "Subventions finances", "scdl-subventions", validCSV)
		for _, tt := range []struct {
			name string
			vars map[string]any
			want int
		}{
			{"the issue's attack: finances' dataset and file", map[string]any{"dataset": dsF, "file": fileF}, 403},
			{"own dataset, finances' file", map[string]any{"dataset": dsV, "file": fileF}, 403},
			{"finances' file alone", map[string]any{"file": fileF}, 403},
			{"finances' dataset alone", map[string]any{"dataset": dsF}, 403},
			{"unknown dataset", map[string]any{"dataset": "ghost", "file": fileV}, 422},
			{"unknown file", map[string]any{"dataset": dsV, "file": "nope"}, 422},
			{"another dataset's file", map[string]any{"dataset": dsV, "file": fileV2}, 422},
			{"a dataset id that is not text", map[string]any{"dataset": 42}, 422},
		} {
			t.Run(tt.name, func(t *testing.T) {
				st, out := start(agentV, "voirie", tt.vars)
				require.Equal(t, tt.want, st, "%v", out)
				require.NotEmpty(t, out["detail"])
			})
		}
		require.Zero(t, instanceRows(t, e), "no row for a refused start")
		denied := auditOf(t, admin, "instance.start")
		require.Len(t, denied, 4)
		for _, d := range denied {
			require.Equal(t, "denied", d.Outcome)
			require.Equal(t, "agent.voirie", d.Actor)
		}
		st, out := start(agentV, "voirie", map[string]any{"dataset": dsV, "file": fileV})
		require.Equal(t, 201, st, "%v", out)
		require.Equal(t, 1, instanceRows(t, e))
	})
}

// Point 2: the anonymisation policy is the steward's, audited, and no flow
// lifts it.
func TestSecurityAnonymisationPolicy(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		agent, steward, dgs, admin := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs"), e.login("admin")
		csv := filepath.Join(t.TempDir(), "beneficiaires.csv")
		require.NoError(t, os.WriteFile(csv, []byte("nom,montant,email\nDupont,120,jean.dupont@example.org\nMartin,80,m.martin@example.org\n"), 0o600))
		ds, file := stageDataset(t, agent, "voirie", "Bénéficiaires", "", csv)
		path := "/api/v1/datasets/" + ds
		policy := []map[string]any{{"field": "email", "method": "drop"}}

		var out map[string]any
		require.Equal(t, 403, agent.json(http.MethodPatch, path, map[string]any{"personalFields": policy}, &out), "%v", out)
		require.Equal(t, 200, steward.json(http.MethodPatch, path, map[string]any{"personalFields": policy}, &out), "%v", out)
		require.Equal(t, 403, agent.json(http.MethodPatch, path, map[string]any{"personalFields": []any{}}, &out), "the issue's attack: %v", out)
		require.Equal(t, 200, agent.json(http.MethodPatch, path, map[string]any{"description": "Aides versées", "personalFields": policy}, &out),
			"an agent may edit the rest, resending the same policy: %v", out)
		out = map[string]any{}
		require.Equal(t, 200, agent.json(http.MethodGet, path, nil, &out))
		require.JSONEq(t, `[{"field":"email","method":"drop"}]`, mustJSON(t, out["personalFields"]))

		// Every change is audited with before and after.
		updates := auditOf(t, admin, "dataset.update")
		require.Len(t, updates, 2)
		require.Equal(t, "agent.voirie", updates[0].Actor)
		require.JSONEq(t, `{"before":{"description":""},"after":{"description":"Aides versées"}}`, updates[0].Detail)
		require.Equal(t, "steward.voirie", updates[1].Actor)
		require.JSONEq(t, `{"before":{"personalFields":[]},"after":{"personalFields":[{"field":"email","method":"drop"}]}}`, updates[1].Detail)
		require.Len(t, auditOf(t, admin, "dataset.create"), 1)
		require.Len(t, auditOf(t, admin, "dataset.file"), 1)

		// A start variable cannot switch the policy off.
		st, out := start(agent, "voirie", map[string]any{"dataset": ds, "file": file, "anonymisation": []any{}})
		require.Equal(t, 422, st, "%v", out)
		require.Contains(t, mustJSON(t, out["problems"]), "variables.anonymisation")

		// The published release follows the policy.
		st, out = start(agent, "voirie", map[string]any{"dataset": ds, "file": file})
		require.Equal(t, 201, st, "%v", out)
		id := fmt.Sprint(out["id"])
		st, _ = complete(steward, steward.waitTask(id, "review").ID, map[string]any{"decision": "approve"})
		require.Equal(t, 200, st)
		st, _ = complete(dgs, dgs.waitTask(id, "approval").ID, map[string]any{"decision": "approve"})
		require.Equal(t, 200, st)
		agent.waitStatus(id, "completed")
		var rel map[string]any
		require.Equal(t, 200, agent.json(http.MethodGet, path+"/releases/1", nil, &rel))
		release := rel["release"].(map[string]any)
		require.NotContains(t, mustJSON(t, release["columns"]), `"email"`)
		require.Contains(t, mustJSON(t, release["anonymisation"]), `"field":"email"`)
		require.NotContains(t, mustJSON(t, rel["rows"]), "example.org")
		publishes := auditOf(t, admin, "dataset.publish")
		require.Len(t, publishes, 1)
		require.Equal(t, "workflow", publishes[0].Actor)
		require.JSONEq(t, `{"visibility":"private"}`, mustJSON(t, mustMap(t, publishes[0].Detail)["before"]))
	})
}

// Point 7: oversized, over-nested or misaddressed starts are refused
// before anything is written, and a start the workflow engine refuses
// leaves no row either.
func TestSecurityBadStartsLeaveNoDebris(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		agent, admin, designer := e.login("agent.voirie"), e.login("admin"), e.login("designer")
		deep := any("x")
		for range 40 {
			deep = []any{deep}
		}
		for _, tt := range []struct {
			name string
			body []byte
			user *user
			want int
		}{
			{"30 MB of variables", bigStart(30 << 20), agent, 413},
			{"300 KiB of variables", bigStart(300 << 10), agent, 413},
			{"260 KiB of variables in a smaller body", bigStart(260 << 10), agent, 413},
			{"40 levels deep", startBody(t, "voirie", map[string]any{"x": deep}), agent, 422},
			{"a variable name that is not one", startBody(t, "voirie", map[string]any{"a.b": 1}), agent, 422},
			{"every department", startBody(t, "*", nil), admin, 422},
			{"an unknown department", startBody(t, "nowhere", nil), admin, 422},
			{"initiator chosen by the caller", startBody(t, "voirie", map[string]any{"initiator": "dgs"}), agent, 422},
		} {
			t.Run(tt.name, func(t *testing.T) {
				out := map[string]any{}
				st := e.do(tt.user.token, http.MethodPost, "/api/v1/instances", "application/json", bytes.NewReader(tt.body), &out)
				require.Equal(t, tt.want, st, "%v", out)
				require.NotEmpty(t, out["detail"])
			})
		}
		require.Zero(t, instanceRows(t, e))

		// A start that Temporal itself refuses (its input exceeds the
		// server's 2 MB payload limit: a flow with a huge form).
		huge := strings.Replace(probeBPMN, `<bpmn:startEvent id="start">`, `<bpmn:extensionElements><zeebe:userTaskForm xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="big">{"components":[{"type":"text","text":"`+
			strings.Repeat("x", 3<<20)+`"}]}</zeebe:userTaskForm></bpmn:extensionElements><bpmn:startEvent id="start">`, 1)
		huge = strings.Replace(huge, `id="probe" name="Sonde"`, `id="huge" name="Énorme"`, 1)
		huge = strings.Replace(huge, `<bpmn:serviceTask id="publish" name="Publier" civicflow:activity="civicflow.publish">
      <bpmn:extensionElements><civicflow:param name="dataset" value="DATASET"/></bpmn:extensionElements>`,
			`<bpmn:userTask id="publish" name="Regarder" civicflow:role="agent" civicflow:form="big">`, 1)
		huge = strings.Replace(huge, `</bpmn:serviceTask>`, `</bpmn:userTask>`, 1)
		var dep map[string]any
		require.Equal(t, 201, e.do(designer.token, http.MethodPost, "/api/v1/flows", "application/xml", strings.NewReader(huge), &dep), "%v", dep)
		out := map[string]any{}
		st := agent.json(http.MethodPost, "/api/v1/instances", map[string]any{"flow": "huge", "department": "voirie"}, &out)
		require.Contains(t, []int{422, 503}, st, "%v", out)
		t.Logf("start of a flow too large for Temporal: %d %v", st, out["detail"])
		require.Zero(t, instanceRows(t, e), "no row for a start Temporal refused")
		var list struct{ Instances []any }
		require.Equal(t, 200, admin.json(http.MethodGet, "/api/v1/instances", nil, &list))
		require.Empty(t, list.Instances)
	})
}

func bigStart(size int) []byte {
	return []byte(`{"flow":"publication","department":"voirie","variables":{"blob":"` + strings.Repeat("a", size) + `"}}`)
}

func startBody(t *testing.T, dept string, vars map[string]any) []byte {
	t.Helper()
	return []byte(mustJSON(t, map[string]any{"flow": "publication", "department": dept, "variables": vars}))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func mustMap(t *testing.T, s string) map[string]any {
	t.Helper()
	m := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}
