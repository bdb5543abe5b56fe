package service

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
)

func TestNextDue(t *testing.T) {
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		freq string
		want time.Time
	}{
		{"daily", last.Add(24*time.Hour + 24*time.Hour/10)},
		{"monthly", last.Add(31*24*time.Hour + 31*24*time.Hour/10)},
		{"annual", last.Add(366*24*time.Hour + 366*24*time.Hour/10)},
		{"unknown", time.Time{}},
		{"irregular", time.Time{}},
		{"punctual", time.Time{}},
	} {
		require.Equal(t, tc.want, NextDue(tc.freq, last), tc.freq)
	}
	require.True(t, NextDue("daily", time.Time{}).IsZero(), "never released: no due date")
}

func TestObligations(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	one := 1
	ago := func(years, days int) *time.Time { t := now.AddDate(-years, 0, -days); return &t }
	datasets := []store.DatasetState{
		// Subsidies: published, released 2 years ago, annual → late.
		{ID: "subv", SchemaName: "scdl-subventions", Frequency: "annual", Visibility: store.VisibilityPublic, ExposedRelease: &one, Department: "finances", LastRelease: ago(2, 0)},
		// First names: published this month, annual → fine.
		{ID: "prenoms", SchemaName: "scdl-prenoms", Frequency: "annual", Visibility: store.VisibilityPublic, ExposedRelease: &one, Department: "etat-civil", LastRelease: ago(0, 10)},
		// Deliberations: a draft, never released.
		{ID: "delib", SchemaName: "scdl-deliberations", Frequency: "monthly", Visibility: store.VisibilityPrivate, Department: "dgs"},
		// Not in the socle commun.
		{ID: "arbres", SchemaName: "arbres-urbains", Frequency: "annual", Visibility: store.VisibilityPublic, ExposedRelease: &one},
	}
	got := obligations(datasets, now)
	by := map[string]Obligation{}
	for _, o := range got {
		by[o.Schema] = o
	}
	require.True(t, by["scdl-subventions"].Published)
	require.True(t, by["scdl-subventions"].Late)
	require.True(t, by["scdl-prenoms"].Published)
	require.False(t, by["scdl-prenoms"].Late)
	require.False(t, by["scdl-deliberations"].Published)
	require.False(t, by["scdl-deliberations"].Missing)
	require.True(t, by["scdl-budget"].Missing)
	_, ok := by["arbres-urbains"]
	require.False(t, ok, "only the socle commun")
	require.Equal(t, "scdl-subventions", got[0].Schema, "late obligations come first")
	require.True(t, got[len(got)-1].Published && !got[len(got)-1].Late, "fine ones come last")
}
