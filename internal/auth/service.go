// Package auth is who-is-who in civicflow: local accounts (argon2id),
// sessions and personal API tokens (random secrets stored hashed), login
// throttling, OIDC sign-in as ProConnect does it, principals with their
// roles and delegations, the task-level rules of the flow engine
// (candidate groups, four eyes), the Echo middlewares that authenticate
// and authorize every request through the policies.Authorizer, and the
// demo seed.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/policies"
)

// Options configure the Service; zero values take the defaults shown.
type Options struct {
	SessionTTL    time.Duration // 12h
	SecureCookies bool          // Secure flag on cookies (https deployments)
	// Progressive delay per username tried (known or not): after
	// FreeFailures consecutive failures, an attempt waits until
	// BaseDelay·2^(failures−FreeFailures), capped at MaxDelay, has passed
	// since the last failure. Failures older than ForgetAfter are forgotten.
	FreeFailures int           // 3
	BaseDelay    time.Duration // 1s
	MaxDelay     time.Duration // 30s
	ForgetAfter  time.Duration // 24h
	// Per address (IPv6: per /64): failed sign-ins allowed per
	// LoginWindow (<0: unlimited), and attempts in progress at once.
	LoginFailuresPerIP  int           // 20
	LoginWindow         time.Duration // 1m
	LoginsInFlightPerIP int           // 64
	// AuditBurstWindow is how long refusals that strangers can cause at will
	// (anonymous refused requests, throttled sign-ins) are counted per
	// address before one audit entry records them.
	AuditBurstWindow time.Duration // 1m
	Argon2           Argon2Params  // DefaultArgon2
	OIDC             OIDCConfig    // sign-in with ProConnect (off when Issuer is empty)
	Now              func() time.Time
	// Sleep waits for the progressive delay (tests replace it).
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.FreeFailures <= 0 {
		o.FreeFailures = 3
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 30 * time.Second
	}
	if o.ForgetAfter <= 0 {
		o.ForgetAfter = 24 * time.Hour
	}
	if o.LoginFailuresPerIP == 0 {
		o.LoginFailuresPerIP = 20
	}
	if o.LoginWindow <= 0 {
		o.LoginWindow = time.Minute
	}
	if o.LoginsInFlightPerIP <= 0 {
		o.LoginsInFlightPerIP = 64
	}
	if o.AuditBurstWindow <= 0 {
		o.AuditBurstWindow = time.Minute
	}
	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = DefaultArgon2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Service authenticates people and holds the authorizer and audit log the
// middlewares use.
type Service struct {
	st     *store.Store
	az     *policies.Authorizer
	audit  audit.Recorder
	o      Options
	ips    *ipLimiter
	bursts *audit.Bursts
	// hashing bounds the password verifications running at once (each
	// argon2id takes Argon2.Memory KiB).
	hashing chan struct{}

	dummyOnce sync.Once
	dummyHash string

	pruneMu sync.Mutex
	pruned  time.Time

	oidcMu sync.Mutex
	oidc   *oidcClient
}

// New seeds the default policy on the first start, builds the authorizer
// and returns the service.
func New(ctx context.Context, st *store.Store, o Options) (*Service, error) {
	o.defaults()
	if _, err := policies.Seed(ctx, st); err != nil {
		return nil, err
	}
	az, err := policies.NewAuthorizer(ctx, st, policies.AuthorizerOptions{Now: o.Now, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("authorizer: %w", err)
	}
	return NewWith(st, az, audit.NewLogger(st), o), nil
}

// NewWith assembles a service from its parts.
func NewWith(st *store.Store, az *policies.Authorizer, rec audit.Recorder, o Options) *Service {
	o.defaults()
	return &Service{
		st: st, az: az, audit: rec, o: o,
		ips:     newIPLimiter(o.LoginFailuresPerIP, o.LoginWindow, o.LoginsInFlightPerIP),
		bursts:  audit.NewBursts(rec, o.AuditBurstWindow, o.Now, o.Logger),
		hashing: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
	}
}

// Store, Authorizer, Audit and Options expose the parts.
func (s *Service) Store() *store.Store              { return s.st }
func (s *Service) Authorizer() *policies.Authorizer { return s.az }
func (s *Service) Audit() audit.Recorder            { return s.audit }
func (s *Service) Options() Options                 { return s.o }
func (s *Service) now() time.Time                   { return s.o.Now() }
func (s *Service) record(ctx context.Context, e audit.Entry) {
	if err := s.audit.Record(ctx, e); err != nil {
		s.o.Logger.Error("audit: cannot record", "action", e.Action, "err", err)
	}
}

// recordBurst counts an entry that a stranger can cause at will in the
// burst of its address (see audit.Bursts); sample says what it was.
func (s *Service) recordBurst(e audit.Entry, sample string) {
	s.bursts.Add(AddressKey(e.IP), e, sample)
}

// FlushAudit records at once the refusals counted in open bursts (at
// shutdown; tests).
func (s *Service) FlushAudit(ctx context.Context) { s.bursts.Flush(ctx) }

// Changed tells the authorizer that rules, memberships, delegations or
// users changed in this process.
func (s *Service) Changed() { s.az.Invalidate() }

// ---- secrets ----

// TokenPrefix starts every personal API token.
const TokenPrefix = "cf_"

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is how session and API token secrets are stored: sha256, hex.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ---- login ----

// LoginRequest is a password login attempt.
type LoginRequest struct {
	Username, Password string
	IP, UserAgent      string
}

// LoginResult is a successful login: the session token (the cookie value,
// also usable as a Bearer token) and its expiry.
type LoginResult struct {
	Token     string
	ExpiresAt time.Time
	User      store.User
}

func (s *Service) dummy() string {
	s.dummyOnce.Do(func() { s.dummyHash, _ = HashPassword("civicflow-no-such-user", s.o.Argon2) })
	return s.dummyHash
}

// nameHash is the key of a username's failure count.
func nameHash(username string) string { return HashToken("login\x00" + username) }

// Login checks a username and password. Unknown users and wrong passwords
// get the same ErrBadCredentials after the same work: the same reads and
// writes, a password hash always verified (a dummy one for unknown users)
// and the same progressive delay (see throttle.go). Errors:
// *RateLimitedError (too many failures from the address), ErrDisabled (the
// right password of a disabled account).
func (s *Service) Login(ctx context.Context, r LoginRequest) (LoginResult, error) {
	u, err := s.checkPassword(ctx, r.Username, r.Password, r.IP)
	if err != nil {
		return LoginResult{}, err
	}
	token, exp, err := s.StartSession(ctx, u, "password", r.IP, r.UserAgent)
	if err != nil {
		return LoginResult{}, err
	}
	s.record(ctx, audit.Entry{Actor: u.Username, Action: "auth.login", ObjectType: "user", ObjectID: u.Username, IP: r.IP})
	return LoginResult{Token: token, ExpiresAt: exp, User: u}, nil
}

// checkPassword is Login without the session: the throttled check of a
// username and password.
func (s *Service) checkPassword(ctx context.Context, rawUsername, password, ip string) (store.User, error) {
	username := NormalizeUsername(rawUsername)
	addr := AddressKey(ip)
	if ok, wait := s.ips.begin(addr, s.now()); !ok {
		s.recordBurst(audit.Entry{Actor: "anonymous", Action: "auth.login", Outcome: audit.Denied, IP: ip,
			Detail: audit.Detail(map[string]string{"reason": "rate limited"})}, printable(username, 64))
		return store.User{}, &RateLimitedError{RetryAfter: wait, Limit: s.ips.n, Window: s.ips.window}
	}
	failed := true
	defer func() { s.ips.end(addr, s.now(), failed) }()

	key := nameHash(username)
	lf, err := s.st.LoginFailuresOf(ctx, key)
	if err != nil {
		return store.User{}, err
	}
	if lf.Failures > 0 && s.now().Sub(lf.LastFailedAt) > s.o.ForgetAfter {
		lf.Failures = 0
	}
	var delay time.Duration
	if owed := s.o.backoff(lf.Failures); owed > 0 {
		if delay = lf.LastFailedAt.Add(owed).Sub(s.now()); delay > 0 {
			delay = min(delay, s.o.MaxDelay)
			if err := s.o.Sleep(ctx, delay); err != nil {
				failed = false // the client left: nothing was tried
				return store.User{}, fmt.Errorf("%w (the client left before the answer)", ErrBadCredentials)
			}
		}
	}

	var u store.User
	known := false
	if usernameRE.MatchString(username) {
		u, err = s.st.UserByUsername(ctx, username)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
		known = err == nil
	}
	hash := s.dummy()
	if known && u.PasswordHash != nil {
		hash = *u.PasswordHash
	}
	ok, rehash, verr := s.verify(ctx, password, hash)
	if verr != nil && !errors.Is(verr, errMalformedHash) {
		failed = false // the client left: nothing was tried
		return u, fmt.Errorf("%w (the client left before the answer)", ErrBadCredentials)
	}
	if verr != nil {
		s.o.Logger.Error("auth: stored password hash is malformed", "user", username)
	}
	if !ok || !known || u.PasswordHash == nil {
		n, err := s.st.RecordLoginFailure(ctx, key, s.now(), s.now().Add(-s.o.ForgetAfter))
		if err != nil {
			return u, err
		}
		reason := "unknown user"
		if known {
			reason = "wrong password"
		}
		s.record(ctx, audit.Entry{Actor: printable(username, 64), Action: "auth.login", Outcome: audit.Denied, IP: ip,
			Detail: audit.Detail(map[string]any{"reason": reason, "consecutive_failures": n, "delay_ms": delay.Milliseconds()})})
		s.pruneFailures(ctx)
		return u, ErrBadCredentials
	}
	failed = false
	if u.Disabled {
		s.record(ctx, audit.Entry{Actor: username, Action: "auth.login", Outcome: audit.Denied, IP: ip, Detail: audit.Detail(map[string]string{"reason": "disabled"})})
		return u, ErrDisabled
	}
	if lf.Failures > 0 {
		if err := s.st.ClearLoginFailures(ctx, key); err != nil {
			return u, err
		}
	}
	if rehash {
		if h, err := HashPassword(password, s.o.Argon2); err == nil {
			if err := s.st.SetPasswordHash(ctx, u.ID, &h); err != nil {
				s.o.Logger.Warn("auth: rehash failed", "user", username, "err", err)
			}
		}
	}
	return u, nil
}

// verify checks a password against a hash, at most a few at once.
func (s *Service) verify(ctx context.Context, password, hash string) (ok, rehash bool, err error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	return VerifyPassword(password, hash, s.o.Argon2)
}

// pruneFailures forgets, at most once an hour, the failure counts older
// than ForgetAfter.
func (s *Service) pruneFailures(ctx context.Context) {
	now := s.now()
	s.pruneMu.Lock()
	due := now.Sub(s.pruned) >= time.Hour
	if due {
		s.pruned = now
	}
	s.pruneMu.Unlock()
	if due {
		if _, err := s.st.PruneLoginFailures(ctx, now.Add(-s.o.ForgetAfter)); err != nil {
			s.o.Logger.Warn("auth: cannot prune login failures", "err", err)
		}
	}
}

// printable keeps at most n bytes of s's printable characters, for audit
// entries that quote what a stranger typed.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// StartSession opens a session for u and returns its secret token.
func (s *Service) StartSession(ctx context.Context, u store.User, method, ip, ua string) (string, time.Time, error) {
	token, err := randomSecret()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	se := store.Session{ID: HashToken(token), UserID: u.ID, Method: method, IP: ip, UserAgent: ua, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.o.SessionTTL)}
	if err := s.st.CreateSession(ctx, se); err != nil {
		return "", time.Time{}, err
	}
	return token, se.ExpiresAt, nil
}

// Logout ends the session of token (unknown tokens are ignored).
func (s *Service) Logout(ctx context.Context, p Principal, token, ip string) error {
	if token == "" {
		return nil
	}
	if err := s.st.DeleteSession(ctx, HashToken(token)); err != nil {
		return err
	}
	if !p.Anonymous() {
		s.record(ctx, audit.Entry{Actor: p.Username, Action: "auth.logout", ObjectType: "user", ObjectID: p.Username, IP: ip})
	}
	return nil
}

// ---- principals ----

// PrincipalForSession resolves a session token.
func (s *Service) PrincipalForSession(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > 128 {
		return Principal{}, ErrSessionInvalid
	}
	se, err := s.st.SessionByID(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrSessionInvalid
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if !now.Before(se.ExpiresAt) {
		_ = s.st.DeleteSession(ctx, se.ID)
		return Principal{}, ErrSessionExpired
	}
	if now.Sub(se.LastSeenAt) > time.Minute {
		_ = s.st.TouchSession(ctx, se.ID, now)
	}
	p, err := s.principalOf(ctx, se.UserID)
	p.Via = "session"
	return p, err
}

// PrincipalForToken resolves a personal API token ("cf_…").
func (s *Service) PrincipalForToken(ctx context.Context, raw string) (Principal, error) {
	if !strings.HasPrefix(raw, TokenPrefix) || len(raw) > 128 {
		return Principal{}, ErrTokenInvalid
	}
	t, err := s.st.APITokenByHash(ctx, HashToken(raw))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrTokenInvalid
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	switch {
	case t.RevokedAt != nil:
		return Principal{}, ErrTokenRevoked
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return Principal{}, ErrTokenExpired
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		_ = s.st.TouchAPIToken(ctx, t.ID, now)
	}
	p, err := s.principalOf(ctx, t.UserID)
	p.Via = "token"
	return p, err
}

func (s *Service) principalOf(ctx context.Context, userID int64) (Principal, error) {
	u, err := s.st.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrSessionInvalid
	}
	if err != nil {
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, ErrDisabled
	}
	return s.PrincipalFor(ctx, u)
}

// PrincipalFor builds the principal of u: memberships and the delegations
// active now whose delegator still holds the role.
func (s *Service) PrincipalFor(ctx context.Context, u store.User) (Principal, error) {
	p := Principal{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Memberships: []Membership{}, Delegations: []Delegation{}}
	if u.Email != nil {
		p.Email = *u.Email
	}
	ms, err := s.st.MembershipsOf(ctx, u.ID)
	if err != nil {
		return Principal{}, err
	}
	for _, m := range ms {
		p.Memberships = append(p.Memberships, Membership{Role: m.Role, Department: m.Department})
	}
	now := s.now()
	ds, err := s.st.CurrentDelegations(ctx, u.ID, now)
	if err != nil {
		return Principal{}, err
	}
	for _, d := range ActiveDelegations(ds, now) {
		dm, err := s.st.MembershipsOf(ctx, mustDelegatorID(ds, d.ID))
		if err != nil {
			return Principal{}, err
		}
		if holdsRole(dm, d.Role, d.Department) {
			p.Delegations = append(p.Delegations, d)
		}
	}
	return p, nil
}

func mustDelegatorID(ds []store.Delegation, id int64) int64 {
	for _, d := range ds {
		if d.ID == id {
			return d.DelegatorID
		}
	}
	return 0
}

func holdsRole(ms []store.Membership, role, dept string) bool {
	for _, m := range ms {
		if m.Role == role && covers(m.Department, dept) {
			return true
		}
	}
	return false
}

// Allowed asks the authorizer whether p may do act on obj in dept ("*": in
// some department).
func (s *Service) Allowed(ctx context.Context, p Principal, dept, obj, act string) bool {
	if p.Anonymous() {
		return false
	}
	return s.az.Allowed(ctx, p.Username, dept, obj, act)
}

// ---- API tokens ----

// CreateAPIToken makes a personal API token for userID. The secret is
// returned once and never stored.
func (s *Service) CreateAPIToken(ctx context.Context, p Principal, name string, expiresAt *time.Time, ip string) (string, store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", store.APIToken{}, invalidf("give the token a name (1 to 100 characters)")
	}
	if expiresAt != nil && !expiresAt.After(s.now()) {
		return "", store.APIToken{}, invalidf("expires_at is in the past")
	}
	secret, err := randomSecret()
	if err != nil {
		return "", store.APIToken{}, err
	}
	raw := TokenPrefix + secret
	t := store.APIToken{UserID: p.UserID, Name: name, Prefix: raw[:len(TokenPrefix)+6], Hash: HashToken(raw), CreatedAt: s.now(), ExpiresAt: expiresAt}
	if err := s.st.CreateAPIToken(ctx, &t); err != nil {
		return "", t, err
	}
	s.record(ctx, audit.Entry{Actor: p.Username, Action: "token.create", ObjectType: "apitoken", ObjectID: fmt.Sprint(t.ID), IP: ip, Detail: audit.Detail(map[string]string{"name": name})})
	return raw, t, nil
}

