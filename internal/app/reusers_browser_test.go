package app_test

import (
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/browsertest"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/mail"
	"github.com/civicflow/civicflow/internal/mail/mailtest"
	"github.com/civicflow/civicflow/internal/service"
)

var reuserLinkRE = regexp.MustCompile(`(/developers/verification\?jeton=[A-Za-z0-9_-]+)`)

// The reusers' self-service end to end, in a real headless Chromium: a
// reuser signs up, the verification e-mail arrives at the test's SMTP
// server, the reuser follows its link, creates a key (shown once), calls
// the records API with it and sees the call in its usage; an administrator
// sees the reuser and the call in the analytics. Every page is
// screenshotted and checked with axe-core.
func TestBrowserReuserJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	smtpSrv := mailtest.Start(t, mailtest.Options{Username: "civicflow", Password: "s3cret"})
	service.ReuserMailSender = func(cfg mail.Config) *mail.Sender {
		cfg.TLS = &tls.Config{RootCAs: smtpSrv.Roots, MinVersion: tls.VersionTLS12}
		return mail.NewSender(cfg)
	}
	t.Cleanup(func() { service.ReuserMailSender = nil })
	e := startAppWith(t, "", func(c *config.Config) {
		c.SMTPHost, c.SMTPPort, c.SMTPUsername, c.SMTPPassword = smtpSrv.Host, smtpSrv.Port, "civicflow", "s3cret"
		c.SMTPFrom = "Mairie de Test <ne-pas-repondre@ville-test.fr>"
	})
	br := browsertest.Start(t)
	check := func(tab *browsertest.Tab, name string) {
		t.Helper()
		tab.Screenshot(name)
		tab.RequireAccessible(name)
		require.Empty(t, tab.ConsoleErrors(), "script errors on %s", name)
	}

	// A published dataset, through the whole publication flow.
	agent, steward, dgs := e.login("agent.voirie"), e.login("steward.voirie"), e.login("dgs")
	dataset, inst := newSubmission(t, agent, "voirie", filepath.Join("testdata", "scdl-subventions.valid.csv"))
	review := steward.waitTask(inst, "review")
	require.Equal(t, 200, steward.json(http.MethodPost, "/api/v1/tasks/"+review.ID+"/complete", decide("approve"), nil))
	approval := dgs.waitTask(inst, "approval")
	require.Equal(t, 200, dgs.json(http.MethodPost, "/api/v1/tasks/"+approval.ID+"/complete", decide("approve"), nil))
	agent.waitStatus(inst, "completed")

	// Sign-up.
	reuser := br.NewPerson()
	reuser.Navigate(e.base + "/developers/limites")
	check(reuser, "reuser-limits")
	reuser.Navigate(e.base + "/developers/inscription")
	check(reuser, "reuser-signup")
	reuser.Fill("#ru-name", "Camille Réutilisatrice")
	reuser.Fill("#ru-email", "camille@startup.example")
	reuser.Fill("#ru-org", "Carto & Cie")
	reuser.Do("fill #ru-use", chromedp.SendKeys(chromedp.CSS("#ru-use"), "Une carte des subventions pour les habitants.")) // an empty textarea: no Clear
	reuser.ClickAndWait("form[action='/developers/inscription'] button[type=submit]")
	require.Contains(t, reuser.Text("main"), "un courriel vient d'y être envoyé")
	check(reuser, "reuser-signup-sent")

	// The e-mail, from the SMTP server.
	msgs := smtpSrv.Wait(1, 60*time.Second)
	require.Len(t, msgs, 1)
	require.Equal(t, []string{"camille@startup.example"}, msgs[0].To)
	p, err := msgs[0].Parsed()
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Confirmez votre adresse pour l'API de données ouvertes", subject)
	body, err := io.ReadAll(quotedprintable.NewReader(p.Body))
	require.NoError(t, err)
	require.Contains(t, string(body), "Bonjour Camille Réutilisatrice")
	link := reuserLinkRE.FindStringSubmatch(string(body))
	require.NotNil(t, link, "%s", body)
	// Once sent, the outbox keeps no usable link.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := e.app.Store.LatestMailTo(context.Background(), "camille@startup.example")
		require.NoError(t, err)
		if strings.Contains(m.Body, "[retiré après l'envoi]") {
			require.NotContains(t, m.Body, link[1])
			break
		}
		require.True(t, time.Now().Before(deadline), "the outbox still holds the link: %s", m.Body)
		time.Sleep(100 * time.Millisecond)
	}

	// The link, then the account.
	reuser.Navigate(e.base + link[1])
	check(reuser, "reuser-verify")
	reuser.ClickAndWait("form[action='/developers/verification'] button[type=submit]")
	require.True(t, strings.HasSuffix(reuser.Location(), "/developers/compte"), reuser.Location())
	require.Contains(t, reuser.Text("main"), "Votre adresse est confirmée")
	check(reuser, "reuser-account-new")

	// A key, shown once.
	reuser.Fill("#cle-nom", "Carte des subventions")
	reuser.ClickAndWait("form[action='/developers/compte/cles'] button[type=submit]")
	key := browsertest.Eval[string](reuser, `document.querySelector('#cle-secrete').value`)
	require.NotEmpty(t, key)
	require.Contains(t, reuser.Text("main"), "elle ne sera plus jamais affichée")
	check(reuser, "reuser-key-created")
	reuser.Navigate(e.base + "/developers/compte")
	require.NotContains(t, reuser.Text("main"), key)

	// The records API with the key.
	req, err := http.NewRequest(http.MethodGet, e.base+"/api/explore/v2.1/catalog/datasets/"+dataset+"/records?limit=2", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Apikey "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("RateLimit-Policy"))

	// The call in the reuser's usage (the usage log is written every second).
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(reuser.Text("section[aria-labelledby=usage]"), dataset) {
		require.True(t, time.Now().Before(deadline), "the call never showed in the usage: %s", reuser.Text("main"))
		time.Sleep(500 * time.Millisecond)
		reuser.Navigate(e.base + "/developers/compte")
	}
	check(reuser, "reuser-account-usage")
	reuser.Navigate(e.base + "/developers/statut")
	require.Contains(t, reuser.Text("main"), "/records")
	check(reuser, "reuser-status")

	// The reuser is nobody on the staff side.
	reuser.Navigate(e.base + "/admin/api")
	require.Contains(t, reuser.Location(), "/login")

	// The administrator sees the reuser and the call.
	admin := br.NewPerson()
	admin.Navigate(e.base + "/login")
	admin.Fill("#username", "admin")
	admin.Fill("#password", "demo")
	admin.ClickAndWait("form[action='/login'] button[type=submit]")
	admin.Navigate(e.base + "/admin")
	admin.ClickAndWait("a[href='/admin/api']")
	require.Contains(t, admin.Text("main"), "Camille Réutilisatrice")
	check(admin, "admin-api-reusers")
	admin.ClickAndWait("main table a[href^='/admin/api/reutilisateurs/']")
	require.Contains(t, admin.Text("main"), "Une carte des subventions")
	check(admin, "admin-api-reuser")
	admin.Navigate(e.base + "/admin/api/usage")
	require.Contains(t, admin.Text("main"), dataset)
	require.Contains(t, admin.Text("main"), "Camille Réutilisatrice")
	check(admin, "admin-api-usage")
	admin.Navigate(e.base + "/admin/api/offres/registered")
	check(admin, "admin-api-plan")
}
