package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

func TestAuditSearch(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d.URL(t))
			day := func(n int) time.Time { return time.Date(2026, 3, n, 10, 0, 0, 0, time.UTC) }
			for i, e := range []store.AuditEntry{
				{At: day(1), Actor: "a", Action: "auth.login", Outcome: "ok"},
				{At: day(2), Actor: "b", Action: "auth.login", Outcome: "denied", Department: "voirie"},
				{At: day(3), Actor: "a", Action: "task.complete", Outcome: "ok", Department: "voirie"},
				{At: day(4), Actor: "a", Action: "auth.login", Outcome: "ok", Department: "finances"},
			} {
				e.Detail = "{}"
				require.NoError(t, st.AppendAudit(ctx, &e, func(x *store.AuditEntry) error {
					x.PrevHash, x.Hash = "p", "h"+string(rune('0'+i))
					return nil
				}))
			}
			ids := func(q store.AuditQuery) []int64 {
				es, err := st.AuditSearch(ctx, q)
				require.NoError(t, err)
				out := []int64{}
				for _, e := range es {
					out = append(out, e.ID)
				}
				return out
			}
			all := ids(store.AuditQuery{})
			require.Len(t, all, 4)
			newest := all[0]
			tests := []struct {
				name string
				q    store.AuditQuery
				want int
			}{
				{"actor", store.AuditQuery{AuditFilter: store.AuditFilter{Actor: "a"}}, 3},
				{"outcome", store.AuditQuery{AuditFilter: store.AuditFilter{Outcome: "denied"}}, 1},
				{"department", store.AuditQuery{Department: "voirie"}, 2},
				{"from", store.AuditQuery{From: day(3)}, 2},
				{"to", store.AuditQuery{To: day(3)}, 2},
				{"period and actor", store.AuditQuery{AuditFilter: store.AuditFilter{Actor: "a"}, From: day(2), To: day(4)}, 1},
				{"before", store.AuditQuery{AuditFilter: store.AuditFilter{BeforeID: newest}}, 3},
				{"limit", store.AuditQuery{AuditFilter: store.AuditFilter{Limit: 2}}, 2},
			}
			for _, tt := range tests {
				require.Len(t, ids(tt.q), tt.want, tt.name)
			}
		})
	}
}
