package activities_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/activities"
	"github.com/civicflow/civicflow/internal/datagouv"
	"github.com/civicflow/civicflow/internal/datagouv/datagouvtest"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

const dgOrg = "org-ville"

// publishedBundle is a dataset with an exposed release (29 rows) and a
// fake data.gouv.fr the activities push to.
func publishedBundle(t *testing.T) (dataBundle, *datagouvtest.Server) {
	t.Helper()
	b := dataSetup(t, storetest.Open(t, storetest.SQLiteURL(t)))
	b.stage(t, "f1", samples+"scdl-subventions.valid.csv")
	publishRelease(t, b, "i1")
	srv := datagouvtest.New(t, "udata_key", dgOrg)
	b.d.Datagouv, b.d.DatagouvOrg = srv.Client(), dgOrg
	return b, srv
}

// publishRelease runs ingest, validate, publish and expose as instance id.
func publishRelease(t *testing.T, b dataBundle, id string) {
	t.Helper()
	in := input("ingest", id, map[string]any{"dataset": "subventions", "file": "f1"})
	for _, step := range []struct{ node, act string }{{"ingest", activities.ActIngest}, {"validate", activities.ActValidate},
		{"publish", activities.ActPublish}, {"expose", activities.ActExpose}} {
		in.NodeID = step.node
		res, err := b.run(t, step.act, in)
		require.NoError(t, err, step.node)
		merge(&in, res)
	}
}

func pushInput(instance string, params map[string]string) workflows.ActivityInput {
	in := input("datagouv", instance, map[string]any{"dataset": "subventions"})
	in.Params = params
	return in
}

func requireDatagouvRefused(t *testing.T, err error, text string) {
	t.Helper()
	require.Error(t, err)
	var ae *temporal.ApplicationError
	require.True(t, errors.As(err, &ae), "%v", err)
	require.True(t, ae.NonRetryable(), "%v", err)
	require.Contains(t, ae.Error(), text)
}

func TestDatagouvPush(t *testing.T) {
	b, srv := publishedBundle(t)
	res, err := b.run(t, activities.ActDatagouv, pushInput("i1", map[string]string{"private": "true"}))
	require.NoError(t, err)
	out := res.Variables["datagouv"].(map[string]any)
	require.EqualValues(t, 1, out["release"])
	require.Equal(t, true, out["private"])

	require.Equal(t, 1, srv.CountDatasets())
	require.Equal(t, 1, srv.CountResources())
	remote := srv.Datasets()[0]
	require.Equal(t, out["dataset"], remote.ID)
	require.True(t, remote.Private, "a private draft")
	require.Equal(t, "Subventions", remote.Title)
	require.Equal(t, "lov2", remote.License, "etalab-2.0 is data.gouv.fr's lov2")
	require.Equal(t, dgOrg, remote.Organization.ID)
	require.Equal(t, "subventions", remote.Extra("civicflow:id"))
	r := remote.Resources[0]
	require.Equal(t, "Subventions (CSV)", r.Title)
	require.Equal(t, "main", r.Type)
	require.Equal(t, "scdl/subventions", r.Schema.Name, "the national schema is declared")
	csv := string(srv.File(r.ID))
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 30, "header and 29 rows")
	require.True(t, strings.HasPrefix(lines[0], "nomAttribuant,idAttribuant,"), lines[0])
	require.Contains(t, lines[1], "ANTIBES")

	p, err := b.st.DatagouvPush(b.ctx, "subventions", srv.URL)
	require.NoError(t, err)
	require.Equal(t, remote.ID, p.RemoteDatasetID)
	require.Equal(t, r.ID, p.RemoteResourceID)
	require.Equal(t, 1, p.ReleaseNumber)
	require.Len(t, p.Checksum, 64)

	// The same release again: metadata refreshed, no second upload; the
	// dataset becomes public (private=false by default).
	res, err = b.run(t, activities.ActDatagouv, pushInput("i1", nil))
	require.NoError(t, err)
	require.Contains(t, res.Message, "file not sent again")
	require.Equal(t, 1, srv.Calls(datagouvtest.RouteUpload))
	require.False(t, srv.Datasets()[0].Private)

	// A new release replaces the file of the same resource.
	publishRelease(t, b, "i2")
	res, err = b.run(t, activities.ActDatagouv, pushInput("i2", nil))
	require.NoError(t, err)
	require.EqualValues(t, 2, res.Variables["datagouv"].(map[string]any)["release"])
	require.Equal(t, 1, srv.Calls(datagouvtest.RouteReplaceFile))
	require.Equal(t, 1, srv.CountDatasets())
	require.Equal(t, 1, srv.CountResources())
}