// RevokeAPIToken revokes one of p's tokens.
func (s *Service) RevokeAPIToken(ctx context.Context, p Principal, id int64, ip string) error {
	if err := s.st.RevokeAPIToken(ctx, p.UserID, id, s.now()); err != nil {
		return err
	}
	s.record(ctx, audit.Entry{Actor: p.Username, Action: "token.revoke", ObjectType: "apitoken", ObjectID: fmt.Sprint(id), IP: ip})
	return nil
}

// ---- users, memberships, delegations ----

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

// NormalizeUsername trims and lower-cases a username.
func NormalizeUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// NewUser describes an account to create. An empty Password makes an
// OIDC-only account.
type NewUser struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Password    string `json:"password"`
}

// CreateUser validates and creates an account.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (store.User, error) {
	u := store.User{Username: NormalizeUsername(nu.Username), DisplayName: strings.TrimSpace(nu.DisplayName)}
	if !usernameRE.MatchString(u.Username) {
		return u, invalidFR(fmt.Sprintf("identifiant « %s » : utilisez de 2 à 63 lettres minuscules, chiffres, points, tirets ou soulignés", nu.Username), "username %q: use 2 to 63 lower-case letters, digits, dots, dashes or underscores", nu.Username)
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Username
	}
	if e := strings.TrimSpace(nu.Email); e != "" {
		if !strings.Contains(e, "@") || len(e) > 254 {
			return u, invalidFR(fmt.Sprintf("« %s » n'est pas une adresse électronique", e), "e-mail %q is not an address", e)
		}
		u.Email = &e
	}
	if nu.Password != "" {
		email := ""
		if u.Email != nil {
			email = *u.Email
		}
		if err := CheckPassword(nu.Password, u.Username, email); err != nil {
			return u, err
		}
		h, err := HashPassword(nu.Password, s.o.Argon2)
		if err != nil {
			return u, err
		}
		u.PasswordHash = &h
	}
	if err := s.st.CreateUser(ctx, &u); err != nil {
		return u, err
	}
	return u, nil
}

