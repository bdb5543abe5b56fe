package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/workflows"
)

// The public API's gateway (internal/apigw) end to end: keys, limits,
// headers, usage log, across two processes on one PostgreSQL.

const exploreCatalog = "/api/explore/v2.1/catalog/datasets"

// callResult is one answer of the public API.
type callResult struct {
	status int
	header http.Header
	body   string
}

// publicCall calls base+path with an optional API key (header form).
func publicCall(t *testing.T, base, path, key string) callResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Apikey "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return callResult{status: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return callResult{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

type newKey struct {
	ID     int64  `json:"id"`
	Key    string `json:"key"`
	Prefix string `json:"prefix"`
	Plan   string `json:"plan"`
}

// setPlan changes a plan's limits through the admin API.
func setPlan(t *testing.T, admin *user, id string, rate float64, burst int, perDay, perMonth int64) {
	t.Helper()
	st := admin.json(http.MethodPut, "/api/v1/apiplans/"+id, map[string]any{"label": "Test " + id, "ratePerSecond": rate, "burst": burst, "perDay": perDay, "perMonth": perMonth}, nil)
	require.Equal(t, 200, st)
	time.Sleep(1100 * time.Millisecond) // plans are cached for a second in every process
}

func countUsage(t *testing.T, e *env, since time.Time) int {
	t.Helper()
	var n int
	require.NoError(t, e.app.Store.DB().Get(&n, e.app.Store.DB().Rebind(`SELECT COUNT(*) FROM api_usage WHERE at >= ?`), since.UTC()))
	return n
}

