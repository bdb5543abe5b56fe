package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

var loadCols = []store.ReleaseColumn{
	{Field: "id", Kind: store.KindText},
	{Field: "n", Kind: store.KindInteger},
	{Field: "montant", Kind: store.KindNumeric},
	{Field: "date", Kind: store.KindDate},
}

// numbered yields rows id-1…id-total; before row i it calls hook(i) when
// set (which may fail the source).
func numbered(total int, hook func(i int) error) store.RowSource {
	i := 0
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() (store.ReleaseRow, error) {
		if i == total {
			return store.ReleaseRow{}, io.EOF
		}
		i++
		if hook != nil {
			if err := hook(i); err != nil {
				return store.ReleaseRow{}, err
			}
		}
		id := fmt.Sprintf("id-%d", i)
		return store.ReleaseRow{Values: []any{id, int64(i), float64(i) / 4, day.AddDate(0, 0, i%365)}, Key: id, Hash: fmt.Sprintf("h%d", i)}, nil
	}
}

// requireRows checks that the release holds rows 1…total, each once, in
// order, with its values.
func requireRows(t *testing.T, s *store.Store, rel store.Release, total int) {
	t.Helper()
	require.EqualValues(t, total, rel.Rows)
	seen := 0
	for off := 0; off < total; off += 1000 {
		rows, err := s.ReleaseRows(context.Background(), rel, 1000, off)
		require.NoError(t, err)
		for _, r := range rows {
			seen++
			require.EqualValues(t, seen, r["_row"])
			require.Equal(t, fmt.Sprintf("id-%d", seen), r["id"])
			require.EqualValues(t, seen, r["n"])
			require.InDelta(t, float64(seen)/4, r["montant"], 1e-9)
		}
	}
	require.Equal(t, total, seen)
	more, err := s.ReleaseRows(context.Background(), rel, 10, total)
	require.NoError(t, err)
	require.Empty(t, more, "no row twice")
}

// A load killed in its middle (here: its context ends, as when the worker
// dies) keeps its committed chunks; the next attempt with the same key
// skips them, loads the rest, and the release has every row once.
func TestReleaseLoadResumesAfterACrash(t *testing.T) {
	defer store.SetLoadChunks(50, 100)()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		const total = 1000
		nr := store.NewRelease{DatasetID: "arbres", Key: "i1/publish/abc", Columns: loadCols, PrimaryKey: []string{"id"}}

		crash, die := context.WithCancel(ctx)
		var mu sync.Mutex
		var progress []int64
		last := func() int64 {
			mu.Lock()
			defer mu.Unlock()
			if len(progress) == 0 {
				return 0
			}
			return progress[len(progress)-1]
		}
		first := nr
		first.Progress = func(n int64) { mu.Lock(); progress = append(progress, n); mu.Unlock() }
		_, _, err := s.CreateRelease(crash, first, numbered(total, func(i int) error {
			if i == 640 { // the process dies once a few chunks are in
				for last() < 300 {
					time.Sleep(time.Millisecond)
				}
				die()
				return context.Canceled
			}
			return nil
		}))
		require.ErrorIs(t, err, context.Canceled)
		loads, err := s.ReleaseLoads(ctx, "arbres")
		require.NoError(t, err)
		require.Len(t, loads, 1)
		done := loads[0].RowsLoaded
		require.Positive(t, done, "chunks before the crash are committed")
		require.Less(t, done, int64(640))
		require.Equal(t, last(), done, "progress reports committed rows")
		_, err = s.Release(ctx, "arbres", 0)
		require.ErrorIs(t, err, store.ErrNotFound, "no release yet")

		var resumed int64
		second := nr
		second.Resumed = func(n int64) { resumed = n }
		var steps []string
		second.Step = func(s string) { steps = append(steps, s) }
		rel, created, err := s.CreateRelease(ctx, second, numbered(total, nil))
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, done, resumed)
		require.Equal(t, []string{"load", "index", "diff", "record"}, steps)
		require.Equal(t, 1, rel.Number)
		requireRows(t, s, rel, total)
		loads, err = s.ReleaseLoads(ctx, "arbres")
		require.NoError(t, err)
		require.Empty(t, loads)

		again, created, err := s.CreateRelease(ctx, nr, numbered(total, nil))
		require.NoError(t, err)
		require.False(t, created, "exactly once")
		require.Equal(t, rel.Number, again.Number)
		rels, err := s.Releases(ctx, "arbres")
		require.NoError(t, err)
		require.Len(t, rels, 1)
	})
}

