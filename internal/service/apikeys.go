package service

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civicflow/civicflow/internal/apigw"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
)

// The public API's keys, plans, consumers and usage (internal/apigw meters
// the calls). Staff actions need "apikeys" permissions in every
// department: read (list keys, consumers, usage) or write (everything
// else; the admin role). Every change is audited; a key is shown once, by
// the function that makes it, and only its hash is stored.

// RotationOverlap is how long a rotated key keeps working.
const RotationOverlap = 24 * time.Hour

// APIKeyInput is a key to create.
type APIKeyInput struct {
	Name      string     `json:"name"`
	Plan      string     `json:"plan"`
	Consumer  *int64     `json:"consumer"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// APIPlanInput is a plan to create or change.
type APIPlanInput struct {
	ID            string  `json:"id"`
	Label         string  `json:"label"`
	RatePerSecond float64 `json:"ratePerSecond"`
	Burst         int     `json:"burst"`
	PerDay        int64   `json:"perDay"`
	PerMonth      int64   `json:"perMonth"`
}

// APIConsumerInput is a reuser to register.
type APIConsumerInput struct {
	Name         string `json:"name"`
	Email        string `json:"email"`
	Organisation string `json:"organisation"`
	Verified     bool   `json:"verified"`
}

// UsageQuery selects usage for the analytics and the export.
type UsageQuery struct {
	Consumer int64
	Dataset  string
	From, To time.Time
	Limit    int // rows of APIUsageByDay (default 1000)
}

func (s *Service) mayAPIKeys(ctx context.Context, c Caller, act string) error {
	if s.allowedIn(ctx, c, "apikeys", act, auth.AllDepartments) {
		return nil
	}
	return Errorf(Forbidden, "you are not allowed to %s API keys", act).French("Vous n'avez pas le droit de gérer les clés d'API.")
}

func invalidField(field, msg, fr string) *Error {
	return &Error{Kind: Invalid, Msg: field + ": " + msg, Fr: fr, Problems: []Problem{{Field: field, Message: msg, Fr: fr}}}
}

func checkText(field, v string, maxLen int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return invalidField(field, "required", "Ce champ est obligatoire.")
	}
	if utf8.RuneCountInString(v) > maxLen || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return invalidField(field, fmt.Sprintf("at most %d characters of text", maxLen), fmt.Sprintf("%d caractères au plus.", maxLen))
	}
	return nil
}

func (s *Service) auditAPI(ctx context.Context, c Caller, action, objType, objID string, detail map[string]any) {
	s.audit(ctx, c, audit.Entry{Action: action, ObjectType: objType, ObjectID: objID, Detail: audit.Detail(detail)})
}

// ---- keys ----

// CreateAPIKey makes a key on a plan, for a consumer or none; it returns
// the stored key and the key itself, shown this once.
func (s *Service) CreateAPIKey(ctx context.Context, c Caller, in APIKeyInput) (store.APIKey, string, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return store.APIKey{}, "", err
	}
	return s.createAPIKey(ctx, c, in)
}

func (s *Service) createAPIKey(ctx context.Context, c Caller, in APIKeyInput) (store.APIKey, string, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := checkText("name", in.Name, 100, true); err != nil {
		return store.APIKey{}, "", err
	}
	if in.Plan == "" {
		in.Plan = store.PlanRegistered
	}
	if _, err := s.store.APIPlan(ctx, in.Plan); errors.Is(err, store.ErrNotFound) {
		return store.APIKey{}, "", invalidField("plan", fmt.Sprintf("no plan %q", in.Plan), fmt.Sprintf("L'offre « %s » n'existe pas.", in.Plan))
	} else if err != nil {
		return store.APIKey{}, "", err
	}
	if in.Consumer != nil {
		if _, err := s.store.APIConsumer(ctx, *in.Consumer); errors.Is(err, store.ErrNotFound) {
			return store.APIKey{}, "", invalidField("consumer", fmt.Sprintf("no consumer %d", *in.Consumer), "Ce réutilisateur n'existe pas.")
		} else if err != nil {
			return store.APIKey{}, "", err
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(time.Now()) {
		return store.APIKey{}, "", invalidField("expiresAt", "must be in the future", "La date d'expiration doit être dans le futur.")
	}
	key, prefix, hash, err := apigw.NewKey()
	if err != nil {
		return store.APIKey{}, "", err
	}
	k := store.APIKey{Name: in.Name, Prefix: prefix, Hash: hash, PlanID: in.Plan, ConsumerID: in.Consumer, CreatedBy: c.Principal.Name(), ExpiresAt: in.ExpiresAt}
	if err := s.store.CreateAPIKey(ctx, &k); err != nil {
		return store.APIKey{}, "", err
	}
	s.auditAPI(ctx, c, "apikey.create", "apikey", strconv.FormatInt(k.ID, 10), map[string]any{"name": k.Name, "prefix": k.Prefix, "plan": k.PlanID, "consumer": k.ConsumerID, "expiresAt": k.ExpiresAt})
	return k, key, nil
}

// ListAPIKeys lists the keys (prefixes, never keys), of one consumer when
// consumerID > 0.
func (s *Service) ListAPIKeys(ctx context.Context, c Caller, consumerID int64) ([]store.APIKey, error) {
	if err := s.mayAPIKeys(ctx, c, "read"); err != nil {
		return nil, err
	}
	return s.store.APIKeys(ctx, consumerID)
}

func (s *Service) apiKey(ctx context.Context, id int64) (store.APIKey, error) {
	k, err := s.store.APIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return k, Errorf(NotFound, "no API key %d", id).French("Cette clé d'API n'existe pas.")
	}
	return k, err
}

// RotateAPIKey issues the successor of key id (same name, plan and
// consumer) and returns it with the new key, shown this once; the old key
// keeps working for RotationOverlap.
func (s *Service) RotateAPIKey(ctx context.Context, c Caller, id int64) (store.APIKey, string, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return store.APIKey{}, "", err
	}
	old, err := s.apiKey(ctx, id)
	if err != nil {
		return old, "", err
	}
	if !old.ValidAt(time.Now()) || old.ReplacedBy != nil {
		return old, "", Errorf(Conflict, "API key %d is revoked, expired or already rotated", id).French("Cette clé est révoquée, expirée ou déjà renouvelée.")
	}
	key, prefix, hash, err := apigw.NewKey()
	if err != nil {
		return old, "", err
	}
	next := store.APIKey{Name: old.Name, Prefix: prefix, Hash: hash, PlanID: old.PlanID, ConsumerID: old.ConsumerID, CreatedBy: c.Principal.Name(), ExpiresAt: old.ExpiresAt}
	until := time.Now().Add(RotationOverlap)
	if err := s.store.RotateAPIKey(ctx, id, &next, until); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return old, "", Errorf(Conflict, "API key %d is revoked or already rotated", id).French("Cette clé est révoquée ou déjà renouvelée.")
		}
		return old, "", err
	}
	s.auditAPI(ctx, c, "apikey.rotate", "apikey", strconv.FormatInt(id, 10), map[string]any{"old": old.Prefix, "new": next.Prefix, "newId": next.ID, "oldValidUntil": until.UTC()})
	return next, key, nil
}

// RevokeAPIKey revokes key id at once (every process refuses it within a
// second).
func (s *Service) RevokeAPIKey(ctx context.Context, c Caller, id int64) (store.APIKey, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return store.APIKey{}, err
	}
	k, err := s.apiKey(ctx, id)
	if err != nil {
		return k, err
	}
	if err := s.store.RevokeAPIKey(ctx, id, time.Now()); err != nil {
		return k, err
	}
	s.auditAPI(ctx, c, "apikey.revoke", "apikey", strconv.FormatInt(id, 10), map[string]any{"prefix": k.Prefix})
	return s.store.APIKey(ctx, id)
}

// SetAPIKeyExpiry sets (nil: clears) the expiry of key id.
func (s *Service) SetAPIKeyExpiry(ctx context.Context, c Caller, id int64, at *time.Time) (store.APIKey, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return store.APIKey{}, err
	}
	k, err := s.apiKey(ctx, id)
	if err != nil {
		return k, err
	}
	if at != nil && !at.After(time.Now()) {
		return k, invalidField("expiresAt", "must be in the future (revoke the key to stop it now)", "La date d'expiration doit être dans le futur (révoquez la clé pour l'arrêter).")
	}
	if err := s.store.SetAPIKeyExpiry(ctx, id, at); err != nil {
		return k, err
	}
	s.auditAPI(ctx, c, "apikey.expiry", "apikey", strconv.FormatInt(id, 10), map[string]any{"prefix": k.Prefix, "before": k.ExpiresAt, "after": at})
	return s.store.APIKey(ctx, id)
}

// ---- plans ----

var planID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,39}$`)

