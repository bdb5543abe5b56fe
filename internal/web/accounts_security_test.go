package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/auth/oidctest"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
	"github.com/civicflow/civicflow/internal/web"
)

// Regression tests of issue 8, points 8 (accounts), 9 (audit flooding) and
// 10 (OIDC email_verified), at HTTP level on both database dialects.

// sleeps records the progressive delays asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds = append(s.ds, d)
	return nil
}

// take returns the delays asked for since the last take.
func (s *sleeps) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := s.ds
	s.ds = nil
	return ds
}

type secBundle struct {
	peopleBundle
	sleeps *sleeps
}

// securitySetup is the in-process server on a demo database of dialect d;
// the clock of the auth service is frozen, and progressive delays are
// recorded instead of waited for.
func securitySetup(t *testing.T, d storetest.Dialect, cfg config.Config, tune func(*auth.Options)) secBundle {
	t.Helper()
	st := storetest.Open(t, d.URL(t))
	require.NoError(t, auth.SeedDemo(context.Background(), st, "demo"))
	sl := &sleeps{}
	frozen := time.Now().Truncate(time.Microsecond) // as the store keeps times
	srv, err := web.New(web.Deps{Config: cfg, Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TuneAuth: func(o *auth.Options) {
		o.Sleep = sl.sleep
		o.Now = func() time.Time { return frozen }
		if tune != nil {
			tune(o)
		}
	}})
	require.NoError(t, err)
	return secBundle{peopleBundle{srv: srv, st: st}, sl}
}

func eachDialect(t *testing.T, fn func(t *testing.T, d storetest.Dialect)) {
	for _, d := range storetest.Dialects() {
		t.Run(d.Name, func(t *testing.T) { fn(t, d) })
	}
}

func loginBody(user, password string) string {
	b, _ := json.Marshal(map[string]string{"username": user, "password": password})
	return string(b)
}

func auditOf(t *testing.T, st *store.Store, f store.AuditFilter) []store.AuditEntry {
	t.Helper()
	f.Limit = 1000
	es, err := st.AuditEntries(context.Background(), f)
	require.NoError(t, err)
	return es
}

func requireAuditIntact(t *testing.T, st *store.Store) {
	t.Helper()
	bad, err := audit.Verify(context.Background(), st)
	require.NoError(t, err)
	require.Nil(t, bad)
}

// Point 8: a known user with a wrong password and an unknown user get the
// same answer, with the same headers, the same progressive delay and about
// the same time, however many failures there were — no 423, and the owner
// still gets in with the right password.
func TestSecurityLoginNoEnumeration(t *testing.T) {
	eachDialect(t, func(t *testing.T, d storetest.Dialect) {
		b := securitySetup(t, d, config.Default(), nil)
		type answer struct {
			status int
			detail any
			www    string
			delays []time.Duration
		}
		try := func(user string, i int) answer {
			r := b.do("POST", "/api/v1/login", loginBody(user, "wrong-"+fmt.Sprint(i)), "", fmt.Sprintf("198.18.%d.%d", len(user), i))
			return answer{r.status, r.json(t)["detail"], r.header.Get("WWW-Authenticate"), b.sleeps.take()}
		}
		for i := 0; i < 8; i++ {
			known, unknown, invalid := try("dgs", i), try("ghost.user", i), try("Not A User!", i)
			require.Equal(t, 401, known.status, "attempt %d: no lock (423) after failures", i)
			require.Equal(t, known, unknown, "attempt %d", i)
			require.Equal(t, known, invalid, "attempt %d", i)
			require.Equal(t, "wrong username or password", known.detail)
			require.Equal(t, i >= 3, len(known.delays) == 1, "attempt %d: the delay starts after 3 failures, for known and unknown alike", i)
		}

		// The DGS is not locked out: the right password gets in (after the delay).
		r := b.do("POST", "/api/v1/login", loginBody("dgs", "demo"), "", "198.18.200.1")
		require.Equal(t, 200, r.status, r.body)
		require.Len(t, b.sleeps.take(), 1)

		// Same time: the unknown user's password is checked against a dummy
		// hash. Medians of alternated attempts (a missing hash would be ~100× faster).
		var tk, tu []time.Duration
		for i := 0; i < 7; i++ {
			for _, u := range []string{"agent.finances", "nobody.here"} {
				start := time.Now()
				r := b.do("POST", "/api/v1/login", loginBody(u, "wrong"), "", fmt.Sprintf("198.19.%d.%d", len(u), i))
				el := time.Since(start)
				require.Equal(t, 401, r.status)
				if u == "nobody.here" {
					tu = append(tu, el)
				} else {
					tk = append(tk, el)
				}
			}
		}
		slices.Sort(tk)
		slices.Sort(tu)
		mk, mu := tk[len(tk)/2], tu[len(tu)/2]
		t.Logf("median login time: known user %v, unknown user %v", mk, mu)
		require.Less(t, float64(mk)/float64(mu), 3.0)
		require.Less(t, float64(mu)/float64(mk), 3.0)
	})
}

