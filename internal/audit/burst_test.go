package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestBursts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := audit.NewLogger(st)
		refusal := func(ip string) audit.Entry {
			return audit.Entry{Actor: "anonymous", Action: "access", Outcome: audit.Denied, IP: ip, Detail: `{"status":401}`}
		}

		// Flush records every open burst with its count and samples.
		b := audit.NewBursts(l, time.Hour, nil, nil)
		for i := 0; i < 1000; i++ {
			b.Add("192.0.2.1", refusal("192.0.2.1"), fmt.Sprint("GET /r", i%(audit.MaxSamples+5)))
		}
		b.Add("192.0.2.2", refusal("192.0.2.2"), "GET /x")
		b.Flush(ctx)
		es, err := l.List(ctx, store.AuditFilter{})
		require.NoError(t, err)
		require.Len(t, es, 2)
		var d struct {
			Status   int
			Count    int
			Requests map[string]int
			Other    int `json:"other_requests"`
		}
		require.NoError(t, json.Unmarshal([]byte(es[1].Detail), &d))
		require.Equal(t, 401, d.Status, "the first entry's detail is kept")
		require.Equal(t, 1000, d.Count)
		require.Len(t, d.Requests, audit.MaxSamples)
		require.Equal(t, 200, d.Other)
		b.Flush(ctx)
		es, err = l.List(ctx, store.AuditFilter{})
		require.NoError(t, err)
		require.Len(t, es, 2, "nothing left to flush")

		// A burst is recorded by itself when its window ends; the next one starts anew.
		b = audit.NewBursts(l, 50*time.Millisecond, nil, nil)
		for i := 0; i < 10; i++ {
			b.Add("192.0.2.3", refusal("192.0.2.3"), "GET /y")
		}
		require.Eventually(t, func() bool {
			es, err := l.List(ctx, store.AuditFilter{})
			return err == nil && len(es) == 3
		}, 5*time.Second, 10*time.Millisecond)
		b.Add("192.0.2.3", refusal("192.0.2.3"), "GET /y")
		b.Flush(ctx)
		es, err = l.List(ctx, store.AuditFilter{})
		require.NoError(t, err)
		require.Len(t, es, 4)
		require.Contains(t, es[1].Detail, `"count":10`)
		require.Contains(t, es[0].Detail, `"count":1`)

		// Past MaxOpen addresses, refusals share one burst.
		b = audit.NewBursts(l, time.Hour, nil, nil)
		for i := 0; i < audit.MaxOpen+50; i++ {
			ip := fmt.Sprintf("10.%d.%d.1", i/256, i%256)
			b.Add(ip, refusal(ip), "GET /z")
		}
		b.Flush(ctx)
		es, err = l.List(ctx, store.AuditFilter{Limit: 1000, Outcome: audit.Denied, Actor: "anonymous"})
		require.NoError(t, err)
		require.Equal(t, `{"count":50,`, es[0].Detail[:12], "the overflow burst")
		require.Equal(t, "*", es[0].IP)

		bad, err := l.Verify(ctx)
		require.NoError(t, err)
		require.Nil(t, bad)
	})
}