func checkPlan(in APIPlanInput) error {
	var probs []Problem
	bad := func(f, m, fr string) { probs = append(probs, Problem{Field: f, Message: m, Fr: fr}) }
	if !planID.MatchString(in.ID) {
		bad("id", "2 to 40 lower-case letters, digits and dashes, starting with a letter", "De 2 à 40 lettres minuscules, chiffres et tirets.")
	}
	if err := checkText("label", in.Label, 100, true); err != nil {
		bad("label", "1 to 100 characters", "De 1 à 100 caractères.")
	}
	if in.RatePerSecond < 0 || in.RatePerSecond > 1e6 || in.RatePerSecond != in.RatePerSecond {
		bad("ratePerSecond", "0 (no rate limit) to 1,000,000", "De 0 (sans limite) à 1 000 000.")
	}
	if in.RatePerSecond > 0 && (in.Burst < 1 || in.Burst > 1e6) {
		bad("burst", "1 to 1,000,000 when there is a rate", "De 1 à 1 000 000 quand un débit est fixé.")
	}
	if in.Burst < 0 || in.PerDay < 0 || in.PerMonth < 0 {
		bad("perDay", "quotas are 0 (none) or positive", "Les quotas sont 0 (aucun) ou positifs.")
	}
	if len(probs) > 0 {
		return &Error{Kind: Invalid, Msg: "the plan is invalid", Fr: "L'offre n'est pas valide.", Problems: probs}
	}
	return nil
}

