package datagouv_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/datagouv"
	"github.com/civicflow/civicflow/internal/datagouv/datagouvtest"
)

const org = "org-ville"

func newDataset(extras map[string]any) datagouv.DatasetInput {
	return datagouv.DatasetInput{Title: "Subventions 2026", Description: "Subventions attribuées", Organization: org,
		License: "lov2", Frequency: "annual", Tags: []string{"scdl", "subventions"}, Private: true, Extras: extras}
}

func TestDatasetLifecycle(t *testing.T) {
	srv := datagouvtest.New(t, "udata_key", org)
	c := srv.Client()
	ctx := context.Background()

	ds, err := c.CreateDataset(ctx, newDataset(map[string]any{"civicflow:id": "subventions"}))
	require.NoError(t, err)
	require.NotEmpty(t, ds.ID)
	require.True(t, ds.Private, "a draft stays private")
	require.Equal(t, "subventions", ds.Extra("civicflow:id"))

	// Found by its extra, private as it is.
	found, ok, err := c.FindDataset(ctx, org, "civicflow:id", "subventions")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ds.ID, found.ID)
	_, ok, err = c.FindDataset(ctx, org, "civicflow:id", "autre")
	require.NoError(t, err)
	require.False(t, ok)

	res, err := c.UploadResource(ctx, ds.ID, "subventions.csv", strings.NewReader("a,b\n1,2\n"))
	require.NoError(t, err)
	require.Equal(t, "subventions.csv", res.Title)
	require.Equal(t, "csv", res.Format)
	require.Equal(t, "a,b\n1,2\n", string(srv.File(res.ID)))

	res, err = c.UpdateResource(ctx, ds.ID, res.ID, datagouv.ResourceInput{Title: "Subventions (CSV)", Type: "main",
		Schema: &datagouv.Schema{Name: "scdl/subventions", Version: "2.1.1"}})
	require.NoError(t, err)
	require.Equal(t, "scdl/subventions", res.Schema.Name)

	res2, err := c.ReplaceResourceFile(ctx, ds.ID, res.ID, "subventions.csv", strings.NewReader("a,b\n3,4\n"))
	require.NoError(t, err)
	require.Equal(t, res.ID, res2.ID)
	require.Equal(t, "Subventions (CSV)", res2.Title, "a new file keeps the metadata")
	require.Equal(t, "a,b\n3,4\n", string(srv.File(res.ID)))

	in := newDataset(map[string]any{"civicflow:id": "subventions"})
	in.Private = false
	ds, err = c.UpdateDataset(ctx, ds.ID, in)
	require.NoError(t, err)
	require.False(t, ds.Private)
	ds, err = c.SetPrivate(ctx, ds.ID, true)
	require.NoError(t, err)
	require.True(t, ds.Private)
	ds, err = c.Archive(ctx, ds.ID, time.Now())
	require.NoError(t, err)
	require.NotNil(t, ds.Archived)

	got, err := c.Dataset(ctx, ds.ID)
	require.NoError(t, err)
	require.Len(t, got.Resources, 1)
	require.Equal(t, 1, srv.CountDatasets())
	require.Equal(t, 1, srv.CountResources())
}

func TestFindDatasetWalksPages(t *testing.T) {
	srv := datagouvtest.New(t, "k", org)
	srv.PageSize = 2
	c := srv.Client()
	ctx := context.Background()
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		_, err := c.CreateDataset(ctx, newDataset(map[string]any{"civicflow:id": id}))
		require.NoError(t, err)
	}
	d, ok, err := c.FindDataset(ctx, org, "civicflow:id", "a5")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "a5", d.Extra("civicflow:id"))
	require.Equal(t, 3, srv.Calls(datagouvtest.RouteOrgDatasets))

	// Without organization: the key's own datasets.
	in := newDataset(map[string]any{"civicflow:id": "perso"})
	in.Organization = ""
	_, err = c.CreateDataset(ctx, in)
	require.NoError(t, err)
	d, ok, err = c.FindDataset(ctx, "", "civicflow:id", "perso")
	require.NoError(t, err)
	require.True(t, ok)
	require.Nil(t, d.Organization)
}

