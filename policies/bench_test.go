package policies_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/policies"
)

// benchWorld is 20 departments, 2,000 users (one or two roles each, a few
// in "*"), the default rules plus 5 department-specific rules per
// department, and 4,096 questions mixing allowed and refused ones.
type benchWorld struct {
	rules []store.CasbinRule
	ms    []store.Membership
	qs    [][4]string
}

func newBenchWorld() benchWorld {
	r := rand.New(rand.NewPCG(1, 2))
	var w benchWorld
	w.rules, _ = policies.DefaultRules()
	depts := make([]string, 20)
	for i := range depts {
		depts[i] = fmt.Sprintf("dept%02d", i)
		for j := 0; j < 5; j++ {
			w.rules = append(w.rules, rule("steward", depts[i], fmt.Sprintf("reports%d", j), "read"))
		}
	}
	roles := []string{"agent", "steward", "approver", "designer"}
	users := make([]string, 2000)
	home := map[string]string{}
	for i := range users {
		users[i] = fmt.Sprintf("user%04d", i)
		n := 1 + r.IntN(2)
		for k := 0; k < n; k++ {
			d := depts[r.IntN(len(depts))]
			home[users[i]] = d
			w.ms = append(w.ms, mb(users[i], roles[r.IntN(len(roles))], d))
		}
		if i%100 == 0 {
			w.ms = append(w.ms, mb(users[i], "approver", "*"))
		}
	}
	w.ms = append(w.ms, mb("admin", "admin", "*"))
	objs := []string{"tasks", "datasets", "flows", "instances", "users", "reports1", "audit"}
	acts := []string{"read", "complete", "write", "deploy", "admin"}
	for i := 0; i < 4096; i++ {
		u := users[r.IntN(len(users))]
		d := depts[r.IntN(len(depts))]
		if i%2 == 0 {
			d = home[u] // half the questions are about the user's own department
		}
		w.qs = append(w.qs, [4]string{u, d, objs[r.IntN(len(objs))], acts[r.IntN(len(acts))]})
	}
	return w
}

func reportMedian(b *testing.B, decide func(q [4]string) bool, qs [][4]string, samples int) {
	b.Helper()
	ds := make([]time.Duration, 0, samples)
	for i := 0; i < samples; i++ {
		q := qs[i%len(qs)]
		t0 := time.Now()
		decide(q)
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkDecision compares the Authorizer's index with plain Casbin
// Enforce on the same model, rules, memberships and questions.
func BenchmarkDecision(b *testing.B) {
	w := newBenchWorld()
	az, err := policies.NewAuthorizer(context.Background(), &memSource{rules: w.rules, ms: w.ms}, policies.AuthorizerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := policies.NewMemoryEnforcer(w.rules, w.ms)
	if err != nil {
		b.Fatal(err)
	}
	allowed := 0
	for _, q := range w.qs {
		ok, _ := e.Enforce(q[0], q[1], q[2], q[3])
		if ok != az.Decide(q[0], q[1], q[2], q[3]) {
			b.Fatalf("authorizer and Casbin disagree on %v", q)
		}
		if ok {
			allowed++
		}
	}
	b.Logf("%d rules, %d memberships, %d/%d questions allowed", len(w.rules), len(w.ms), allowed, len(w.qs))

	b.Run("authorizer", func(b *testing.B) {
		ctx := context.Background()
		decide := func(q [4]string) bool { return az.Allowed(ctx, q[0], q[1], q[2], q[3]) }
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			decide(w.qs[i%len(w.qs)])
		}
		b.StopTimer()
		reportMedian(b, decide, w.qs, 20000)
	})
	b.Run("authorizer-some-dept", func(b *testing.B) {
		ctx := context.Background()
		decide := func(q [4]string) bool { return az.Allowed(ctx, q[0], "*", q[2], q[3]) }
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			decide(w.qs[i%len(w.qs)])
		}
		b.StopTimer()
		reportMedian(b, decide, w.qs, 20000)
	})
	b.Run("casbin-enforce", func(b *testing.B) {
		decide := func(q [4]string) bool { ok, _ := e.Enforce(q[0], q[1], q[2], q[3]); return ok }
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			decide(w.qs[i%len(w.qs)])
		}
		b.StopTimer()
		reportMedian(b, decide, w.qs, 2000)
	})
}

// BenchmarkRebuild is the cost of rebuilding the index after a change.
func BenchmarkRebuild(b *testing.B) {
	w := newBenchWorld()
	src := &memSource{rules: w.rules, ms: w.ms}
	az, err := policies.NewAuthorizer(context.Background(), src, policies.AuthorizerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := az.Rebuild(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
