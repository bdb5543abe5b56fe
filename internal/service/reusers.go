package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/apigw"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/mail"
	"github.com/civicflow/civicflow/internal/store"
)

// The reusers' self-service (/developers): sign-up with an e-mail check,
// sign-in by e-mail link (no password to lose, leak or reuse: the address
// is the identity the sign-up verified anyway), their own keys and usage;
// and the staff's side: reusers, suspension, usage per consumer. A reuser
// is an API consumer, never a staff principal: its session is a token of
// its own table and cookie, which the staff authentication ignores.
// Tokens (links, sessions) are 256-bit random values, stored as SHA-256.

// Lifetimes of the reusers' tokens.
const (
	ReuserLinkTTL    = 30 * time.Minute
	ReuserSessionTTL = 12 * time.Hour
	// reuserMailsPerHour caps the links sent to one address per hour.
	reuserMailsPerHour = 5
	// ReuserSignUpsPerHour caps the unconfirmed sign-ups of an hour, all
	// addresses together: the form cannot make the collectivité's mail
	// server send verification e-mails to thousands of addresses.
	ReuserSignUpsPerHour = 200
	// reuserMaxKeys caps a reuser's usable keys.
	reuserMaxKeys = 10
)

// ReuserSignUpInput is the sign-up form.
type ReuserSignUpInput struct {
	Name, Email, Organisation, IntendedUse string
}

// ErrReuserLink is a verification or sign-in link that is unknown, used or
// expired.
var errReuserLink = Errorf(Invalid, "this link is unknown, used or expired").French("Ce lien n'est plus valable : il a déjà servi ou il a expiré. Demandez-en un nouveau.")

// ErrReuserSession is a missing, expired or ended reuser session.
var ErrReuserSession = errors.New("no reuser session")

func newReuserSecret() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, ReuserTokenHash(token), nil
}

// ReuserTokenHash is the stored form of a reuser token.
func ReuserTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func reuserActor(id int64) string { return "reuser:" + strconv.FormatInt(id, 10) }

func (s *Service) auditReuser(ctx context.Context, c Caller, id int64, action, objType, objID string, detail map[string]any) {
	s.audit(ctx, c, audit.Entry{Actor: reuserActor(id), Action: action, ObjectType: objType, ObjectID: objID, Detail: audit.Detail(detail)})
}