func planOf(in APIPlanInput) store.APIPlan {
	return store.APIPlan{ID: in.ID, Label: strings.TrimSpace(in.Label), RatePerSecond: in.RatePerSecond, Burst: in.Burst, PerDay: in.PerDay, PerMonth: in.PerMonth}
}

// ListAPIPlans lists the plans (anyone with apikeys read).
func (s *Service) ListAPIPlans(ctx context.Context, c Caller) ([]store.APIPlan, error) {
	if err := s.mayAPIKeys(ctx, c, "read"); err != nil {
		return nil, err
	}
	return s.store.APIPlans(ctx)
}

// CreateAPIPlan adds a plan.
func (s *Service) CreateAPIPlan(ctx context.Context, c Caller, in APIPlanInput) (store.APIPlan, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return store.APIPlan{}, err
	}
	if err := checkPlan(in); err != nil {
		return store.APIPlan{}, err
	}
	p := planOf(in)
	if err := s.store.CreateAPIPlan(ctx, &p); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return p, Errorf(Conflict, "a plan %q exists already", p.ID).French("L'offre « %s » existe déjà.", p.ID)
		}
		return p, err
	}
	s.auditAPI(ctx, c, "apiplan.create", "apiplan", p.ID, map[string]any{"after": p})
	return p, nil
}