// SetPassword is a password reset by an administrator (API or `civicflow
// user passwd`): the new password must follow the policy; every session of
// the user ends and every personal API token of theirs is revoked, at once;
// the failure count of the username is forgotten.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	return s.replacePassword(ctx, userID, password, true)
}

// ChangeOwnPassword is p changing their own password: the current one is
// checked like a sign-in (same throttling; ErrBadCredentials when wrong),
// the new one must follow the policy, and every session of the user ends
// (the caller opens a new one for the client). Personal API tokens are
// kept: the user manages them (a reset by an administrator revokes them).
func (s *Service) ChangeOwnPassword(ctx context.Context, p Principal, current, password, ip string) error {
	if _, err := s.checkPassword(ctx, p.Username, current, ip); err != nil {
		return err
	}
	if err := s.replacePassword(ctx, p.UserID, password, false); err != nil {
		return err
	}
	s.record(ctx, audit.Entry{Actor: p.Username, Action: "user.password", ObjectType: "user", ObjectID: p.Username, IP: ip,
		Detail: audit.Detail(map[string]string{"by": "self", "sessions": "ended"})})
	return nil
}

// ChangeOwnPasswordAndRenew is ChangeOwnPassword followed by a new session
// for the client that asked (its old one ended with the others): the
// session token and its expiry.
func (s *Service) ChangeOwnPasswordAndRenew(ctx context.Context, p Principal, current, password, ip, ua string) (string, time.Time, error) {
	if err := s.ChangeOwnPassword(ctx, p, current, password, ip); err != nil {
		return "", time.Time{}, err
	}
	u, err := s.st.UserByID(ctx, p.UserID)
	if err != nil {
		return "", time.Time{}, err
	}
	return s.StartSession(ctx, u, "password", ip, ua)
}