// Point 8: brute force on one account, even from many addresses, is slowed
// by a delay that doubles with each failure after the third (1 s, 2 s, 4 s…
// capped at 30 s); the owner still gets in, and a success resets it.
func TestSecurityLoginProgressiveDelay(t *testing.T) {
	eachDialect(t, func(t *testing.T, d storetest.Dialect) {
		b := securitySetup(t, d, config.Default(), nil)
		want := []time.Duration{0, 0, 0, 1, 2, 4, 8, 16, 30, 30}
		for i, w := range want {
			r := b.do("POST", "/api/v1/login", loginBody("steward.finances", "guess"), "", fmt.Sprintf("192.0.2.%d", 10+i))
			require.Equal(t, 401, r.status)
			ds := b.sleeps.take()
			if w == 0 {
				require.Empty(t, ds, "attempt %d", i+1)
				continue
			}
			require.Len(t, ds, 1, "attempt %d", i+1)
			require.Equal(t, w*time.Second, ds[0], "attempt %d", i+1)
		}
		r := b.do("POST", "/api/v1/login", loginBody("steward.finances", "demo"), "", "192.0.2.99")
		require.Equal(t, 200, r.status, "the owner gets in")
		require.Len(t, b.sleeps.take(), 1)
		r = b.do("POST", "/api/v1/login", loginBody("steward.finances", "typo"), "", "192.0.2.99")
		require.Equal(t, 401, r.status)
		require.Empty(t, b.sleeps.take(), "a success starts the count again")

		es := auditOf(t, b.st, store.AuditFilter{Action: "auth.login", Actor: "steward.finances", Outcome: audit.Denied})
		require.Len(t, es, 11, "every failed sign-in is audited")
		require.Contains(t, es[1].Detail, `"consecutive_failures":10`)
	})
}