// TestAPIKeyLifecycle: a key is shown once and stored hashed; rotation
// keeps the old key for the overlap; a revocation on one process is
// refused by the other within a second; headers and usage.
func TestAPIKeyLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two whole processes")
	}
	dbURL := storetest.PostgresURL(t)
	a := startAppOn(t, dbURL)
	b := startAppOn(t, dbURL)
	admin := a.login("admin")

	var cons struct{ ID int64 }
	require.Equal(t, 201, admin.json(http.MethodPost, "/api/v1/apiconsumers", map[string]any{"name": "Ana Réutilise", "email": "ana@example.org", "organisation": "Asso"}, &cons))
	// Unknown JSON members and bad input are refused.
	require.Equal(t, 400, admin.json(http.MethodPost, "/api/v1/apikeys", map[string]any{"name": "x", "plan": "registered", "consumer": cons.ID, "admin": true}, nil))
	require.Equal(t, 422, admin.json(http.MethodPost, "/api/v1/apikeys", map[string]any{"name": "x", "plan": "gold"}, nil))
	require.Equal(t, 422, admin.json(http.MethodPost, "/api/v1/apikeys", map[string]any{"name": "x", "consumer": 999999}, nil))
	require.Equal(t, 403, a.login("steward.voirie").json(http.MethodPost, "/api/v1/apikeys", map[string]any{"name": "x"}, nil))

	var k newKey
	require.Equal(t, 201, admin.json(http.MethodPost, "/api/v1/apikeys", map[string]any{"name": "appli", "plan": "registered", "consumer": cons.ID}, &k))
	require.True(t, strings.HasPrefix(k.Key, "cfk_") && len(k.Key) == 56, k.Key)
	require.Equal(t, k.Key[:12], k.Prefix)

	// Shown once: the list has the prefix, never the key; the database has the hash.
	req, _ := http.NewRequest(http.MethodGet, a.base+"/api/v1/apikeys", nil)
	req.Header.Set("Authorization", "Bearer "+admin.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(list), k.Prefix)
	require.NotContains(t, string(list), k.Key)
	require.NotContains(t, string(list), k.Key[12:])
	var row struct {
		Hash   string `db:"hash"`
		Prefix string `db:"prefix"`
	}
	require.NoError(t, a.app.Store.DB().Get(&row, a.app.Store.DB().Rebind(`SELECT hash, prefix FROM api_keys WHERE id = ?`), k.ID))
	sum := sha256.Sum256([]byte(k.Key))
	require.Equal(t, hex.EncodeToString(sum[:]), row.Hash)
	var leaks int
	require.NoError(t, a.app.Store.DB().Get(&leaks, `SELECT COUNT(*) FROM api_keys WHERE hash LIKE '%cfk_%' OR name LIKE '%cfk_%' OR prefix LIKE '%`+k.Key[12:20]+`%'`))
	require.Zero(t, leaks)

	// Headers on metered answers, both key forms, both processes.
	for _, base := range []string{a.base, b.base} {
		r := publicCall(t, base, exploreCatalog, k.Key)
		require.Equal(t, 200, r.status, r.body)
		require.Contains(t, r.header.Get("RateLimit-Policy"), `"burst";q=2000;w=40`)
		require.Contains(t, r.header.Get("RateLimit-Policy"), `"day";q=500000;w=86400`)
		require.Regexp(t, `^"burst";r=\d+;t=\d+, "day";r=\d+;t=\d+, "month";r=\d+;t=\d+$`, r.header.Get("RateLimit"))
		require.Equal(t, 200, publicCall(t, base, exploreCatalog+"?apikey="+k.Key, "").status)
	}
	r := publicCall(t, a.base, exploreCatalog, "cfk_"+strings.Repeat("a", 52))
	require.Equal(t, 401, r.status)
	require.Contains(t, r.body, `"error_code":"InvalidAPIKeyError"`)
	anon := publicCall(t, a.base, exploreCatalog, "")
	require.Equal(t, 200, anon.status)
	require.Contains(t, anon.header.Get("RateLimit-Policy"), `"day";q=50000;w=86400`)

	// Rotation: the new key works, the old one still does (overlap).
	var k2 newKey
	require.Equal(t, 201, admin.json(http.MethodPost, fmt.Sprintf("/api/v1/apikeys/%d/rotate", k.ID), nil, &k2))
	require.NotEqual(t, k.Key, k2.Key)
	require.Equal(t, 409, admin.json(http.MethodPost, fmt.Sprintf("/api/v1/apikeys/%d/rotate", k.ID), nil, nil), "a key rotates once")
	for _, key := range []string{k.Key, k2.Key} {
		require.Equal(t, 200, publicCall(t, b.base, exploreCatalog, key).status)
	}

	// The reuser's own usage (after a flush).
	time.Sleep(1500 * time.Millisecond)
	var usage struct {
		Plan       string `json:"plan"`
		TotalCalls int    `json:"total_calls"`
		Usage      []struct {
			Calls int `json:"calls"`
		} `json:"usage"`
	}
	r = publicCall(t, b.base, "/api/explore/v2.1/usage", k2.Key)
	require.Equal(t, 200, r.status, r.body)
	require.NoError(t, jsonUnmarshal(r.body, &usage))
	require.Equal(t, "registered", usage.Plan)
	require.Equal(t, 6, usage.TotalCalls, "2 processes × (header + query) + 2 after the rotation: %s", r.body)
	require.Equal(t, 401, publicCall(t, b.base, "/api/explore/v2.1/usage", "").status)

	// Revocation on A: B refuses the key within a second.
	require.Equal(t, 200, publicCall(t, b.base, exploreCatalog, k2.Key).status) // cached on B now
	require.Equal(t, 200, admin.json(http.MethodPost, fmt.Sprintf("/api/v1/apikeys/%d/revoke", k2.ID), nil, nil))
	revoked := time.Now()
	require.Equal(t, 401, publicCall(t, a.base, exploreCatalog, k2.Key).status, "the revoking process refuses at once")
	for publicCall(t, b.base, exploreCatalog, k2.Key).status != 401 {
		require.Less(t, time.Since(revoked), time.Second, "B still accepts the revoked key")
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("revoked key refused by the other process after %s", time.Since(revoked).Round(time.Millisecond))

	// Expiry in the past is refused; a future one is set.
	require.Equal(t, 422, admin.json(http.MethodPut, fmt.Sprintf("/api/v1/apikeys/%d/expiry", k.ID), map[string]any{"expiresAt": time.Now().Add(-time.Hour)}, nil))
	require.Equal(t, 200, admin.json(http.MethodPut, fmt.Sprintf("/api/v1/apikeys/%d/expiry", k.ID), map[string]any{"expiresAt": time.Now().Add(time.Hour)}, nil))

	// Every change is audited.
	var actions []string
	require.NoError(t, a.app.Store.DB().Select(&actions, `SELECT action FROM audit_log WHERE action LIKE 'api%' ORDER BY id`))
	require.Equal(t, []string{"apiconsumer.create", "apikey.create", "apikey.rotate", "apikey.revoke", "apikey.expiry"}, actions)
}