// Two attempts of the same activity overlap (the first was thought dead):
// the second takes the load over and records the release; the first, when
// it wakes up, cannot write a row more and answers with that release.
func TestReleaseLoadOverlappingAttempts(t *testing.T) {
	defer store.SetLoadChunks(50, 100)()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		const total = 600
		nr := store.NewRelease{DatasetID: "arbres", Key: "i1/publish/abc", Columns: loadCols, PrimaryKey: []string{"id"}}
		paused, resume := make(chan struct{}), make(chan struct{})
		var committed atomic.Int64
		first := nr
		first.Progress = func(n int64) { committed.Store(n) }
		type result struct {
			rel     store.Release
			created bool
			err     error
		}
		out := make(chan result, 1)
		go func() {
			r, c, err := s.CreateRelease(ctx, first, numbered(total, func(i int) error {
				if i == 300 {
					close(paused)
					<-resume
				}
				return nil
			}))
			out <- result{r, c, err}
		}()
		<-paused
		// Rows 1–250 are the whole batches read before the pause: once they
		// are committed, the first attempt waits for rows, between chunks.
		require.Eventually(t, func() bool { return committed.Load() == 250 }, 10*time.Second, 10*time.Millisecond)

		rel, created, err := s.CreateRelease(ctx, nr, numbered(total, nil))
		require.NoError(t, err)
		require.True(t, created)
		close(resume)
		r := <-out
		require.NoError(t, r.err)
		require.False(t, r.created)
		require.Equal(t, rel.Number, r.rel.Number)
		requireRows(t, s, rel, total)
	})
}

// A bad row in the middle of the file drops what was loaded: nothing is
// released and nothing is left behind.
func TestReleaseLoadBadRowLeavesNothing(t *testing.T) {
	defer store.SetLoadChunks(50, 100)()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		nr := store.NewRelease{DatasetID: "arbres", Key: "i1/publish/abc", Columns: loadCols}
		bad := errors.New("ligne 700 : guillemet non fermé")
		_, _, err := s.CreateRelease(ctx, nr, numbered(1000, func(i int) error {
			if i == 700 {
				return bad
			}
			return nil
		}))
		require.ErrorIs(t, err, bad)
		loads, err := s.ReleaseLoads(ctx, "arbres")
		require.NoError(t, err)
		require.Empty(t, loads)
		_, err = s.Release(ctx, "arbres", 0)
		require.ErrorIs(t, err, store.ErrNotFound)

		rel, created, err := s.CreateRelease(ctx, nr, numbered(1000, nil))
		require.NoError(t, err)
		require.True(t, created, "a later attempt starts over")
		requireRows(t, s, rel, 1000)
	})
}

// While a release loads, the other writers of the process go on: each
// write returns while the load is still running (it used to wait for the
// whole load, which held the only SQLite write connection).
func TestReleaseLoadLetsOtherWritersThrough(t *testing.T) {
	defer store.SetLoadChunks(50, 100)()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		var loading atomic.Bool
		loading.Store(true)
		started := make(chan struct{})
		var once sync.Once
		var wg sync.WaitGroup
		var loadErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer loading.Store(false)
			_, _, loadErr = s.CreateRelease(ctx, store.NewRelease{DatasetID: "arbres", Key: "k", Columns: loadCols,
				Progress: func(int64) { once.Do(func() { close(started) }) }},
				numbered(1500, func(int) error { time.Sleep(time.Millisecond); return nil }))
		}()
		<-started
		for i := range 5 {
			require.NoError(t, s.SetSetting(ctx, "probe", fmt.Sprint(i)))
			require.True(t, loading.Load(), "write %d waited for the whole load", i)
		}
		wg.Wait()
		require.NoError(t, loadErr)
	})
}

// partialLoad leaves a load of nr half done, as a worker that died in its
// middle does: some chunks committed, the release_loads row and the table
// in place.
func partialLoad(t *testing.T, s *store.Store, nr store.NewRelease) store.ReleaseLoad {
	t.Helper()
	ctx, die := context.WithCancel(context.Background())
	defer die()
	var loaded atomic.Int64
	nr.Progress = func(n int64) { loaded.Store(n) }
	_, _, err := s.CreateRelease(ctx, nr, numbered(1000, func(i int) error {
		if i == 640 {
			for loaded.Load() < 300 {
				time.Sleep(time.Millisecond)
			}
			die()
			return context.Canceled
		}
		return nil
	}))
	require.ErrorIs(t, err, context.Canceled)
	loads, err := s.ReleaseLoads(context.Background(), nr.DatasetID)
	require.NoError(t, err)
	for _, l := range loads {
		if l.Key == nr.Key {
			require.Positive(t, l.RowsLoaded)
			require.Equal(t, nr.InstanceID, l.InstanceID)
			return l
		}
	}
	t.Fatalf("no load under %s", nr.Key)
	return store.ReleaseLoad{}
}

// tableExists tells whether a release table is still in the database.
func tableExists(t *testing.T, s *store.Store, table string) bool {
	t.Helper()
	var n int
	err := s.DB().Get(&n, "SELECT COUNT(*) FROM "+table)
	return err == nil
}