// UpdateAPIPlan changes plan id (limits apply within a second everywhere).
func (s *Service) UpdateAPIPlan(ctx context.Context, c Caller, id string, in APIPlanInput) (store.APIPlan, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return store.APIPlan{}, err
	}
	before, err := s.store.APIPlan(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return before, Errorf(NotFound, "no plan %q", id).French("L'offre « %s » n'existe pas.", id)
	} else if err != nil {
		return before, err
	}
	if in.ID == "" {
		in.ID = id
	}
	if in.ID != id {
		return before, invalidField("id", "a plan's id cannot change", "L'identifiant d'une offre ne change pas.")
	}
	if err := checkPlan(in); err != nil {
		return before, err
	}
	p := planOf(in)
	if err := s.store.UpdateAPIPlan(ctx, &p); err != nil {
		return p, err
	}
	s.auditAPI(ctx, c, "apiplan.update", "apiplan", p.ID, map[string]any{"before": before, "after": p})
	return p, nil
}

// DeleteAPIPlan deletes a plan no key uses (the seeded anonymous plan stays).
func (s *Service) DeleteAPIPlan(ctx context.Context, c Caller, id string) error {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return err
	}
	if id == store.PlanAnonymous || id == store.PlanRegistered {
		return Errorf(Conflict, "plan %q is needed by the gateway", id).French("L'offre « %s » est indispensable.", id)
	}
	err := s.store.DeleteAPIPlan(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Errorf(NotFound, "no plan %q", id).French("L'offre « %s » n'existe pas.", id)
	case errors.Is(err, store.ErrConflict):
		return Errorf(Conflict, "plan %q is used by keys: move them first", id).French("Des clés utilisent l'offre « %s ».", id)
	case err != nil:
		return err
	}
	s.auditAPI(ctx, c, "apiplan.delete", "apiplan", id, nil)
	return nil
}

// ---- consumers ----

func checkConsumer(in *APIConsumerInput) error {
	in.Name, in.Email, in.Organisation = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email), strings.TrimSpace(in.Organisation)
	if err := checkText("name", in.Name, 100, true); err != nil {
		return err
	}
	if err := checkText("organisation", in.Organisation, 200, false); err != nil {
		return err
	}
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 254 {
		return invalidField("email", "an e-mail address (name@domain)", "Une adresse électronique (nom@domaine).")
	}
	return nil
}

// ListAPIConsumers lists the reusers.
func (s *Service) ListAPIConsumers(ctx context.Context, c Caller) ([]store.APIConsumer, error) {
	if err := s.mayAPIKeys(ctx, c, "read"); err != nil {
		return nil, err
	}
	return s.store.APIConsumers(ctx)
}

// CreateAPIConsumer registers a reuser (staff).
func (s *Service) CreateAPIConsumer(ctx context.Context, c Caller, in APIConsumerInput) (store.APIConsumer, error) {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return store.APIConsumer{}, err
	}
	return s.createConsumer(ctx, c, in)
}

func (s *Service) createConsumer(ctx context.Context, c Caller, in APIConsumerInput) (store.APIConsumer, error) {
	if err := checkConsumer(&in); err != nil {
		return store.APIConsumer{}, err
	}
	cons := store.APIConsumer{Name: in.Name, Email: in.Email, Organisation: in.Organisation, Verified: in.Verified}
	if err := s.store.CreateAPIConsumer(ctx, &cons); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return cons, Errorf(Conflict, "a reuser with this e-mail exists already").French("Un réutilisateur avec cette adresse existe déjà.")
		}
		return cons, err
	}
	s.auditAPI(ctx, c, "apiconsumer.create", "apiconsumer", strconv.FormatInt(cons.ID, 10), map[string]any{"name": cons.Name, "organisation": cons.Organisation, "verified": cons.Verified})
	return cons, nil
}