// burst sends n calls with conc workers, alternating over bases, and
// returns the answers. Connection errors are status -1.
func burst(t *testing.T, bases []string, path, key string, n, conc int) []callResult {
	t.Helper()
	out := make([]callResult, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				out[i] = publicCall(t, bases[i%len(bases)], path, key)
			}
		}()
	}
	wg.Wait()
	return out
}

// tally checks the answers of a burst: only 200 and 429, every answer with
// the RateLimit headers, every 429 with Retry-After and Opendatasoft's
// quota body; it returns how many passed.
func tally(t *testing.T, rs []callResult) (passed, limited int) {
	t.Helper()
	for _, r := range rs {
		switch r.status {
		case 200:
			passed++
		case 429:
			limited++
			require.NotEmpty(t, r.header.Get("Retry-After"))
			require.Contains(t, r.body, `"errorcode":10002`)
			require.Contains(t, r.body, `"limit_time_unit":"day"`)
			require.Contains(t, r.body, `"call_limit":300`)
			require.Contains(t, r.body, `"reset_time":"`)
		default:
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		require.NotEmpty(t, r.header.Get("RateLimit-Policy"))
		require.Contains(t, r.header.Get("RateLimit"), `"day";r=`)
	}
	return passed, limited
}

// TestAPIBurstExact: 1,500 calls in a few seconds, anonymous then with a
// key, pass exactly as many times as the daily quota allows (300); the
// others get 429 with headers; no 5xx; every call is in the usage log.
func TestAPIBurstExact(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole application")
	}
	e := startApp(t)
	// The usage retention schedule exists (daily purge, 12 months by default).
	d, err := e.app.Temporal.ScheduleClient().GetHandle(context.Background(), workflows.UsagePurgeSchedule).Describe(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, d.Info.NextActionTimes)
	admin := e.login("admin")
	setPlan(t, admin, "anonymous", 0, 0, 300, 0)
	setPlan(t, admin, "registered", 0, 0, 300, 0)
	var k newKey
	require.Equal(t, 201, admin.json(http.MethodPost, "/api/v1/apikeys", map[string]any{"name": "charge"}, &k))

	for _, key := range []string{"", k.Key} {
		start := time.Now()
		rs := burst(t, []string{e.base}, exploreCatalog, key, 1500, 24)
		took := time.Since(start)
		passed, limited := tally(t, rs)
		t.Logf("key=%v: 1500 calls in %s: %d passed, %d limited", key != "", took.Round(time.Millisecond), passed, limited)
		require.Equal(t, 300, passed)
		require.Equal(t, 1200, limited)
		require.Less(t, took, 60*time.Second)
	}
	time.Sleep(1200 * time.Millisecond)
	m := publicCall(t, e.base, "/metrics", "")
	require.Equal(t, 200, m.status)
	require.Regexp(t, `civicflow_apigw_usage_written_total \d{4}`, m.body, "3,000 calls written")
	require.Contains(t, m.body, "civicflow_apigw_usage_pending 0")
	require.Contains(t, m.body, `civicflow_apigw_calls_total{outcome="limited"} 2400`)
}

// TestAPISharedLimitTwoProcesses: two serve processes on one PostgreSQL
// enforce one limit; a graceful restart of one of them in the middle loses
// no usage row.
func TestAPISharedLimitTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three whole processes")
	}
	dbURL := storetest.PostgresURL(t)
	a := startAppOn(t, dbURL)
	b := startAppOn(t, dbURL)
	admin := a.login("admin")
	setPlan(t, admin, "anonymous", 0, 0, 300, 0)
	since := time.Now().Add(-time.Second)

	rs := burst(t, []string{a.base, b.base}, exploreCatalog, "", 750, 16)
	// Graceful restart of B in the middle: its usage log is flushed on stop.
	b.app.Stop()
	b2 := startAppOn(t, dbURL)
	rs = append(rs, burst(t, []string{a.base, b2.base}, exploreCatalog, "", 750, 16)...)
	passed, limited := tally(t, rs)
	t.Logf("two processes, 1500 calls: %d passed, %d limited", passed, limited)
	require.Equal(t, 300, passed, "one shared allowance")
	require.Equal(t, 1200, limited)

	time.Sleep(1500 * time.Millisecond) // the last flush
	require.Equal(t, 1500, countUsage(t, a, since), "every call is in the usage log")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