// ReuserSignUp registers a reuser (unverified) and e-mails it a
// verification link. An address already known gets a link again (a
// verification link, or a sign-in link once verified) and the answer is
// the same, so that the form tells nobody who is registered.
func (s *Service) ReuserSignUp(ctx context.Context, c Caller, in ReuserSignUpInput) error {
	ci := APIConsumerInput{Name: in.Name, Email: in.Email, Organisation: in.Organisation}
	var probs []Problem
	if err := checkConsumer(&ci); err != nil {
		var e *Error
		if errors.As(err, &e) {
			probs = append(probs, e.Problems...)
		}
	}
	in.IntendedUse = strings.TrimSpace(in.IntendedUse)
	if err := checkText("intendedUse", in.IntendedUse, 2000, true); err != nil {
		var e *Error
		errors.As(err, &e)
		probs = append(probs, e.Problems...)
	}
	// checkConsumer stops at the first problem: check the others too, so
	// that the form shows every error at once.
	if err := checkText("organisation", strings.TrimSpace(in.Organisation), 200, false); err != nil && !hasField(probs, "organisation") {
		var e *Error
		errors.As(err, &e)
		probs = append(probs, e.Problems...)
	}
	if a, err := mailAddress(strings.TrimSpace(in.Email)); err != nil || a == "" {
		if !hasField(probs, "email") {
			probs = append(probs, Problem{Field: "email", Message: "an e-mail address (name@domain)", Fr: "Une adresse électronique (nom@domaine)."})
		}
	}
	if len(probs) > 0 {
		return &Error{Kind: Invalid, Msg: "the sign-up is invalid", Fr: "L'inscription n'est pas valide : corrigez les champs signalés.", Problems: probs}
	}
	known, err := s.store.APIConsumerByEmail(ctx, ci.Email)
	if err == nil {
		return s.sendReuserLinkFor(ctx, c, known)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	pending, err := s.store.CountUnverifiedSignUps(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		return err
	}
	if pending >= ReuserSignUpsPerHour {
		s.log.Warn("reuser sign-up refused: too many unconfirmed sign-ups this hour", "pending", pending)
		return Errorf(Unavailable, "too many sign-ups this hour; try again later").French("Trop d'inscriptions sont en attente de confirmation en ce moment : réessayez dans une heure.")
	}
	cons, err := s.createConsumer(ctx, c, ci)
	if KindOf(err) == Conflict { // signed up twice at once
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.store.SetReuserProfile(ctx, store.ReuserProfile{ConsumerID: cons.ID, IntendedUse: in.IntendedUse}); err != nil {
		return err
	}
	s.auditReuser(ctx, c, cons.ID, "reuser.signup", "apiconsumer", strconv.FormatInt(cons.ID, 10), map[string]any{"organisation": cons.Organisation})
	return s.sendReuserLink(ctx, c, cons, store.ReuserVerify)
}

func hasField(ps []Problem, f string) bool {
	for _, p := range ps {
		if p.Field == f {
			return true
		}
	}
	return false
}

func mailAddress(v string) (string, error) {
	ci := APIConsumerInput{Name: "x", Email: v}
	if err := checkConsumer(&ci); err != nil {
		return "", err
	}
	return ci.Email, nil
}

// ReuserRequestSignIn e-mails a sign-in link to a known, verified and not
// suspended address (a verification link if it is not verified yet). The
// answer is the same whether the address is known or not.
func (s *Service) ReuserRequestSignIn(ctx context.Context, c Caller, email string) error {
	addr, err := mailAddress(strings.TrimSpace(email))
	if err != nil {
		return invalidField("email", "an e-mail address (name@domain)", "Une adresse électronique (nom@domaine).")
	}
	cons, err := s.store.APIConsumerByEmail(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.sendReuserLinkFor(ctx, c, cons)
}

func (s *Service) sendReuserLinkFor(ctx context.Context, c Caller, cons store.APIConsumer) error {
	r, err := s.store.Reuser(ctx, cons.ID)
	if err != nil {
		return err
	}
	if r.SuspendedAt != nil {
		return nil // staff suspended it: no link, and the same answer
	}
	purpose := store.ReuserSignIn
	if !cons.Verified {
		purpose = store.ReuserVerify
	}
	return s.sendReuserLink(ctx, c, cons, purpose)
}

// sendReuserLink makes a single-use link token and puts the e-mail in the
// outbox, then delivers it in the background when SMTP is configured.
func (s *Service) sendReuserLink(ctx context.Context, c Caller, cons store.APIConsumer, purpose string) error {
	n, err := s.store.CountRecentReuserTokens(ctx, cons.ID, purpose, time.Now().Add(-time.Hour))
	if err != nil {
		return err
	}
	if n >= reuserMailsPerHour {
		s.log.Warn("reuser link not sent: too many this hour", "consumer", cons.ID, "purpose", purpose)
		return nil // the same answer: no flooding of a mailbox through the form
	}
	token, hash, err := newReuserSecret()
	if err != nil {
		return err
	}
	if err := s.store.CreateReuserToken(ctx, hash, cons.ID, purpose, time.Now().Add(ReuserLinkTTL)); err != nil {
		return err
	}
	base := s.cfg.BaseURL()
	var subject, link, intro string
	if purpose == store.ReuserVerify {
		subject = "Confirmez votre adresse pour l'API de données ouvertes"
		link = base + "/developers/verification?jeton=" + url.QueryEscape(token)
		intro = "Vous (ou quelqu'un d'autre) avez demandé un compte de réutilisateur de l'API de données ouvertes avec cette adresse.\nPour la confirmer et ouvrir votre compte, suivez ce lien :"
	} else {
		subject = "Votre lien de connexion à l'espace des réutilisateurs"
		link = base + "/developers/connexion/lien?jeton=" + url.QueryEscape(token)
		intro = "Pour vous connecter à votre espace de réutilisateur de l'API de données ouvertes, suivez ce lien :"
	}
	body := fmt.Sprintf("Bonjour %s,\n\n%s\n\n%s\n\nCe lien sert une seule fois et expire dans %d minutes.\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n-- \n%s\n",
		cons.Name, intro, link, int(ReuserLinkTTL/time.Minute), s.orgLabel())
	key := "reuser/" + purpose + "/" + hash[:24]
	from := s.cfg.SMTPFrom
	m, err := s.store.EnqueueMail(ctx, store.MailMessage{Key: key, MessageID: mail.MessageID(key, from), Subject: subject, Body: body}, []string{cons.Email})
	if err != nil {
		return err
	}
	s.auditReuser(ctx, c, cons.ID, "reuser.link", "apiconsumer", strconv.FormatInt(cons.ID, 10), map[string]any{"purpose": purpose, "mail": m.ID})
	if s.cfg.SMTPHost != "" {
		go s.deliverReuserMail(key, body)
	}
	return nil
}

func (s *Service) orgLabel() string {
	if n := strings.TrimSpace(s.cfg.OrgName); n != "" {
		return n
	}
	return "civicflow"
}

// ReuserMailSender, when set, replaces the SMTP sender built from the
// configuration (tests trust their server's certificate through it).
var ReuserMailSender func(mail.Config) *mail.Sender

func (s *Service) deliverReuserMail(key, body string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := mail.Config{Host: s.cfg.SMTPHost, Port: s.cfg.SMTPPort, Username: s.cfg.SMTPUsername, Password: s.cfg.SMTPPassword, From: s.cfg.SMTPFrom, StartTLS: s.cfg.SMTPStartTLS}
	sender := mail.NewSender(cfg)
	if ReuserMailSender != nil {
		sender = ReuserMailSender(cfg)
	}
	o := &mail.Outbox{Store: s.store, Sender: sender, Log: s.log, Retries: 2}
	if _, err := o.Deliver(ctx, key); err != nil {
		s.log.Error("reuser e-mail not sent", "key", key, "err", err)
		return
	}
	// The link served its purpose in the message: keep no usable copy.
	i := strings.Index(body, "?jeton=")
	if i > 0 {
		j := strings.IndexByte(body[i:], '\n')
		if j > 0 {
			body = body[:i] + "?jeton=[retiré après l'envoi]" + body[i+j:]
		}
	}
	if err := s.store.RedactMail(ctx, key, body); err != nil {
		s.log.Error("reuser e-mail not redacted", "key", key, "err", err)
	}
}

// ReuserVerify spends a verification link: the address is verified and a
// session opens. It returns the session token (for the cookie).
func (s *Service) ReuserVerify(ctx context.Context, c Caller, token string) (string, store.Reuser, error) {
	return s.useReuserLink(ctx, c, token, store.ReuserVerify)
}

// ReuserSignIn spends a sign-in link and opens a session.
func (s *Service) ReuserSignIn(ctx context.Context, c Caller, token string) (string, store.Reuser, error) {
	return s.useReuserLink(ctx, c, token, store.ReuserSignIn)
}

func (s *Service) useReuserLink(ctx context.Context, c Caller, token, purpose string) (string, store.Reuser, error) {
	if token == "" || len(token) > 100 {
		return "", store.Reuser{}, errReuserLink
	}
	id, err := s.store.UseReuserToken(ctx, ReuserTokenHash(token), purpose, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return "", store.Reuser{}, errReuserLink
	}
	if err != nil {
		return "", store.Reuser{}, err
	}
	r, err := s.store.Reuser(ctx, id)
	if err != nil {
		return "", r, err
	}
	if r.SuspendedAt != nil {
		return "", r, Errorf(Forbidden, "this reuser account is suspended").French("Ce compte de réutilisateur est suspendu. Écrivez à la collectivité pour en savoir plus.")
	}
	if purpose == store.ReuserVerify && !r.Verified {
		if err := s.store.SetAPIConsumerVerified(ctx, id, true); err != nil {
			return "", r, err
		}
		r.Verified = true
		s.auditReuser(ctx, c, id, "apiconsumer.verify", "apiconsumer", strconv.FormatInt(id, 10), map[string]any{"by": "e-mail link"})
	}
	session, hash, err := newReuserSecret()
	if err != nil {
		return "", r, err
	}
	if err := s.store.CreateReuserToken(ctx, hash, id, store.ReuserSession, time.Now().Add(ReuserSessionTTL)); err != nil {
		return "", r, err
	}
	s.auditReuser(ctx, c, id, "reuser.signin", "apiconsumer", strconv.FormatInt(id, 10), map[string]any{"link": purpose})
	return session, r, nil
}

// ReuserFromSession is the reuser of a session token: ErrReuserSession
// when the session is unknown, expired, or its reuser suspended or not
// verified.
func (s *Service) ReuserFromSession(ctx context.Context, token string) (store.Reuser, error) {
	if token == "" || len(token) > 100 {
		return store.Reuser{}, ErrReuserSession
	}
	id, err := s.store.ReuserTokenValid(ctx, ReuserTokenHash(token), store.ReuserSession, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Reuser{}, ErrReuserSession
	}
	if err != nil {
		return store.Reuser{}, err
	}
	r, err := s.store.Reuser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, ErrReuserSession
	}
	if err != nil {
		return r, err
	}
	if r.SuspendedAt != nil || !r.Verified {
		return r, ErrReuserSession
	}
	return r, nil
}

// ReuserSignOut ends a session.
func (s *Service) ReuserSignOut(ctx context.Context, token string) error {
	if token == "" || len(token) > 100 {
		return nil
	}
	return s.store.DeleteReuserToken(ctx, ReuserTokenHash(token))
}

// ReuserCSRF is the CSRF token of a reuser session (derived from it).
func ReuserCSRF(session string) string {
	if session == "" {
		return ""
	}
	h := sha256.Sum256([]byte("civicflow-reuser-csrf\x00" + session))
	return hex.EncodeToString(h[:16])
}

// ReuserKeys lists the reuser's keys (prefixes only), newest first.
func (s *Service) ReuserKeys(ctx context.Context, r store.Reuser) ([]store.APIKey, error) {
	return s.store.APIKeys(ctx, r.ID)
}

// ReuserCreateKey makes a key of the registered plan for the reuser; the
// key is returned this once.
func (s *Service) ReuserCreateKey(ctx context.Context, c Caller, r store.Reuser, name string) (store.APIKey, string, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, 100, true); err != nil {
		var e *Error
		errors.As(err, &e)
		e.Fr = "Le nom de l'application : " + strings.ToLower(e.Fr[:1]) + e.Fr[1:]
		e.Problems[0].Fr = e.Fr
		return store.APIKey{}, "", e
	}
	ks, err := s.store.APIKeys(ctx, r.ID)
	if err != nil {
		return store.APIKey{}, "", err
	}
	n := 0
	for _, k := range ks {
		if k.ValidAt(time.Now()) && k.ReplacedBy == nil {
			n++
		}
	}
	if n >= reuserMaxKeys {
		return store.APIKey{}, "", Errorf(Conflict, "at most %d keys", reuserMaxKeys).French("Vous avez déjà %d clés actives : révoquez-en une avant d'en créer une autre.", reuserMaxKeys)
	}
	key, prefix, hash, err := apigw.NewKey()
	if err != nil {
		return store.APIKey{}, "", err
	}
	id := r.ID
	k := store.APIKey{Name: name, Prefix: prefix, Hash: hash, PlanID: store.PlanRegistered, ConsumerID: &id, CreatedBy: reuserActor(r.ID)}
	if err := s.store.CreateAPIKey(ctx, &k); err != nil {
		return k, "", err
	}
	s.auditReuser(ctx, c, r.ID, "apikey.create", "apikey", strconv.FormatInt(k.ID, 10), map[string]any{"name": k.Name, "prefix": k.Prefix, "plan": k.PlanID, "consumer": r.ID})
	return k, key, nil
}

// ownKey is key id if it is the reuser's; anyone else's is NotFound (the
// same answer as no key at all).
func (s *Service) ownKey(ctx context.Context, r store.Reuser, id int64) (store.APIKey, error) {
	k, err := s.store.APIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (k.ConsumerID == nil || *k.ConsumerID != r.ID)) {
		return store.APIKey{}, Errorf(NotFound, "no API key %d", id).French("Cette clé d'API n'existe pas.")
	}
	return k, err
}