// Point 8: forty colleagues behind the town hall's NAT sign in within a
// minute — at the same moment, some after a typo — and all get in: the
// per-address limit counts failures only. Failures beyond it get 429 with
// Retry-After and RateLimit-* headers, for that address only.
func TestSecurityNATStaffAllGetIn(t *testing.T) {
	eachDialect(t, func(t *testing.T, d storetest.Dialect) {
		b := securitySetup(t, d, config.Default(), nil)
		ctx := context.Background()
		const pw = "Mairie-Accueil-2031!"
		h, err := auth.HashPassword(pw, auth.DefaultArgon2)
		require.NoError(t, err)
		for i := 0; i < 40; i++ {
			require.NoError(t, b.st.CreateUser(ctx, &store.User{Username: fmt.Sprintf("agent%02d", i), DisplayName: "Agent", PasswordHash: &h}))
		}
		const nat = "203.0.113.7"
		var wg sync.WaitGroup
		statuses := make([]int, 40)
		typos := make([]int, 40)
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				user := fmt.Sprintf("agent%02d", i)
				if i%4 == 0 { // ten of them mistype first
					typos[i] = b.do("POST", "/api/v1/login", loginBody(user, pw+"x"), "", nat).status
				}
				statuses[i] = b.do("POST", "/api/v1/login", loginBody(user, pw), "", nat).status
			}()
		}
		wg.Wait()
		for i, st := range statuses {
			require.Equal(t, 200, st, "agent%02d gets in", i)
			if i%4 == 0 {
				require.Equal(t, 401, typos[i])
			}
		}

		// An attacker from another address: 20 failures, then 429 — even
		// with a right password — while the NAT and other addresses go on.
		const bad = "198.51.100.66"
		for i := 0; i < 20; i++ {
			require.Equal(t, 401, b.do("POST", "/api/v1/login", loginBody(fmt.Sprintf("agent%02d", i), "guess"), "", bad).status, "failure %d", i+1)
		}
		for _, body := range []string{loginBody("agent01", "guess"), loginBody("agent01", pw)} {
			r := b.do("POST", "/api/v1/login", body, "", bad)
			require.Equal(t, http.StatusTooManyRequests, r.status, r.body)
			require.Contains(t, r.json(t)["detail"], "too many failed login attempts")
			require.NotEmpty(t, r.header.Get("Retry-After"))
			require.Equal(t, "20", r.header.Get("RateLimit-Limit"))
			require.Equal(t, "0", r.header.Get("RateLimit-Remaining"))
			require.NotEmpty(t, r.header.Get("RateLimit-Reset"))
			require.Equal(t, "20;w=60", r.header.Get("RateLimit-Policy"))
		}
		require.Equal(t, 200, b.do("POST", "/api/v1/login", loginBody("agent01", pw), "", nat).status, "the NAT is not punished for another address")
		require.Equal(t, 200, b.do("POST", "/api/v1/login", loginBody("agent02", pw), "", "2001:db8:1::5").status)
		// An IPv6 /64 is one address.
		for i := 0; i < 20; i++ {
			b.do("POST", "/api/v1/login", loginBody("ghost", "guess"), "", fmt.Sprintf("2001:db8:bad::%x", i+1))
		}
		require.Equal(t, http.StatusTooManyRequests, b.do("POST", "/api/v1/login", loginBody("agent03", pw), "", "2001:db8:bad::ffff").status)
	})
}

// Point 8: a password reset by an administrator (and disabling) ends the
// user's sessions and revokes their personal API tokens; a change by the
// user themself ends their other sessions.
func TestSecurityResetRevokesTokens(t *testing.T) {
	eachDialect(t, func(t *testing.T, d storetest.Dialect) {
		b := securitySetup(t, d, config.Default(), nil)
		ctx := context.Background()
		admin := "Bearer " + b.login(t, "admin")
		newToken := func(session string) string {
			r := b.do("POST", "/api/v1/me/tokens", `{"name":"script"}`, "Bearer "+session, "")
			require.Equal(t, 201, r.status, r.body)
			return "Bearer " + r.json(t)["token"].(string)
		}
		me := func(cred string) peopleReply { return b.do("GET", "/api/v1/me", "", cred, "") }

		// Reset by an administrator.
		session := b.login(t, "steward.voirie")
		token := newToken(session)
		require.Equal(t, 200, me(token).status)
		u, err := b.st.UserByUsername(ctx, "steward.voirie")
		require.NoError(t, err)
		const pw = "Nouveau-Depart-2031!"
		r := b.do("PATCH", "/api/v1/users/"+peopleNum(u.ID), `{"password":"`+pw+`"}`, admin, "")
		require.Equal(t, 200, r.status, r.body)
		require.Equal(t, 401, me("Bearer "+session).status, "the session ended")
		r = me(token)
		require.Equal(t, 401, r.status, "the API token is revoked")
		require.Contains(t, r.json(t)["detail"], "revoked")
		require.Equal(t, 401, b.do("POST", "/api/v1/login", loginBody("steward.voirie", "demo"), "", "").status)
		require.Equal(t, 200, b.do("POST", "/api/v1/login", loginBody("steward.voirie", pw), "", "").status)
		es := auditOf(t, b.st, store.AuditFilter{Action: "user.update"})
		require.Contains(t, es[0].Detail, "API tokens revoked")

		// Disabling, then enabling: the tokens stay revoked.
		session = b.login(t, "agent.finances")
		token = newToken(session)
		u, err = b.st.UserByUsername(ctx, "agent.finances")
		require.NoError(t, err)
		require.Equal(t, 200, b.do("PATCH", "/api/v1/users/"+peopleNum(u.ID), `{"disabled":true}`, admin, "").status)
		require.Equal(t, 401, me("Bearer "+session).status)
		require.NotEqual(t, 200, me(token).status)
		require.Equal(t, 200, b.do("PATCH", "/api/v1/users/"+peopleNum(u.ID), `{"disabled":false}`, admin, "").status)
		r = me(token)
		require.Equal(t, 401, r.status)
		require.Contains(t, r.json(t)["detail"], "revoked")

		// A change by the user: other sessions end, this client gets a new one.
		s1, s2 := b.login(t, "designer"), b.login(t, "designer")
		token = newToken(s1)
		r = b.do("POST", "/api/v1/me/password", `{"current":"wrong","new":"Autre-Chemin-2031!"}`, "Bearer "+s1, "")
		require.Equal(t, 403, r.status, r.body)
		r = b.do("POST", "/api/v1/me/password", `{"current":"demo","new":"Autre-Chemin-2031!"}`, "Bearer "+s1, "")
		require.Equal(t, 200, r.status, r.body)
		require.Equal(t, 401, me("Bearer "+s1).status)
		require.Equal(t, 401, me("Bearer "+s2).status)
		require.Equal(t, 200, me("Bearer "+r.json(t)["token"].(string)).status)
		require.Equal(t, 200, me(token).status, "the user's own change keeps their API tokens")
		requireAuditIntact(t, b.st)
	})
}

