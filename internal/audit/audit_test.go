package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func fill(t *testing.T, l *audit.Logger, n int, at time.Time) {
	t.Helper()
	for i := 0; i < n; i++ {
		require.NoError(t, l.Record(context.Background(), audit.Entry{
			At: at.Add(time.Duration(i) * time.Minute), Actor: "agent.voirie", Action: "task.complete",
			ObjectType: "task", ObjectID: fmt.Sprint(i), Department: "voirie", IP: "192.0.2.1",
			Detail: audit.Detail(map[string]any{"decision": "approve", "n": i}),
		}))
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)
	for _, c := range []struct {
		name   string
		tamper string // SQL run on the database
		bad    int64  // first bad entry
	}{
		{"untouched", "", 0},
		{"altered", `UPDATE audit_log SET actor = 'intrus' WHERE id = 3`, 3},
		{"altered detail", `UPDATE audit_log SET detail = '{"decision":"reject","n":4}' WHERE id = 5`, 5},
		{"deleted", `DELETE FROM audit_log WHERE id = 4`, 5},
		{"deleted last", `DELETE FROM audit_log WHERE id = 6`, 6},
		{"reordered", `UPDATE audit_log SET id = 100 WHERE id = 2; UPDATE audit_log SET id = 2 WHERE id = 4; UPDATE audit_log SET id = 4 WHERE id = 100`, 2},
		{"rehashed alone", `UPDATE audit_log SET action = 'x', hash = 'f00d' WHERE id = 2`, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				ctx := context.Background()
				l := audit.NewLogger(st)
				fill(t, l, 6, at)
				for _, q := range strings.Split(c.tamper, ";") {
					if q = strings.TrimSpace(q); q != "" {
						_, err := st.DB().Exec(q)
						require.NoError(t, err)
					}
				}
				bad, err := l.Verify(ctx)
				if c.bad == 0 {
					require.NoError(t, err)
					require.Nil(t, bad)
					return
				}
				var be *audit.BrokenError
				require.ErrorAs(t, err, &be)
				require.NotNil(t, bad)
				require.Equal(t, c.bad, bad.ID, "%v", err)
				require.Equal(t, c.bad, be.ID)
			})
		})
	}
}

func TestRecordValidatesAndChains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := audit.NewLogger(st)
		require.Error(t, l.Record(ctx, audit.Entry{}))
		require.Error(t, l.Record(ctx, audit.Entry{Action: "x", Outcome: "maybe"}))
		require.Error(t, l.Record(ctx, audit.Entry{Action: "x", Detail: "[1]"}))
		require.NoError(t, l.Record(ctx, audit.Entry{Action: "login", Actor: "dgs", Detail: `{ "b": 1 }`}))
		require.NoError(t, l.Record(ctx, audit.Entry{Action: "access", Actor: "agent.voirie", Outcome: audit.Denied}))
		es, err := l.List(ctx, store.AuditFilter{})
		require.NoError(t, err)
		require.Len(t, es, 2)
		require.Equal(t, int64(2), es[0].ID)
		require.Equal(t, es[1].Hash, es[0].PrevHash)
		require.Equal(t, store.GenesisHash, es[1].PrevHash)
		require.Equal(t, `{"b":1}`, es[1].Detail)
		require.Equal(t, audit.OK, es[1].Outcome)
		es, err = l.List(ctx, store.AuditFilter{Outcome: audit.Denied})
		require.NoError(t, err)
		require.Len(t, es, 1)
	})
}

func TestPruneKeepsChainVerifiable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := audit.NewLogger(st)
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		fill(t, l, 5, at)
		n, err := l.Prune(ctx, at.Add(150*time.Second)) // entries at 0, 1, 2 minutes
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
		bad, err := l.Verify(ctx)
		require.NoError(t, err)
		require.Nil(t, bad)
		fill(t, l, 2, at.Add(time.Hour))
		bad, err = l.Verify(ctx)
		require.NoError(t, err)
		require.Nil(t, bad)

		// Prune everything: new entries continue from the anchor.
		_, err = l.Prune(ctx, at.Add(24*time.Hour))
		require.NoError(t, err)
		require.NoError(t, l.Record(ctx, audit.Entry{Action: "after"}))
		es, err := l.List(ctx, store.AuditFilter{})
		require.NoError(t, err)
		require.Len(t, es, 1)
		require.EqualValues(t, 8, es[0].ID)
		bad, err = l.Verify(ctx)
		require.NoError(t, err)
		require.Nil(t, bad)

		// Deleting the entry right after the anchor is caught.
		_, err = st.DB().Exec(`DELETE FROM audit_log WHERE id = 8`)
		require.NoError(t, err)
		bad, err = l.Verify(ctx)
		require.Error(t, err)
		require.EqualValues(t, 8, bad.ID)
	})
}

func TestConcurrentAppendsStayChained(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := audit.NewLogger(st)
		errs := make(chan error, 40)
		for i := 0; i < 40; i++ {
			go func() { errs <- l.Record(ctx, audit.Entry{Action: "concurrent", Actor: fmt.Sprint(i)}) }()
		}
		for i := 0; i < 40; i++ {
			require.NoError(t, <-errs)
		}
		bad, err := l.Verify(ctx)
		require.NoError(t, err)
		require.Nil(t, bad)
	})
}