// ReuserRotateKey issues the successor of the reuser's key id (shown this
// once); the old key keeps working for RotationOverlap.
func (s *Service) ReuserRotateKey(ctx context.Context, c Caller, r store.Reuser, id int64) (store.APIKey, string, time.Time, error) {
	old, err := s.ownKey(ctx, r, id)
	if err != nil {
		return old, "", time.Time{}, err
	}
	if !old.ValidAt(time.Now()) || old.ReplacedBy != nil {
		return old, "", time.Time{}, Errorf(Conflict, "API key %d is revoked, expired or already rotated", id).French("Cette clé est révoquée, expirée ou déjà renouvelée.")
	}
	key, prefix, hash, err := apigw.NewKey()
	if err != nil {
		return old, "", time.Time{}, err
	}
	next := store.APIKey{Name: old.Name, Prefix: prefix, Hash: hash, PlanID: old.PlanID, ConsumerID: old.ConsumerID, CreatedBy: reuserActor(r.ID), ExpiresAt: old.ExpiresAt}
	until := time.Now().Add(RotationOverlap)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(until) {
		until = *old.ExpiresAt
	}
	if err := s.store.RotateAPIKey(ctx, id, &next, until); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return old, "", time.Time{}, Errorf(Conflict, "API key %d is revoked or already rotated", id).French("Cette clé est révoquée ou déjà renouvelée.")
		}
		return old, "", time.Time{}, err
	}
	s.auditReuser(ctx, c, r.ID, "apikey.rotate", "apikey", strconv.FormatInt(id, 10), map[string]any{"old": old.Prefix, "new": next.Prefix, "newId": next.ID, "oldValidUntil": until.UTC()})
	return next, key, until, nil
}