func (s *Service) replacePassword(ctx context.Context, userID int64, password string, revokeTokens bool) error {
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	email := ""
	if u.Email != nil {
		email = *u.Email
	}
	if err := CheckPassword(password, u.Username, email); err != nil {
		return err
	}
	h, err := HashPassword(password, s.o.Argon2)
	if err != nil {
		return err
	}
	if err := s.st.ReplacePassword(ctx, userID, h, revokeTokens, s.now()); err != nil {
		return err
	}
	return s.st.ClearLoginFailures(ctx, nameHash(u.Username))
}

// SetDisabled disables or enables a user; disabling ends their sessions
// and revokes their personal API tokens (enabling gives none back).
func (s *Service) SetDisabled(ctx context.Context, userID int64, disabled bool) error {
	if err := s.st.SetUserDisabled(ctx, userID, disabled); err != nil {
		return err
	}
	s.Changed()
	return nil
}

var roleRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// ValidateGroup checks a role and department (an existing department or "*").
func (s *Service) ValidateGroup(ctx context.Context, role, dept string) error {
	if !roleRE.MatchString(role) {
		return invalidFR(fmt.Sprintf("rôle « %s » : utilisez des lettres minuscules, chiffres, tirets ou soulignés", role), "role %q: use lower-case letters, digits, dashes or underscores", role)
	}
	if dept == AllDepartments {
		return nil
	}
	if _, err := s.st.Department(ctx, dept); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return invalidFR(fmt.Sprintf("la direction « %s » n'existe pas", dept), "department %q does not exist", dept)
		}
		return err
	}
	return nil
}

