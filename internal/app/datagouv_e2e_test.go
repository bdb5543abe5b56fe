package app_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/datagouv/datagouvtest"
)

const exploreAPI = "/api/explore/v2.1/catalog/datasets"

// publicationDatagouvBPMN is the default publication flow (key
// "publication-datagouv") with a civicflow.datagouv step after expose.
func publicationDatagouvBPMN(t *testing.T) string {
	t.Helper()
	x := string(designer.PublicationBPMN)
	for _, r := range []struct{ old, new string }{
		{`<bpmn:process id="publication"`, `<bpmn:process id="publication-datagouv"`},
		{`bpmnElement="publication"`, `bpmnElement="publication-datagouv"`},
		{`<bpmn:sequenceFlow id="f_expose_end" sourceRef="expose" targetRef="published" />`,
			`<bpmn:sequenceFlow id="f_expose_end" sourceRef="expose" targetRef="datagouv" />
    <bpmn:serviceTask id="datagouv" name="Publier sur data.gouv.fr" civicflow:activity="civicflow.datagouv">
      <bpmn:incoming>f_expose_end</bpmn:incoming>
      <bpmn:outgoing>f_datagouv_end</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f_datagouv_end" sourceRef="datagouv" targetRef="published" />`},
		{`<bpmn:incoming>f_expose_end</bpmn:incoming>
    </bpmn:endEvent>`, `<bpmn:incoming>f_datagouv_end</bpmn:incoming>
    </bpmn:endEvent>`},
	} {
		require.Contains(t, x, r.old)
		x = strings.Replace(x, r.old, r.new, 1)
	}
	return x
}

// TestDatagouvPushAcrossWorkerCrash: a flow pushes its release to
// data.gouv.fr (the fake) after publication; the worker is stopped in the
// middle of the upload and another one takes over: data.gouv.fr holds one
// dataset and one resource, with the release's 29 rows.
func TestDatagouvPushAcrossWorkerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application")
	}
	const org = "org-ville"
	srv := datagouvtest.New(t, "udata_e2e", org)
	e := startAppNoWorker(t, func(c *config.Config) {
		c.DatagouvURL, c.DatagouvAPIKey, c.DatagouvOrg = srv.URL, "udata_e2e", org
	})
	stopFirst := e.startWorker(nil)
	designerU, agent, steward, dgs := e.login("designer"), e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs")
	var dep map[string]any
	require.Equal(t, 201, e.do(designerU.token, http.MethodPost, "/api/v1/flows", "application/xml",
		strings.NewReader(publicationDatagouvBPMN(t)), &dep), "%v", dep)

	var ds map[string]any
	require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/datasets", map[string]any{
		"title": "Subventions voirie", "description": "Subventions attribuées", "department": "voirie", "schema": "scdl-subventions",
	}, &ds))
	dataset := fmt.Sprint(ds["id"])
	st, f := agent.upload("/api/v1/datasets/"+dataset+"/files", filepath.Join("testdata", "scdl-subventions.valid.csv"))
	require.Equal(t, 201, st, "%v", f)
	var started map[string]any
	require.Equal(t, 201, agent.json(http.MethodPost, "/api/v1/instances", map[string]any{
		"flow": "publication-datagouv", "department": "voirie", "variables": map[string]any{"dataset": dataset, "file": f["id"]},
	}, &started), "%v", started)
	id := fmt.Sprint(started["id"])

	srv.SlowUpload(10 * time.Minute) // the upload hangs until the worker dies
	uploading := srv.NotifyUpload()
	review := steward.waitTask(id, "review")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
	approval := dgs.waitTask(id, "approval")
	require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))

	select {
	case <-uploading:
	case <-time.After(90 * time.Second):
		t.Fatalf("the upload never started; history: %v", agent.history(id))
	}
	stopFirst() // killed in the middle of the upload
	require.Equal(t, 1, srv.CountDatasets(), "the remote dataset exists")
	require.Equal(t, 0, srv.CountResources(), "the interrupted upload left no resource")
	push, err := e.app.Store.DatagouvPush(context.Background(), dataset, srv.URL)
	require.NoError(t, err)
	require.NotEmpty(t, push.RemoteDatasetID, "its id was saved before the upload")
	require.Nil(t, push.PushedAt)

	srv.SlowUpload(0)
	e.startWorker(nil) // the restart: the activity is retried after its heartbeat timeout
	agent.waitStatus(id, "completed")
	h := agent.history(id)
	require.True(t, h.has("datagouv", "completed"), "%v", h)

	require.Equal(t, 1, srv.CountDatasets(), "exactly one dataset on data.gouv.fr")
	require.Equal(t, 1, srv.CountResources(), "exactly one resource")
	remote := srv.Datasets()[0]
	require.Equal(t, push.RemoteDatasetID, remote.ID)
	require.Equal(t, dataset, remote.Extra("civicflow:id"))
	require.False(t, remote.Private)
	res := remote.Resources[0]
	require.Equal(t, "scdl/subventions", res.Schema.Name)
	require.Len(t, strings.Split(strings.TrimSpace(string(srv.File(res.ID))), "\n"), 30, "header and 29 rows")
	push, err = e.app.Store.DatagouvPush(context.Background(), dataset, srv.URL)
	require.NoError(t, err)
	require.Equal(t, res.ID, push.RemoteResourceID)
	require.Equal(t, 1, push.ReleaseNumber)
	require.NotNil(t, push.PushedAt)
	var view struct {
		Datagouv []struct {
			Target, RemoteDataset, RemoteResource string
			Release                               int
		}
	}
	require.Equal(t, 200, steward.json(http.MethodGet, "/api/v1/datasets/"+dataset, nil, &view))
	require.Len(t, view.Datagouv, 1, "the dataset says where it was pushed")
	require.Equal(t, remote.ID, view.Datagouv[0].RemoteDataset)
	require.Equal(t, srv.URL, view.Datagouv[0].Target)
	require.Equal(t, 1, view.Datagouv[0].Release)

	// Withdrawal: the retrait flow takes it out of the API and makes it
	// private on data.gouv.fr.
	wid := withdraw(t, e, steward, dgs, dataset)
	agent.waitStatus(wid, "completed")
	require.Equal(t, http.StatusNotFound, e.do("", http.MethodGet, exploreAPI+"/"+dataset+"/records", "", nil, nil))
	require.True(t, srv.Datasets()[0].Private, "private on data.gouv.fr")
	require.Equal(t, 1, srv.CountDatasets())
}