// Point 8: passwords follow the CNIL's recommendation (deliberation
// 2022-100) and are checked against common passwords; the demo password is
// for --demo seeding only.
func TestSecurityPasswordPolicy(t *testing.T) {
	eachDialect(t, func(t *testing.T, d storetest.Dialect) {
		b := securitySetup(t, d, config.Default(), nil)
		admin := "Bearer " + b.login(t, "admin")
		n := 0
		create := func(pw string) peopleReply {
			n++
			body, _ := json.Marshal(map[string]any{"username": fmt.Sprintf("marcel.dupont%d", n), "email": fmt.Sprintf("m.dupont%d@ville.fr", n), "password": pw})
			return b.do("POST", "/api/v1/users", string(body), admin, "")
		}
		for _, c := range []struct{ pw, why string }{
			{"demo", "too weak"},
			{"abcd", "too weak"},
			{"secret", "too weak"},
			{"Tq7!vRz#2mL", "too weak"},          // 11 characters, four kinds
			{"kxv9tqmzrpw4lbq", "too weak"},      // 15 characters, two kinds
			{"Kxv9tqmzrpw4L", "too weak"},        // 13 characters, three kinds
			{"chat chien loup ours", "too weak"}, // 4 words
			{"Password123!", "too common"},
			{"P@ssw0rd2024!", "too common"},
			{"Motdepasse2024!", "too common"},
			{"Azerty123456!", "too common"},
			{"Bonjour-Soleil-2024", "too common"},
			{"Aa1!Aa1!Aa1!Aa1!", "too common"},
			{"Zzzzzzzzzzzz1!", "too common"},
			{"Qwertyuiop-2031!", "too common"},
			{"Kt!12345678901", "too common"},
			{"Marcel-Velo-Rouge4!", "username"},
			{"Velo-Rouge-Dupont4!", "username"},
		} {
			r := create(c.pw)
			require.Equal(t, 422, r.status, "%q: %s", c.pw, r.body)
			require.Contains(t, r.json(t)["detail"], c.why, c.pw)
			require.NotContains(t, r.body, c.pw, "the password is never repeated")
		}
		require.Contains(t, create("demo").json(t)["detail"], "CNIL")
		for _, pw := range []string{
			"Tq7!vRz#2mLp",     // 12 characters, four kinds
			"Kxv9tqmzrpw4Lb",   // 14 characters, three kinds
			"hibou-Fanal-2031", // 16 characters, four kinds
			"mouette rivage granit tulipe orage baleine fanal", // 7 words
			"le chat de la voisine mange des croquettes",       // 8 words
		} {
			r := create(pw)
			require.Equal(t, 201, r.status, "%q: %s", pw, r.body)
		}

		// A reset and a change follow the policy too, and a refused one changes nothing.
		agent := b.login(t, "agent.voirie")
		u, err := b.st.UserByUsername(context.Background(), "agent.voirie")
		require.NoError(t, err)
		r := b.do("PATCH", "/api/v1/users/"+peopleNum(u.ID), `{"password":"demo1234"}`, admin, "")
		require.Equal(t, 422, r.status, r.body)
		r = b.do("POST", "/api/v1/me/password", `{"current":"demo","new":"demo"}`, "Bearer "+agent, "")
		require.Equal(t, 422, r.status, r.body)
		require.Equal(t, 200, b.do("GET", "/api/v1/me", "", "Bearer "+agent, "").status, "a refused change ends nothing")
		require.Equal(t, 200, b.do("POST", "/api/v1/login", loginBody("agent.voirie", "demo"), "", "").status, "the seeded demo password still works")
	})
}