// ReuserRevokeKey revokes the reuser's key id at once.
func (s *Service) ReuserRevokeKey(ctx context.Context, c Caller, r store.Reuser, id int64) (store.APIKey, error) {
	k, err := s.ownKey(ctx, r, id)
	if err != nil {
		return k, err
	}
	if err := s.store.RevokeAPIKey(ctx, id, time.Now()); err != nil {
		return k, err
	}
	s.auditReuser(ctx, c, r.ID, "apikey.revoke", "apikey", strconv.FormatInt(id, 10), map[string]any{"prefix": k.Prefix})
	return s.store.APIKey(ctx, id)
}

// ReuserUsage is the reuser's calls per day and dataset over the last days
// (1 to 366).
func (s *Service) ReuserUsage(ctx context.Context, r store.Reuser, days int) ([]store.UsageDay, error) {
	if days < 1 || days > 366 {
		return nil, invalidField("days", "1 to 366 days", "De 1 à 366 jours.")
	}
	f := store.UsageFilter{ConsumerID: r.ID, From: time.Now().UTC().AddDate(0, 0, -days+1).Truncate(24 * time.Hour)}
	return s.store.APIUsageByDay(ctx, f, 10000)
}

// ReuserUsageCSV writes the reuser's usage per day and dataset as CSV.
func (s *Service) ReuserUsageCSV(ctx context.Context, r store.Reuser, days int, w io.Writer) error {
	rows, err := s.ReuserUsage(ctx, r, days)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"jour", "jeu_de_donnees", "appels", "erreurs", "octets"})
	for _, u := range rows {
		_ = cw.Write([]string{u.Day, csvSafe(u.Dataset), strconv.FormatInt(u.Calls, 10), strconv.FormatInt(u.Errors, 10), strconv.FormatInt(u.Bytes, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// ---- staff ----

// ListReusers lists the reusers with their profiles (admin: apikeys write,
// since it shows their addresses and declared uses).
func (s *Service) ListReusers(ctx context.Context, c Caller) ([]store.Reuser, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return nil, err
	}
	return s.store.Reusers(ctx)
}

// ReuserDetail is one reuser and its keys (prefixes only).
func (s *Service) ReuserDetail(ctx context.Context, c Caller, id int64) (store.Reuser, []store.APIKey, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return store.Reuser{}, nil, err
	}
	r, err := s.store.Reuser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, nil, Errorf(NotFound, "no reuser %d", id).French("Ce réutilisateur n'existe pas.")
	}
	if err != nil {
		return r, nil, err
	}
	ks, err := s.store.APIKeys(ctx, id)
	return r, ks, err
}

// StaffVerifyReuser marks a reuser's address as verified (admin).
func (s *Service) StaffVerifyReuser(ctx context.Context, c Caller, id int64) error {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return err
	}
	return s.VerifyAPIConsumer(ctx, c, id)
}