// withdraw runs the retrait flow on dataset: the steward asks, the DGS
// approves. It returns the instance id.
func withdraw(t *testing.T, e *env, steward, dgs *user, dataset string) string {
	t.Helper()
	var started map[string]any
	require.Equal(t, 201, steward.json(http.MethodPost, "/api/v1/instances", map[string]any{
		"flow": "retrait", "department": "voirie", "variables": map[string]any{"dataset": dataset},
	}, &started), "%v", started)
	id := fmt.Sprint(started["id"])
	req := steward.waitTask(id, "request")
	require.Equal(t, 422, steward.json(http.MethodPost, "/api/v1/tasks/"+req.ID+"/complete", map[string]any{"data": map[string]any{}}, nil),
		"a reason is required")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+req.ID+"/complete",
		map[string]any{"data": map[string]any{"reason": "données personnelles publiées par erreur"}}, nil))
	approval := dgs.waitTask(id, "approval")
	require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
	return id
}

// TestRetraitFlowWithdrawsDataset: after the retrait flow completes, the
// records API answers 404 and the catalog no longer lists the dataset; a
// refused withdrawal leaves it served.
func TestRetraitFlowWithdrawsDataset(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application")
	}
	e := startApp(t)
	agent, steward, dgs := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs")
	dataset, inst := newSubmission(t, agent, "voirie", filepath.Join("testdata", "scdl-subventions.valid.csv"))
	review := steward.waitTask(inst, "review")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
	approval := dgs.waitTask(inst, "approval")
	require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
	agent.waitStatus(inst, "completed")

	listed := func() bool {
		var cat struct {
			Results []struct {
				DatasetID string `json:"dataset_id"`
			} `json:"results"`
		}
		require.Equal(t, 200, e.do("", http.MethodGet, exploreAPI, "", nil, &cat))
		for _, r := range cat.Results {
			if r.DatasetID == dataset {
				return true
			}
		}
		return false
	}
	require.True(t, listed())
	require.Equal(t, 200, e.do("", http.MethodGet, exploreAPI+"/"+dataset+"/records", "", nil, nil))

	// A refused withdrawal changes nothing.
	var started map[string]any
	require.Equal(t, 201, steward.json(http.MethodPost, "/api/v1/instances", map[string]any{
		"flow": "retrait", "department": "voirie", "variables": map[string]any{"dataset": dataset},
	}, &started))
	rid := fmt.Sprint(started["id"])
	req := steward.waitTask(rid, "request")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+req.ID+"/complete",
		map[string]any{"data": map[string]any{"reason": "doublon"}}, nil))
	ap := dgs.waitTask(rid, "approval")
	require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+ap.ID+"/complete", decide("reject"), nil))
	agent.waitStatus(rid, "completed")
	require.False(t, agent.history(rid).has("withdraw", "completed"), "not withdrawn")
	require.True(t, listed(), "still in the catalog")

	wid := withdraw(t, e, steward, dgs, dataset)
	agent.waitStatus(wid, "completed")
	require.True(t, agent.history(wid).has("withdraw", "completed"), "%v", agent.history(wid))
	require.Equal(t, http.StatusNotFound, e.do("", http.MethodGet, exploreAPI+"/"+dataset+"/records", "", nil, nil))
	require.Equal(t, http.StatusNotFound, e.do("", http.MethodGet, exploreAPI+"/"+dataset, "", nil, nil))
	require.Equal(t, http.StatusNotFound, e.do("", http.MethodGet, exploreAPI+"/"+dataset+"/exports/csv", "", nil, nil))
	require.False(t, listed(), "the catalog no longer lists it")
	var ds map[string]any
	require.Equal(t, 200, agent.json(http.MethodGet, "/api/v1/datasets/"+dataset, nil, &ds))
	require.Len(t, ds["releases"], 1, "its release is kept: %v", ds)
}