// Point 9: anonymous refusals are counted per address and window — 3,000
// refused requests make one chained audit entry with the count — while a
// signed-in user's refusals stay one entry each; the chain stays valid.
func TestSecurityAuditFlood(t *testing.T) {
	eachDialect(t, func(t *testing.T, d storetest.Dialect) {
		b := securitySetup(t, d, config.Default(), func(o *auth.Options) { o.AuditBurstWindow = time.Hour })
		ctx := context.Background()
		before := len(auditOf(t, b.st, store.AuditFilter{}))

		const flood = "203.0.113.66"
		for i := 0; i < 3000; i++ {
			path := "/api/v1/users"
			if i%3 == 1 {
				path = "/api/v1/audit"
			}
			cred := ""
			if i%100 == 0 {
				cred = "Bearer cf_forged" + fmt.Sprint(i)
			}
			require.Equal(t, 401, b.do("GET", path, "", cred, flood).status)
		}
		for i := 0; i < 10; i++ {
			require.Equal(t, 401, b.do("GET", "/api/v1/users", "", "", "198.51.100.77").status)
		}
		// Sign-ins beyond the per-address limit: 20 failures audited one by
		// one, the 500 refused attempts after them in one entry.
		for i := 0; i < 520; i++ {
			b.do("POST", "/api/v1/login", loginBody(fmt.Sprintf("guess%d", i%7), "x"), "", "203.0.113.67")
		}
		agent := "Bearer " + b.login(t, "agent.voirie")
		for i := 0; i < 5; i++ {
			require.Equal(t, 403, b.do("GET", "/api/v1/users", "", agent, flood).status)
		}
		b.srv.Auth().FlushAudit(ctx)

		all := auditOf(t, b.st, store.AuditFilter{})
		require.Less(t, len(all)-before, 40, "3,530 refusals make a few entries, not thousands")
		byIP := func(ip, actor, action string) []store.AuditEntry {
			var out []store.AuditEntry
			for _, e := range all {
				if e.IP == ip && e.Actor == actor && e.Action == action {
					out = append(out, e)
				}
			}
			return out
		}
		count := func(e store.AuditEntry) int {
			var d struct{ Count int }
			require.NoError(t, json.Unmarshal([]byte(e.Detail), &d))
			return d.Count
		}
		es := byIP(flood, "anonymous", "access")
		require.Len(t, es, 1)
		require.Equal(t, 3000, count(es[0]))
		require.Equal(t, audit.Denied, es[0].Outcome)
		require.Contains(t, es[0].Detail, `"GET /api/v1/users 401":2000`)
		require.Contains(t, es[0].Detail, `"GET /api/v1/audit 401":1000`)
		es = byIP("198.51.100.77", "anonymous", "access")
		require.Len(t, es, 1)
		require.Equal(t, 10, count(es[0]))

		es = byIP("203.0.113.67", "anonymous", "auth.login")
		require.Len(t, es, 1, "the throttled sign-ins")
		require.Equal(t, 500, count(es[0]))
		require.Contains(t, es[0].Detail, "rate limited")
		require.Contains(t, es[0].Detail, `"guess6":`)
		failures := 0
		for _, e := range all {
			if e.IP == "203.0.113.67" && e.Actor != "anonymous" {
				failures++
			}
		}
		require.Equal(t, 20, failures, "failed sign-ins stay individual (the per-address limit bounds them)")

		require.Len(t, byIP(flood, "agent.voirie", "access"), 5, "a signed-in user's refusals stay individual")
		requireAuditIntact(t, b.st)
		r := b.do("GET", "/api/v1/audit/verify", "", "Bearer "+b.login(t, "admin"), "")
		require.Equal(t, 200, r.status)
		require.Equal(t, true, r.json(t)["intact"])
	})
}