// Grant gives a user a role in a department.
func (s *Service) Grant(ctx context.Context, userID int64, role, dept string) error {
	if err := s.ValidateGroup(ctx, role, dept); err != nil {
		return err
	}
	if err := s.st.GrantMembership(ctx, userID, role, dept); err != nil {
		return err
	}
	s.Changed()
	return nil
}

// Revoke removes a role.
func (s *Service) Revoke(ctx context.Context, userID int64, role, dept string) error {
	if err := s.st.RevokeMembership(ctx, userID, role, dept); err != nil {
		return err
	}
	s.Changed()
	return nil
}

// DelegationRequest asks to lend Role@Department from Delegator to
// Delegate over [From, Until). Delegator defaults to the caller.
type DelegationRequest struct {
	Delegator  string    `json:"delegator"`
	Delegate   string    `json:"delegate"`
	Role       string    `json:"role"`
	Department string    `json:"department"`
	From       time.Time `json:"valid_from"`
	Until      time.Time `json:"valid_until"`
	Reason     string    `json:"reason"`
}

// MaxDelegation is the longest délégation de signature accepted.
const MaxDelegation = 366 * 24 * time.Hour

// CreateDelegation records a délégation de signature. The delegator must
// hold the role in their own right (no delegating a delegation); only a
// caller allowed "delegations admin" may create one for someone else.
func (s *Service) CreateDelegation(ctx context.Context, caller Principal, r DelegationRequest, ip string) (store.Delegation, error) {
	if r.Delegator == "" {
		r.Delegator = caller.Username
	}
	r.Delegator, r.Delegate = NormalizeUsername(r.Delegator), NormalizeUsername(r.Delegate)
	if r.Delegator != caller.Username && !s.Allowed(ctx, caller, AllDepartments, "delegations", "admin") {
		return store.Delegation{}, forbiddenFR("seul un administrateur délègue le rôle de quelqu'un d'autre", "only an administrator delegates someone else's role")
	}
	if r.Department == "" {
		r.Department = AllDepartments
	}
	if r.From.IsZero() {
		r.From = s.now()
	}
	switch {
	case r.Delegate == "":
		return store.Delegation{}, invalidFR("indiquez à qui vous déléguez", "delegate is missing")
	case r.Delegate == r.Delegator:
		return store.Delegation{}, invalidFR("on ne peut pas se déléguer un rôle à soi-même", "one cannot delegate to oneself")
	case r.Role == "":
		return store.Delegation{}, invalidFR("indiquez le rôle délégué", "role is missing")
	case !r.Until.After(r.From):
		return store.Delegation{}, invalidFR("la fin de la délégation doit suivre son début", "valid_until must be after valid_from")
	case !r.Until.After(s.now()):
		return store.Delegation{}, invalidFR("la fin de la délégation est déjà passée", "valid_until is in the past")
	case r.Until.Sub(r.From) > MaxDelegation:
		return store.Delegation{}, invalidFR("une délégation dure au plus un an", "a delegation lasts at most a year")
	}
	from, err := s.st.UserByUsername(ctx, r.Delegator)
	if err != nil {
		return store.Delegation{}, invalidFR(fmt.Sprintf("le délégant « %s » n'existe pas", r.Delegator), "delegator %q does not exist", r.Delegator)
	}
	to, err := s.st.UserByUsername(ctx, r.Delegate)
	if err != nil {
		return store.Delegation{}, invalidFR(fmt.Sprintf("le délégataire « %s » n'existe pas", r.Delegate), "delegate %q does not exist", r.Delegate)
	}
	if to.Disabled {
		return store.Delegation{}, invalidFR(fmt.Sprintf("le compte du délégataire « %s » est désactivé", r.Delegate), "delegate %q is disabled", r.Delegate)
	}
	ms, err := s.st.MembershipsOf(ctx, from.ID)
	if err != nil {
		return store.Delegation{}, err
	}
	if !holdsRole(ms, r.Role, r.Department) {
		return store.Delegation{}, invalidFR(fmt.Sprintf("%s n'a pas le rôle %s dans « %s » et ne peut donc pas le déléguer", r.Delegator, r.Role, r.Department), "%s does not hold %s@%s and so cannot delegate it", r.Delegator, r.Role, r.Department)
	}
	d := store.Delegation{DelegatorID: from.ID, Delegator: from.Username, DelegateID: to.ID, Delegate: to.Username, Role: r.Role, Department: r.Department,
		ValidFrom: r.From, ValidUntil: r.Until, Reason: strings.TrimSpace(r.Reason), CreatedAt: s.now()}
	if err := s.st.CreateDelegation(ctx, &d); err != nil {
		return d, err
	}
	s.Changed()
	s.record(ctx, audit.Entry{Actor: caller.Username, OnBehalfOf: from.Username, Action: "delegation.create", ObjectType: "delegation", ObjectID: fmt.Sprint(d.ID),
		Department: d.Department, IP: ip, Detail: audit.Detail(map[string]any{"delegate": d.Delegate, "role": d.Role, "from": d.ValidFrom, "until": d.ValidUntil})})
	return d, nil
}

// RevokeDelegation ends a delegation: its delegator, its delegate or an
// administrator may.
func (s *Service) RevokeDelegation(ctx context.Context, caller Principal, id int64, ip string) error {
	d, err := s.st.Delegation(ctx, id)
	if err != nil {
		return err
	}
	if caller.UserID != d.DelegatorID && caller.UserID != d.DelegateID && !s.Allowed(ctx, caller, AllDepartments, "delegations", "admin") {
		return forbiddenFR("seuls le délégant, le délégataire ou un administrateur mettent fin à une délégation", "only the delegator, the delegate or an administrator ends a delegation")
	}
	if err := s.st.RevokeDelegation(ctx, id, s.now()); err != nil {
		return err
	}
	s.Changed()
	s.record(ctx, audit.Entry{Actor: caller.Username, Action: "delegation.revoke", ObjectType: "delegation", ObjectID: fmt.Sprint(id), Department: d.Department, IP: ip})
	return nil
}

// Departments lists the departments where p may do act on obj ("*" alone
// when everywhere), for handlers that filter lists by department.
func (s *Service) Departments(ctx context.Context, p Principal, obj, act string) []string {
	if p.Anonymous() {
		return nil
	}
	return s.az.Departments(ctx, p.Username, obj, act)
}