func TestErrors(t *testing.T) {
	srv := datagouvtest.New(t, "udata_key", org)
	ctx := context.Background()
	ds, err := srv.Client().CreateDataset(ctx, newDataset(nil))
	require.NoError(t, err)

	tests := []struct {
		name      string
		call      func(c *datagouv.Client) error
		status    int
		retryable bool
		msg       string
	}{
		{"wrong key", func(c *datagouv.Client) error {
			c.APIKey = "nope"
			_, err := c.CreateDataset(ctx, newDataset(nil))
			return err
		}, 401, false, "Invalid API Key"},
		{"no key", func(c *datagouv.Client) error {
			c.APIKey = ""
			_, err := c.CreateDataset(ctx, newDataset(nil))
			return err
		}, 401, false, "Unauthorized"},
		{"validation", func(c *datagouv.Client) error {
			_, err := c.CreateDataset(ctx, datagouv.DatasetInput{Description: "x", Tags: []string{"x"}})
			return err
		}, 400, false, "title: This field is required."},
		{"unknown organization", func(c *datagouv.Client) error {
			in := newDataset(nil)
			in.Organization = "other"
			_, err := c.CreateDataset(ctx, in)
			return err
		}, 400, false, "organization: Unknown organization"},
		{"unknown dataset", func(c *datagouv.Client) error {
			_, err := c.Dataset(ctx, "nope")
			return err
		}, 404, false, "Dataset not found"},
		{"unknown resource", func(c *datagouv.Client) error {
			_, err := c.ReplaceResourceFile(ctx, ds.ID, "nope", "x.csv", strings.NewReader("a\n"))
			return err
		}, 404, false, "Resource not found"},
		{"HTML upload", func(c *datagouv.Client) error {
			_, err := c.UploadResource(ctx, ds.ID, "x.csv", strings.NewReader("<html><body>hi</body></html>"))
			return err
		}, 415, false, "not allowed"},
		{"server error", func(c *datagouv.Client) error {
			srv.Fail(datagouvtest.RouteGetDataset, datagouvtest.Failure{Status: 500})
			_, err := c.Dataset(ctx, ds.ID)
			return err
		}, 500, true, "Internal Server Error"},
		{"bad gateway", func(c *datagouv.Client) error {
			srv.Fail(datagouvtest.RouteUpload, datagouvtest.Failure{Status: 502})
			_, err := c.UploadResource(ctx, ds.ID, "x.csv", strings.NewReader("a\n"))
			return err
		}, 502, true, "Bad Gateway"},
		{"rate limited", func(c *datagouv.Client) error {
			srv.Fail(datagouvtest.RouteUpdateDataset, datagouvtest.Failure{Status: 429})
			_, err := c.SetPrivate(ctx, ds.ID, true)
			return err
		}, 429, true, "Too Many Requests"},
		{"timeout", func(c *datagouv.Client) error {
			srv.SlowUpload(time.Second)
			defer srv.SlowUpload(0)
			ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			_, err := c.UploadResource(ctx, ds.ID, "x.csv", strings.NewReader("a\n"))
			return err
		}, 0, true, "timed out"},
		{"nobody listens", func(c *datagouv.Client) error {
			c.BaseURL = "http://127.0.0.1:1"
			_, err := c.Dataset(ctx, ds.ID)
			return err
		}, 0, true, "no answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(srv.Client())
			require.Error(t, err)
			require.Equal(t, tt.status, datagouv.StatusOf(err), err.Error())
			require.Equal(t, tt.retryable, datagouv.Retryable(err), err.Error())
			require.Contains(t, err.Error(), tt.msg)
			require.Equal(t, tt.status == 404, datagouv.IsNotFound(err))
		})
	}
	require.Equal(t, 1, srv.CountDatasets(), "no failed call created anything")
	require.Equal(t, 0, srv.CountResources())
}

func TestFailureAfterTheChange(t *testing.T) {
	srv := datagouvtest.New(t, "k", org)
	c := srv.Client()
	ctx := context.Background()
	srv.Fail(datagouvtest.RouteCreateDataset, datagouvtest.Failure{Status: http.StatusGatewayTimeout, After: true})
	_, err := c.CreateDataset(ctx, newDataset(map[string]any{"civicflow:id": "x"}))
	require.Error(t, err)
	require.True(t, datagouv.Retryable(err))
	require.Equal(t, 1, srv.CountDatasets(), "the dataset was created although the caller saw an error")
	_, ok, err := c.FindDataset(ctx, org, "civicflow:id", "x")
	require.NoError(t, err)
	require.True(t, ok, "a retry finds it")
}