// Point 10: an OIDC sign-in matches an account by e-mail only when the
// provider says the address is verified (email_verified, which ProConnect
// sends); forged callbacks are audited per burst.
func TestSecurityOIDCEmailVerified(t *testing.T) {
	m := oidctest.New(t)
	eachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cfg := config.Default()
		cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret = m.Issuer(), oidctest.ClientID, oidctest.ClientSecret
		cfg.OIDCRedirectURL = "http://civicflow.test/auth/oidc/callback"
		b := securitySetup(t, d, cfg, func(o *auth.Options) { o.AuditBurstWindow = time.Hour })
		signIn := func(t *testing.T) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			b.srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/auth/oidc/login", nil))
			require.Equal(t, http.StatusFound, rec.Code, rec.Body.String())
			var ck *http.Cookie
			for _, c := range rec.Result().Cookies() {
				if c.Name == "civicflow_oidc" {
					ck = c
				}
			}
			require.NotNil(t, ck)
			code, state := m.Authorize(t, rec.Header().Get("Location"))
			req := httptest.NewRequest("GET", "/auth/oidc/callback?code="+code+"&state="+url.QueryEscape(state), nil)
			req.AddCookie(ck)
			rec = httptest.NewRecorder()
			b.srv.Handler().ServeHTTP(rec, req)
			return rec
		}
		session := func(rec *httptest.ResponseRecorder) string {
			for _, c := range rec.Result().Cookies() {
				if c.Name == auth.CookieName && c.Value != "" {
					return c.Value
				}
			}
			return ""
		}
		for _, c := range []struct {
			name     string
			verified any
			ok       bool
		}{
			{"verified", nil, true},
			{"verified as a string", "true", true},
			{"not verified", false, false},
			{"not said", oidctest.Omit, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				m.EmailVerified = c.verified
				defer m.Reset()
				rec := signIn(t)
				if c.ok {
					require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
					r := b.do("GET", "/api/v1/me", "", "cookie:"+session(rec), "")
					require.Equal(t, 200, r.status)
					require.Equal(t, "agent.voirie", r.json(t)["username"])
					return
				}
				require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
				require.Contains(t, rec.Body.String(), "email_verified")
				require.Empty(t, session(rec), "no session")
			})
		}
		es := auditOf(t, b.st, store.AuditFilter{Action: "auth.login", Outcome: audit.Denied})
		unverified := 0
		for _, e := range es {
			if strings.Contains(e.Detail, "e-mail not verified") {
				unverified++
				require.Equal(t, "Agent.Voirie@Demo.Civicflow.FR", e.Actor)
			}
		}
		require.Equal(t, 2, unverified, "each refused sign-in through the provider is audited")

		// Forged callbacks (no cookie, made-up state) cost one entry per burst.
		for i := 0; i < 300; i++ {
			req := httptest.NewRequest("GET", "/auth/oidc/callback?code=x&state=y", nil)
			req.RemoteAddr = "203.0.113.99:5555"
			rec := httptest.NewRecorder()
			b.srv.Handler().ServeHTTP(rec, req)
			require.Equal(t, 400, rec.Code)
		}
		b.srv.Auth().FlushAudit(context.Background())
		n := 0
		for _, e := range auditOf(t, b.st, store.AuditFilter{Action: "auth.login"}) {
			if e.IP == "203.0.113.99" {
				n++
				require.Contains(t, e.Detail, `"count":300`)
				require.Contains(t, e.Detail, "state mismatch")
			}
		}
		require.Equal(t, 1, n)
		requireAuditIntact(t, b.st)
	})
}