// TestDatagouvRetryAfterCrash: data.gouv.fr did the change but the
// activity saw an error (as after a crash or a timeout): the retry finds
// what was made, and the fake holds one dataset and one resource.
func TestDatagouvRetryAfterCrash(t *testing.T) {
	for _, tt := range []struct {
		name  string
		route string
		fail  datagouvtest.Failure
	}{
		{"dataset created, answer lost", datagouvtest.RouteCreateDataset, datagouvtest.Failure{Status: 504, After: true}},
		{"file uploaded, answer lost", datagouvtest.RouteUpload, datagouvtest.Failure{Status: 502, After: true}},
		{"resource described, answer lost", datagouvtest.RouteUpdateResource, datagouvtest.Failure{Status: 500, After: true}},
		{"server down while describing", datagouvtest.RouteUpdateResource, datagouvtest.Failure{Status: 503}},
		{"server down while looking", datagouvtest.RouteOrgDatasets, datagouvtest.Failure{Status: 500}},
		{"rate limited", datagouvtest.RouteUpdateDataset, datagouvtest.Failure{Status: 429}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, srv := publishedBundle(t)
			srv.Fail(tt.route, tt.fail)
			_, err := b.run(t, activities.ActDatagouv, pushInput("i1", nil))
			require.Error(t, err)
			var ae *temporal.ApplicationError
			require.True(t, errors.As(err, &ae), "%v", err)
			require.False(t, ae.NonRetryable(), "a transient failure is retried: %v", err)

			_, err = b.run(t, activities.ActDatagouv, pushInput("i1", nil))
			require.NoError(t, err)
			require.Equal(t, 1, srv.CountDatasets(), "exactly one dataset")
			require.Equal(t, 1, srv.CountResources(), "exactly one resource")
			r := srv.Datasets()[0].Resources[0]
			require.Equal(t, "scdl/subventions", r.Schema.Name)
			p, err := b.st.DatagouvPush(b.ctx, "subventions", srv.URL)
			require.NoError(t, err)
			require.Equal(t, r.ID, p.RemoteResourceID)
			require.Equal(t, 1, p.ReleaseNumber)
		})
	}
}

// TestDatagouvRemoteDeleted: a dataset deleted on data.gouv.fr is created
// again.
func TestDatagouvRemoteDeleted(t *testing.T) {
	b, srv := publishedBundle(t)
	_, err := b.run(t, activities.ActDatagouv, pushInput("i1", nil))
	require.NoError(t, err)
	p, err := b.st.DatagouvPush(b.ctx, "subventions", srv.URL)
	require.NoError(t, err)
	req, _ := newDelete(srv.URL+"/api/1/datasets/"+p.RemoteDatasetID+"/", "udata_key")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 0, srv.CountDatasets())
	_, err = b.run(t, activities.ActDatagouv, pushInput("i1", nil))
	require.NoError(t, err)
	require.Equal(t, 1, srv.CountDatasets())
	require.Equal(t, 1, srv.CountResources())
}