// SignUpReuser is the self-service sign-up of a reuser (no staff account):
// it registers the consumer, unverified, and makes its first key on the
// registered plan, returned once. The page that calls it owns the e-mail
// check (VerifyAPIConsumer once the address is confirmed) and anti-abuse.
func (s *Service) SignUpReuser(ctx context.Context, c Caller, in APIConsumerInput, keyName string) (store.APIConsumer, store.APIKey, string, error) {
	in.Verified = false
	cons, err := s.createConsumer(ctx, c, in)
	if err != nil {
		return cons, store.APIKey{}, "", err
	}
	if strings.TrimSpace(keyName) == "" {
		keyName = "Clé principale"
	}
	id := cons.ID
	k, key, err := s.createAPIKey(ctx, c, APIKeyInput{Name: keyName, Plan: store.PlanRegistered, Consumer: &id})
	return cons, k, key, err
}

// VerifyAPIConsumer marks a reuser's e-mail as verified. It checks no
// permission: its caller (the sign-up page's confirmation link) must have
// checked the confirmation token first.
func (s *Service) VerifyAPIConsumer(ctx context.Context, c Caller, id int64) error {
	if err := s.store.SetAPIConsumerVerified(ctx, id, true); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(NotFound, "no consumer %d", id).French("Ce réutilisateur n'existe pas.")
		}
		return err
	}
	s.auditAPI(ctx, c, "apiconsumer.verify", "apiconsumer", strconv.FormatInt(id, 10), nil)
	return nil
}

// ---- usage ----

func (q UsageQuery) filter() store.UsageFilter {
	return store.UsageFilter{ConsumerID: q.Consumer, Dataset: q.Dataset, From: q.From, To: q.To}
}

// APIUsageByDay sums the public API's calls per day and dataset (staff
// analytics, charts).
func (s *Service) APIUsageByDay(ctx context.Context, c Caller, q UsageQuery) ([]store.UsageDay, error) {
	if err := s.mayAPIKeys(ctx, c, "read"); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > 10000 {
		q.Limit = 1000
	}
	return s.store.APIUsageByDay(ctx, q.filter(), q.Limit)
}

// OwnAPIUsage is a reuser's own usage per day and dataset over the last
// days (1 to 366): its consumer's calls, or its key family's for a key
// without consumer. The caller is the key the gateway verified.
func (s *Service) OwnAPIUsage(ctx context.Context, key store.APIKey, days int) ([]store.UsageDay, error) {
	if days < 1 || days > 366 {
		return nil, &ParamError{Msg: "days must be between 1 and 366"}
	}
	f := store.UsageFilter{From: time.Now().UTC().AddDate(0, 0, -days+1).Truncate(24 * time.Hour)}
	if key.ConsumerID != nil {
		f.ConsumerID = *key.ConsumerID
	} else {
		f.KeyFamily = key.FamilyID
	}
	return s.store.APIUsageByDay(ctx, f, 10000)
}

// ExportAPIUsageCSV writes the selected usage rows as CSV (admin: apikeys
// write, since rows hold client addresses). The export is audited.
func (s *Service) ExportAPIUsageCSV(ctx context.Context, c Caller, q UsageQuery, w io.Writer) error {
	if err := s.mayAPIKeys(ctx, c, "write"); err != nil {
		return err
	}
	s.auditAPI(ctx, c, "apiusage.export", "apiusage", "", map[string]any{"consumer": q.Consumer, "dataset": q.Dataset, "from": q.From, "to": q.To})
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"at", "key", "consumer", "client_addr", "dataset", "endpoint", "query", "status", "bytes", "latency_us"}); err != nil {
		return err
	}
	id := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	err := s.store.EachAPIUsage(ctx, q.filter(), func(u store.APIUsage) error {
		return cw.Write([]string{u.At.UTC().Format(time.RFC3339Nano), id(u.KeyID), id(u.ConsumerID), u.ClientAddr, csvSafe(u.Dataset), csvSafe(u.Endpoint), csvSafe(u.Query),
			strconv.Itoa(u.Status), strconv.FormatInt(u.Bytes, 10), strconv.FormatInt(u.LatencyUS, 10)})
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formulas in text cells (=, +, -, @ first).
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