// SetReuserSuspended suspends a reuser (its usable keys are revoked and
// its sessions end; no link is sent to it any more) or lifts the
// suspension (revoked keys stay revoked: it makes new ones).
func (s *Service) SetReuserSuspended(ctx context.Context, c Caller, id int64, suspended bool) (int, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return 0, err
	}
	r, err := s.store.Reuser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, Errorf(NotFound, "no reuser %d", id).French("Ce réutilisateur n'existe pas.")
	}
	if err != nil {
		return 0, err
	}
	p := store.ReuserProfile{ConsumerID: id, IntendedUse: r.IntendedUse}
	revoked := 0
	if suspended {
		now := time.Now()
		p.SuspendedAt = &now
		ks, err := s.store.APIKeys(ctx, id)
		if err != nil {
			return 0, err
		}
		for _, k := range ks {
			if k.RevokedAt == nil {
				if err := s.store.RevokeAPIKey(ctx, k.ID, now); err != nil {
					return revoked, err
				}
				revoked++
			}
		}
		if err := s.store.DeleteReuserTokens(ctx, id, ""); err != nil {
			return revoked, err
		}
	}
	if err := s.store.SetReuserProfile(ctx, p); err != nil {
		return revoked, err
	}
	action := "apiconsumer.resume"
	if suspended {
		action = "apiconsumer.suspend"
	}
	s.auditAPI(ctx, c, action, "apiconsumer", strconv.FormatInt(id, 10), map[string]any{"revokedKeys": revoked})
	return revoked, nil
}

