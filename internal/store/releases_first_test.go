package store_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// FirstReleaseDates gives each dataset's first release date, whatever the
// later releases; datasets without a release are absent.
func TestFirstReleaseDates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.CreateDepartment(ctx, store.Department{Slug: "voirie", Name: "Voirie"}))
		cols := []store.ReleaseColumn{{Field: "x", Kind: store.KindText}}
		release := func(id, key string) store.Release {
			done := false
			r, _, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: id, Key: key, NormalizedSHA: key, Columns: cols}, func() (store.ReleaseRow, error) {
				if done {
					return store.ReleaseRow{}, io.EOF
				}
				done = true
				return store.ReleaseRow{Values: []any{key}, Hash: key}, nil
			})
			require.NoError(t, err)
			return r
		}
		for _, id := range []string{"a", "b", "c"} {
			require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: id + "-ds", Title: id, Department: "voirie"}))
		}
		firstA := release("a-ds", "a1")
		time.Sleep(10 * time.Millisecond)
		release("a-ds", "a2")
		firstB := release("b-ds", "b1")
		got, err := s.FirstReleaseDates(ctx)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.True(t, got["a-ds"].Equal(firstA.CreatedAt), "%v %v", got["a-ds"], firstA.CreatedAt)
		require.True(t, got["b-ds"].Equal(firstB.CreatedAt))
	})
}