func TestDatagouvRefusals(t *testing.T) {
	b, srv := publishedBundle(t)
	require.NoError(t, b.st.CreateDepartment(b.ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
	require.NoError(t, b.st.CreateDataset(b.ctx, &store.Dataset{ID: "voies", Title: "Voies", Department: "voirie"}))
	require.NoError(t, b.st.CreateDataset(b.ctx, &store.Dataset{ID: "brouillon", Title: "Brouillon", Department: "finances"}))
	good := b.d.Datagouv

	for _, tt := range []struct {
		name   string
		client *datagouv.Client
		in     workflows.ActivityInput
		text   string
	}{
		{"no API key", nil, pushInput("i1", nil), "aucune clé d'API n'est configurée"},
		{"empty API key", datagouv.New(srv.URL, ""), pushInput("i1", nil), "no API key"},
		{"key refused", datagouv.New(srv.URL, "wrong"), pushInput("i1", nil), "la clé d'API data.gouv.fr est refusée"},
		{"production flow, demo platform", good, pushInput("i1", map[string]string{"target": "production"}), "https://www.data.gouv.fr"},
		{"bad target", good, pushInput("i1", map[string]string{"target": "prod"}), "param target"},
		{"bad private", good, pushInput("i1", map[string]string{"private": "peut-être"}), "param private"},
		{"nothing exposed", good, input("datagouv", "i1", map[string]any{"dataset": "brouillon"}), "no exposed release"},
		{"another department's dataset", good, input("datagouv", "i1", map[string]any{"dataset": "voies"}), "belongs to department voirie"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b.d.Datagouv = tt.client
			_, err := b.run(t, activities.ActDatagouv, tt.in)
			requireDatagouvRefused(t, err, tt.text)
		})
	}
	require.Equal(t, 0, srv.CountDatasets(), "nothing pushed")
}

func TestWithdraw(t *testing.T) {
	b, srv := publishedBundle(t)
	_, err := b.run(t, activities.ActDatagouv, pushInput("i1", nil))
	require.NoError(t, err)
	require.False(t, srv.Datasets()[0].Private)

	in := input("withdraw", "w1", map[string]any{"dataset": "subventions", "reason": "erreur"})
	for i := range 2 { // idempotent
		res, err := b.run(t, activities.ActWithdraw, in)
		require.NoError(t, err, "run %d", i)
		require.Equal(t, "private", res.Variables["withdrawn"].(map[string]any)["remote"])
	}
	ds, err := b.st.Dataset(b.ctx, "subventions")
	require.NoError(t, err)
	require.Equal(t, store.VisibilityPrivate, ds.Visibility)
	require.Nil(t, ds.ExposedRelease)
	_, err = b.st.Release(b.ctx, "subventions", 1)
	require.NoError(t, err, "the releases are kept")
	require.True(t, srv.Datasets()[0].Private, "private on data.gouv.fr too")
	require.Equal(t, 1, srv.Calls(datagouvtest.RouteUpdateDataset)-1, "one remote change for two runs")
	p, err := b.st.DatagouvPush(b.ctx, "subventions", srv.URL)
	require.NoError(t, err)
	require.Equal(t, "private", p.WithdrawnAs)

	// Archive instead.
	in.Params = map[string]string{"remote": "archive"}
	_, err = b.run(t, activities.ActWithdraw, in)
	require.NoError(t, err)
	require.NotNil(t, srv.Datasets()[0].Archived)

	in.Params = map[string]string{"remote": "delete"}
	_, err = b.run(t, activities.ActWithdraw, in)
	requireInvalidInput(t, err)

	// Never pushed, no key: the local withdrawal needs none.
	b.d.Datagouv = nil
	require.NoError(t, b.st.CreateDataset(b.ctx, &store.Dataset{ID: "local", Title: "Local", Department: "finances", Visibility: store.VisibilityPublic}))
	_, err = b.run(t, activities.ActWithdraw, input("withdraw", "w2", map[string]any{"dataset": "local"}))
	require.NoError(t, err)
}

func newDelete(url, key string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodDelete, url, nil)
	if err == nil {
		req.Header.Set("X-API-KEY", key)
	}
	return req, err
}