// APIUsageByConsumer sums the selected calls per consumer (staff).
func (s *Service) APIUsageByConsumer(ctx context.Context, c Caller, q UsageQuery) ([]store.UsageConsumer, error) {
	if err := s.mayAPIKeys(ctx, c, "read"); err != nil {
		return nil, err
	}
	return s.store.APIUsageByConsumer(ctx, q.filter(), 100)
}

// ---- public ----

// PublicAPIPlans are the plans and their limits, for anyone (DINUM R10:
// the load the API accepts is published).
func (s *Service) PublicAPIPlans(ctx context.Context) ([]store.APIPlan, error) {
	return s.store.APIPlans(ctx)
}

// APIStatus is the public API's health and measured response times (DINUM
// R11–R12), from the usage log.
type APIStatus struct {
	Healthy          bool
	Calls24h, Calls7 int64
	Day, Week        []store.EndpointLatency
}

// PublicAPIStatus measures the last 24 hours and 7 days.
func (s *Service) PublicAPIStatus(ctx context.Context, now time.Time) (APIStatus, error) {
	var st APIStatus
	var err error
	if st.Day, err = s.store.APILatency(ctx, now.Add(-24*time.Hour)); err != nil {
		return st, err
	}
	if st.Week, err = s.store.APILatency(ctx, now.Add(-7*24*time.Hour)); err != nil {
		return st, err
	}
	var errs int64
	for _, l := range st.Day {
		st.Calls24h += l.Calls
		errs += l.Errors
	}
	for _, l := range st.Week {
		st.Calls7 += l.Calls
	}
	st.Healthy = st.Calls24h == 0 || errs*20 < st.Calls24h // under 5 % of server errors
	return st, nil
}