// A publication whose instance is cancelled (or fails for good) never
// resumes: its partial table and release_loads row are dropped, and only
// that instance's; a later publication under the same key starts over.
func TestReleaseLoadDroppedWithItsInstance(t *testing.T) {
	defer store.SetLoadChunks(50, 100)()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		mine := partialLoad(t, s, store.NewRelease{DatasetID: "arbres", Key: "i1/publish/a", InstanceID: "i1", Columns: loadCols, PrimaryKey: []string{"id"}})
		other := partialLoad(t, s, store.NewRelease{DatasetID: "arbres", Key: "i2/publish/b", InstanceID: "i2", Columns: loadCols, PrimaryKey: []string{"id"}})
		require.True(t, tableExists(t, s, mine.Table))

		dropped, err := s.DropInstanceReleaseLoads(ctx, "i1")
		require.NoError(t, err)
		require.Len(t, dropped, 1)
		require.Equal(t, mine.Table, dropped[0].Table)
		require.False(t, tableExists(t, s, mine.Table), "the partial table is dropped")
		require.True(t, tableExists(t, s, other.Table), "another instance's load is kept")
		loads, err := s.ReleaseLoads(ctx, "arbres")
		require.NoError(t, err)
		require.Len(t, loads, 1)
		require.Equal(t, "i2", loads[0].InstanceID)

		dropped, err = s.DropInstanceReleaseLoads(ctx, "i1") // the bookkeeping retried
		require.NoError(t, err)
		require.Empty(t, dropped)
		dropped, err = s.DropInstanceReleaseLoads(ctx, "")
		require.NoError(t, err)
		require.Empty(t, dropped, "no owner: only the sweep decides")

		var resumed int64
		rel, created, err := s.CreateRelease(ctx, store.NewRelease{DatasetID: "arbres", Key: "i1/publish/a", InstanceID: "i1", Columns: loadCols,
			PrimaryKey: []string{"id"}, Resumed: func(n int64) { resumed = n }}, numbered(1000, nil))
		require.NoError(t, err)
		require.True(t, created)
		require.Zero(t, resumed, "starts over")
		requireRows(t, s, rel, 1000)
	})
}

// The housekeeping sweep drops the partial tables of loads that have not
// moved for a while and that no running instance owns: ended instances,
// unknown ones, and loads recorded before the owner was; an instance
// running or in incident (a retry resumes its load) keeps its own, and a
// load that moved recently is kept whoever owns it.
func TestSweepReleaseLoads(t *testing.T) {
	defer store.SetLoadChunks(50, 100)()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := dataSetup(t, s)
		require.NoError(t, s.CreateDataset(ctx, &store.Dataset{ID: "arbres", Title: "Arbres", Department: "voirie"}))
		_, _, err := s.DeployFlow(ctx, "publication", "Publication", store.FlowVersion{Checksum: "c", BPMN: "<x/>", Graph: "{}", DeployedBy: "designer"})
		require.NoError(t, err)
		status := map[string]string{"running": "running", "incident": "incident", "cancelled": "cancelled", "completed": "completed"}
		for id, st := range status {
			require.NoError(t, s.CreateInstance(ctx, store.Instance{ID: id, FlowKey: "publication", Version: 1, Department: "voirie", Status: "running", StartedBy: "agent"}, nil))
			if st != "running" {
				require.NoError(t, s.UpdateInstance(ctx, store.InstanceUpdate{ID: id, Status: st, At: time.Now(), Seq: 1}))
			}
		}
		tables := map[string]string{}
		for _, owner := range []string{"running", "incident", "cancelled", "completed", "vanished", ""} {
			l := partialLoad(t, s, store.NewRelease{DatasetID: "arbres", Key: "k-" + owner, InstanceID: owner, Columns: loadCols})
			tables[owner] = l.Table
		}

		dropped, err := s.SweepReleaseLoads(ctx, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.Empty(t, dropped, "every load moved within the hour")

		dropped, err = s.SweepReleaseLoads(ctx, time.Now().Add(time.Minute))
		require.NoError(t, err)
		var owners []string
		for _, l := range dropped {
			owners = append(owners, l.InstanceID)
		}
		require.ElementsMatch(t, []string{"cancelled", "completed", "vanished", ""}, owners)
		for owner, table := range tables {
			kept := owner == "running" || owner == "incident"
			require.Equal(t, kept, tableExists(t, s, table), "table of the load of %q", owner)
		}
		loads, err := s.ReleaseLoads(ctx, "arbres")
		require.NoError(t, err)
		require.Len(t, loads, 2)

		again, err := s.SweepReleaseLoads(ctx, time.Now().Add(time.Minute))
		require.NoError(t, err)
		require.Empty(t, again)
	})
}
