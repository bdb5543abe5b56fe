package web_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/web/ui"
)

var (
	jetonRE  = regexp.MustCompile(`jeton=([A-Za-z0-9_-]+)`)
	rcsrfRE  = regexp.MustCompile(`name="_rcsrf" value="([0-9a-f]+)"`)
	newKeyRE = regexp.MustCompile(`id="cle-secrete" class="secret" type="text" readonly value="([^"]+)"`)
	keyIDRE  = regexp.MustCompile(`/developers/compte/cles/(\d+)/revoquer`)
)

// signUpReuser signs a reuser up, follows the e-mail's link and returns its
// browser, signed in.
func signUpReuser(t *testing.T, b peopleBundle, name, email string) *browser {
	t.Helper()
	br := &browser{t: t, b: b}
	rec := br.do(http.MethodPost, "/developers/inscription", url.Values{"name": {name}, "email": {email}, "organisation": {"Start-up " + name}, "intended_use": {"Une carte des travaux"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, page(rec), "un courriel vient d'y être envoyé")
	token := mailToken(t, b, email, "/developers/verification?jeton=")
	rec = br.do(http.MethodGet, "/developers/verification?jeton="+token, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, page(rec), "Confirmer mon adresse")
	rec = br.do(http.MethodPost, "/developers/verification", url.Values{"jeton": {token}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Equal(t, "/developers/compte", rec.Header().Get("Location"))
	return br
}

func mailToken(t *testing.T, b peopleBundle, email, path string) string {
	t.Helper()
	m, err := b.st.LatestMailTo(context.Background(), email)
	require.NoError(t, err)
	require.Contains(t, m.Body, path)
	require.Contains(t, m.Body, "expire dans 30 minutes")
	got := jetonRE.FindStringSubmatch(m.Body)
	require.NotNil(t, got)
	return got[1]
}

func rcsrf(t *testing.T, br *browser) string {
	t.Helper()
	rec := br.do(http.MethodGet, "/developers/compte", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	m := rcsrfRE.FindStringSubmatch(rec.Body.String())
	require.NotNil(t, m)
	return m[1]
}

func createKey(t *testing.T, br *browser, name string) (key string, id string) {
	t.Helper()
	rec := br.do(http.MethodPost, "/developers/compte/cles", url.Values{"_rcsrf": {rcsrf(t, br)}, "name": {name}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	require.Contains(t, page(rec), "elle ne sera plus jamais affichée")
	m := newKeyRE.FindStringSubmatch(rec.Body.String())
	require.NotNil(t, m)
	ids := keyIDRE.FindAllStringSubmatch(rec.Body.String(), -1)
	require.NotEmpty(t, ids)
	return m[1], ids[0][1]
}

func TestReuserSignUpVerifyAndKeys(t *testing.T) {
	b := peopleSetup(t)
	ctx := context.Background()

	// Public pages, in French.
	anon := &browser{t: t, b: b}
	for _, p := range []string{"/developers/inscription", "/developers/connexion", "/developers/limites", "/developers/statut"} {
		rec := anon.do(http.MethodGet, p, nil)
		require.Equal(t, 200, rec.Code, p)
		require.Contains(t, page(rec), `lang="fr"`)
	}
	// Mon compte needs a reuser session.
	rec := anon.do(http.MethodGet, "/developers/compte", nil)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/developers/connexion", rec.Header().Get("Location"))

	alice := signUpReuser(t, b, "Alice Martin", "alice@example.org")
	rec = alice.do(http.MethodGet, "/developers/compte", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, page(rec), "Votre adresse est confirmée")
	require.Contains(t, page(rec), "Alice Martin")

	// A link works once.
	c, err := b.st.APIConsumerByEmail(ctx, "alice@example.org")
	require.NoError(t, err)
	require.True(t, c.Verified)

	// Keys: shown once; only the hash is stored.
	key, id := createKey(t, alice, "Carte des travaux")
	require.True(t, strings.HasPrefix(key, "cfk_") || len(key) > 20, key)
	rec = alice.do(http.MethodGet, "/developers/compte", nil)
	require.NotContains(t, rec.Body.String(), key, "the key is shown once")
	require.Contains(t, page(rec), "Carte des travaux")
	ks, err := b.st.APIKeys(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, ks, 1)
	require.NotEqual(t, key, ks[0].Hash)

	// Rotation states the overlap; the old key stays valid for it.
	rec = alice.do(http.MethodPost, "/developers/compte/cles/"+id+"/renouveler", url.Values{"_rcsrf": {rcsrf(t, alice)}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Contains(t, page(rec), "Clé renouvelée")
	require.Contains(t, page(rec), "L'ancienne clé continue de fonctionner pendant 24 heures")
	old, err := b.st.APIKey(ctx, ks[0].ID)
	require.NoError(t, err)
	require.True(t, old.ValidAt(time.Now().Add(23*time.Hour)))
	require.False(t, old.ValidAt(time.Now().Add(25*time.Hour)))

	// Another reuser cannot touch Alice's keys, nor see them.
	bob := signUpReuser(t, b, "Bob Durand", "bob@example.org")
	_, bobKey := createKey(t, bob, "Appli de Bob")
	for _, action := range []string{"renouveler", "revoquer"} {
		rec = bob.do(http.MethodPost, "/developers/compte/cles/"+id+"/"+action, url.Values{"_rcsrf": {rcsrf(t, bob)}})
		require.Equal(t, http.StatusNotFound, rec.Code, action)
		require.Contains(t, page(rec), "Cette clé d'API n'existe pas.")
	}
	rec = bob.do(http.MethodGet, "/developers/compte", nil)
	require.NotContains(t, rec.Body.String(), "Carte des travaux")
	require.NotContains(t, rec.Body.String(), ks[0].Prefix)

	// Usage: each sees its own calls only, in the chart and the CSV.
	aliceID, bobID := c.ID, int64(0)
	bc, err := b.st.APIConsumerByEmail(ctx, "bob@example.org")
	require.NoError(t, err)
	bobID = bc.ID
	now := time.Now().UTC()
	require.NoError(t, b.st.InsertAPIUsage(ctx, []store.APIUsage{
		{At: now, ConsumerID: &aliceID, Dataset: "travaux-alice", Endpoint: "/records", Status: 200, Bytes: 10, LatencyUS: 1500},
		{At: now, ConsumerID: &aliceID, Dataset: "travaux-alice", Endpoint: "/records", Status: 200, Bytes: 10, LatencyUS: 2500},
		{At: now, ConsumerID: &bobID, Dataset: "secret-de-bob", Endpoint: "/records", Status: 500, Bytes: 10, LatencyUS: 90000},
	}))
	rec = alice.do(http.MethodGet, "/developers/compte", nil)
	require.Contains(t, page(rec), "travaux-alice")
	require.NotContains(t, rec.Body.String(), "secret-de-bob")
	require.Contains(t, page(rec), "<svg")
	require.Contains(t, page(rec), ui.FormatDate(time.Now().UTC()), "the chart's axis names its days")
	rec = alice.do(http.MethodGet, "/developers/compte/usage.csv", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, page(rec), "jour,jeu_de_donnees,appels,erreurs,octets")
	require.Contains(t, page(rec), ",travaux-alice,2,0,20")
	require.NotContains(t, rec.Body.String(), "secret-de-bob")
	require.Equal(t, 400, alice.do(http.MethodGet, "/developers/compte/usage.csv?jours=-3", nil).Code)

	// The status page measures the usage log.
	rec = anon.do(http.MethodGet, "/developers/statut", nil)
	require.Contains(t, page(rec), "<code>/records</code>")
	require.Contains(t, page(rec), "3 appels sur les dernières 24 heures")
	require.Contains(t, page(rec), "2,5") // median of 1.5, 2.5, 90 ms

	// Revoke.
	rec = bob.do(http.MethodPost, "/developers/compte/cles/"+bobKey+"/revoquer", url.Values{"_rcsrf": {rcsrf(t, bob)}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	rec = bob.do(http.MethodGet, "/developers/compte", nil)
	require.Contains(t, page(rec), "est révoquée")

	// Sign-out ends the session; a sign-in link opens a new one.
	rec = bob.do(http.MethodPost, "/developers/deconnexion", url.Values{"_rcsrf": {rcsrf(t, bob)}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, http.StatusSeeOther, bob.do(http.MethodGet, "/developers/compte", nil).Code)
	rec = bob.do(http.MethodPost, "/developers/connexion", url.Values{"email": {"bob@example.org"}})
	require.Equal(t, 200, rec.Code)
	tok := mailToken(t, b, "bob@example.org", "/developers/connexion/lien?jeton=")
	rec = bob.do(http.MethodPost, "/developers/connexion/lien", url.Values{"jeton": {tok}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, 200, bob.do(http.MethodGet, "/developers/compte", nil).Code)
	rec = bob.do(http.MethodPost, "/developers/connexion/lien", url.Values{"jeton": {tok}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, "a link works once")
	require.Contains(t, page(rec), "il a déjà servi ou il a expiré")

	// An unknown address gets the same answer, and no e-mail.
	rec = anon.do(http.MethodPost, "/developers/connexion", url.Values{"email": {"personne@example.org"}})
	require.Equal(t, 200, rec.Code)
	require.Contains(t, page(rec), "Si un compte confirmé existe")
	_, err = b.st.LatestMailTo(ctx, "personne@example.org")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestReuserPagesRefuseForgeriesAndHostileInput(t *testing.T) {
	b := peopleSetup(t)
	alice := signUpReuser(t, b, "Alice", "alice@example.org")

	// No reuser CSRF token, or a wrong one: refused in French.
	for _, form := range []url.Values{{"name": {"x"}}, {"name": {"x"}, "_rcsrf": {"00"}}} {
		rec := alice.do(http.MethodPost, "/developers/compte/cles", form)
		require.Equal(t, http.StatusForbidden, rec.Code)
		require.Contains(t, page(rec), "jeton de sécurité")
	}
	// A form another site sends is refused, even the anonymous ones.
	for _, p := range []string{"/developers/inscription", "/developers/connexion", "/developers/verification", "/developers/compte/cles"} {
		req := httptest.NewRequest(http.MethodPost, p, strings.NewReader(url.Values{"email": {"a@b.fr"}, "_rcsrf": {rcsrf(t, alice)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		for k, v := range alice.jar {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		rec := httptest.NewRecorder()
		b.srv.Handler().ServeHTTP(rec, req)
		require.Equal(t, http.StatusForbidden, rec.Code, p)
	}

	// Hostile sign-ups: French errors beside the fields, never a 500.
	anon := &browser{t: t, b: b}
	for _, form := range []url.Values{
		{},
		{"name": {strings.Repeat("é", 5000)}, "email": {"x"}, "intended_use": {"ok"}},
		{"name": {"A\x00B"}, "email": {"a@b.fr\r\nBcc: x@y.fr"}, "intended_use": {"ok"}},
		{"name": {"<script>alert(1)</script>"}, "email": {"Alice <alice@x.fr>"}, "intended_use": {""}},
		{"name": {"A"}, "email": {"a@b.fr"}, "organisation": {strings.Repeat("o", 300)}, "intended_use": {strings.Repeat("u", 20000)}},
	} {
		rec := anon.do(http.MethodPost, "/developers/inscription", form)
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, "%v: %s", form, rec.Body.String())
		require.Contains(t, page(rec), "L'inscription n'est pas valide")
		require.Contains(t, page(rec), `class="error-text"`)
		require.NotContains(t, rec.Body.String(), "<script>alert(1)")
	}
	for _, q := range []string{"", "?jeton=", "?jeton=" + strings.Repeat("a", 500), "?jeton=%00%ff"} {
		rec := anon.do(http.MethodGet, "/developers/verification"+q, nil)
		require.Less(t, rec.Code, 500, q)
		require.Contains(t, page(rec), `lang="fr"`)
	}
	for _, tok := range []string{"", "nope", strings.Repeat("z", 5000)} {
		rec := anon.do(http.MethodPost, "/developers/connexion/lien", url.Values{"jeton": {tok}})
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
		require.Contains(t, page(rec), "Ce lien n'est plus valable")
	}
	rec := anon.do(http.MethodPost, "/developers/connexion", url.Values{"email": {"pas une adresse"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, page(rec), "Une adresse électronique")
	for _, p := range []string{"/developers/compte/cles/abc/revoquer", "/developers/compte/cles/-1/renouveler", "/developers/compte/cles/99999999999999999999/revoquer"} {
		rec := alice.do(http.MethodPost, p, url.Values{"_rcsrf": {rcsrf(t, alice)}})
		require.Equal(t, http.StatusNotFound, rec.Code, p)
	}
	rec = alice.do(http.MethodPost, "/developers/compte/cles", url.Values{"_rcsrf": {rcsrf(t, alice)}, "name": {"   "}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, page(rec), "Le nom de l'application : ce champ est obligatoire.")

	// A forged session cookie is nobody.
	forged := &browser{t: t, b: b, jar: map[string]string{"civicflow_reuser": "forged"}}
	require.Equal(t, http.StatusSeeOther, forged.do(http.MethodGet, "/developers/compte", nil).Code)
}

// A reuser's session opens no staff page or API; staff pages refuse
// reusers, agents and stewards; staff forms need the staff CSRF token.
func TestReuserNeverReachesStaffPages(t *testing.T) {
	b := peopleSetup(t)
	alice := signUpReuser(t, b, "Alice", "alice@example.org")
	for _, p := range []string{"/", "/admin", "/admin/api", "/admin/api/usage", "/admin/api/offres", "/tasks", "/datasets"} {
		rec := alice.do(http.MethodGet, p, nil)
		require.Equal(t, http.StatusSeeOther, rec.Code, p)
		require.True(t, strings.HasPrefix(rec.Header().Get("Location"), "/login"), p)
	}
	for _, p := range []string{"/api/v1/apikeys", "/api/v1/apiconsumers", "/api/v1/apiusage", "/api/v1/me"} {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		for k, v := range alice.jar {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		rec := httptest.NewRecorder()
		b.srv.Handler().ServeHTTP(rec, req)
		require.Equal(t, http.StatusUnauthorized, rec.Code, p)
	}
	// The reuser's session token is no staff credential either.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+alice.jar["civicflow_reuser"])
	rec := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)

	for _, user := range []string{"agent.voirie", "steward.voirie", "dgs"} {
		br := signedInBrowser(t, b, user)
		for _, p := range []string{"/admin/api", "/admin/api/usage", "/admin/api/offres", "/admin/api/offres/registered", "/admin/api/reutilisateurs/1"} {
			rec := br.do(http.MethodGet, p, nil)
			require.Equal(t, http.StatusForbidden, rec.Code, "%s %s", user, p)
			require.Contains(t, page(rec), "Accès refusé")
		}
	}
	admin := signedInBrowser(t, b, "admin")
	rec = admin.do(http.MethodPost, "/admin/api/offres/registered", url.Values{"label": {"x"}})
	require.Equal(t, http.StatusForbidden, rec.Code, "no staff CSRF token")
}

func TestAdminAPIPages(t *testing.T) {
	b := peopleSetup(t)
	ctx := context.Background()
	alice := signUpReuser(t, b, "Alice Martin", "alice@example.org")
	createKey(t, alice, "Carte des travaux")
	c, err := b.st.APIConsumerByEmail(ctx, "alice@example.org")
	require.NoError(t, err)
	aliceID := c.ID
	require.NoError(t, b.st.InsertAPIUsage(ctx, []store.APIUsage{
		{At: time.Now().UTC(), ConsumerID: &aliceID, Dataset: "travaux", Endpoint: "/records", Status: 200, Bytes: 10, LatencyUS: 1000},
		{At: time.Now().UTC(), Dataset: "budget", Endpoint: "/records", Status: 200, Bytes: 10, LatencyUS: 1000},
	}))

	admin := signedInBrowser(t, b, "admin")
	rec := admin.do(http.MethodGet, "/admin", nil)
	require.Contains(t, page(rec), `href="/admin/api"`, "an entry in the admin navigation")
	rec = admin.do(http.MethodGet, "/admin/api", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, page(rec), "Alice Martin")
	require.Contains(t, page(rec), "vérifié")
	detail := "/admin/api/reutilisateurs/" + itoa(aliceID)
	rec = admin.do(http.MethodGet, detail, nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, page(rec), "Une carte des travaux")
	ks, _ := b.st.APIKeys(ctx, aliceID)
	require.Contains(t, page(rec), ks[0].Prefix+"…")
	require.Equal(t, 404, admin.do(http.MethodGet, "/admin/api/reutilisateurs/999999", nil).Code)
	require.Equal(t, 404, admin.do(http.MethodGet, "/admin/api/reutilisateurs/x", nil).Code)

	// Usage analytics: per day, dataset and consumer, filters, CSV link.
	rec = admin.do(http.MethodGet, "/admin/api/usage", nil)
	require.Equal(t, 200, rec.Code)
	body := rec.Body.String()
	require.Contains(t, body, "travaux")
	require.Contains(t, body, "budget")
	require.Contains(t, body, "(anonymes et clés sans compte)")
	require.Contains(t, body, "/api/v1/apiusage/export.csv?")
	rec = admin.do(http.MethodGet, "/admin/api/usage?reutilisateur="+itoa(aliceID), nil)
	require.Contains(t, page(rec), "travaux")
	require.NotContains(t, rec.Body.String(), ">budget<")
	for _, q := range []string{"du=hier", "au=2026-13-45", "du=2026-05-01&au=2026-01-01", "reutilisateur=abc", "du=2020-01-01&au=2026-01-01", "du=" + strings.Repeat("9", 300)} {
		rec = admin.do(http.MethodGet, "/admin/api/usage?"+q, nil)
		require.Equal(t, http.StatusBadRequest, rec.Code, q)
		require.Contains(t, page(rec), `class="error-text"`, q)
	}
	rec = admin.do(http.MethodGet, "/api/v1/apiusage/export.csv?from=2020-01-01", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, page(rec), "travaux")

	// Plans: list, form, French errors beside fields, save.
	rec = admin.do(http.MethodGet, "/admin/api/offres", nil)
	require.Equal(t, 200, rec.Code)
	require.Contains(t, page(rec), "Réutilisateur inscrit")
	tok := admin.csrf("/admin/api/offres/registered")
	rec = admin.do(http.MethodPost, "/admin/api/offres/registered", url.Values{"_csrf": {tok}, "label": {""}, "rate": {"vite"}, "burst": {"1.5"}, "per_day": {"-1"}, "per_month": {"1e400"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, page(rec), "Un nombre d'appels par seconde")
	require.Contains(t, page(rec), `value="vite"`)
	rec = admin.do(http.MethodPost, "/admin/api/offres/registered", url.Values{"_csrf": {tok}, "label": {""}, "rate": {"10"}, "burst": {"0"}, "per_day": {"-1"}, "per_month": {"0"}})
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Contains(t, page(rec), "quand un débit est fixé")
	rec = admin.do(http.MethodPost, "/admin/api/offres/registered", url.Values{"_csrf": {tok}, "label": {"Inscrit"}, "rate": {"2,5"}, "burst": {"1 000"}, "per_day": {"100000"}, "per_month": {"0"}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	p, err := b.st.APIPlan(ctx, "registered")
	require.NoError(t, err)
	require.Equal(t, 2.5, p.RatePerSecond)
	require.Equal(t, 1000, p.Burst)
	require.Equal(t, 404, admin.do(http.MethodGet, "/admin/api/offres/nope", nil).Code)
	rec = (&browser{t: t, b: b}).do(http.MethodGet, "/developers/limites", nil)
	require.Contains(t, page(rec), "Inscrit")
	require.Contains(t, page(rec), "100 000") // French thousands

	// Suspension: keys revoked, the reuser's session ends.
	tok = admin.csrf(detail)
	rec = admin.do(http.MethodPost, detail+"/suspendre", url.Values{"_csrf": {tok}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	ks, _ = b.st.APIKeys(ctx, aliceID)
	require.NotNil(t, ks[0].RevokedAt)
	require.Equal(t, http.StatusSeeOther, alice.do(http.MethodGet, "/developers/compte", nil).Code)
	rec = admin.do(http.MethodGet, detail, nil)
	require.Contains(t, page(rec), "suspendu le")
	rec = admin.do(http.MethodPost, detail+"/retablir", url.Values{"_csrf": {tok}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	rec = admin.do(http.MethodPost, "/admin/api/cles/999999/revoquer", url.Values{"_csrf": {tok}})
	require.Equal(t, http.StatusNotFound, rec.Code)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// page is the body as a person reads it (entities decoded).
func page(rec *httptest.ResponseRecorder) string {
	return strings.NewReplacer("\u202f", " ", "\u00a0", " ").Replace(html.UnescapeString(rec.Body.String()))
}

// A staff member signed in may also be a reuser: the reuser forms carry
// the staff CSRF field as well, so the staff check lets them through.
func TestStaffMemberCanBeAReuser(t *testing.T) {
	b := peopleSetup(t)
	br := signedInBrowser(t, b, "agent.voirie")
	rec := br.do(http.MethodPost, "/developers/inscription", url.Values{"_csrf": {br.csrf("/developers/inscription")}, "name": {"Agent"}, "email": {"agent@example.org"}, "intended_use": {"Tests"}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	tok := mailToken(t, b, "agent@example.org", "/developers/verification?jeton=")
	rec = br.do(http.MethodPost, "/developers/verification", url.Values{"_csrf": {br.csrf("/developers/verification?jeton=" + tok)}, "jeton": {tok}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	staff := br.csrf("/developers/compte")
	rec = br.do(http.MethodPost, "/developers/compte/cles", url.Values{"_csrf": {staff}, "_rcsrf": {rcsrf(t, br)}, "name": {"Appli"}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = br.do(http.MethodPost, "/developers/deconnexion", url.Values{"_csrf": {staff}, "_rcsrf": {rcsrf(t, br)}})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	require.Equal(t, 200, br.do(http.MethodGet, "/", nil).Code, "the staff session is still there")
}

// The sign-up form cannot make the mail server write to thousands of
// addresses: past the hourly cap of unconfirmed sign-ups, it says so.
func TestReuserSignUpCap(t *testing.T) {
	b := peopleSetup(t)
	ctx := context.Background()
	for i := range service.ReuserSignUpsPerHour {
		c := store.APIConsumer{Name: "x", Email: "x" + strconv.Itoa(i) + "@example.org"}
		require.NoError(t, b.st.CreateAPIConsumer(ctx, &c))
		require.NoError(t, b.st.SetReuserProfile(ctx, store.ReuserProfile{ConsumerID: c.ID, IntendedUse: "x"}))
	}
	rec := (&browser{t: t, b: b}).do(http.MethodPost, "/developers/inscription", url.Values{"name": {"A"}, "email": {"a@example.org"}, "intended_use": {"x"}})
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Contains(t, page(rec), "Service indisponible")
	_, err := b.st.LatestMailTo(ctx, "a@example.org")
	require.ErrorIs(t, err, store.ErrNotFound)
}
