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
	"strings"
	"sync"
	"time"

	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/policies"
)

// Options configure the Service; zero values take the defaults shown.
type Options struct {
	SessionTTL    time.Duration // 12h
	SecureCookies bool          // Secure flag on cookies (https deployments)
	MaxFailures   int           // failed logins before the account locks: 5
	LockFor       time.Duration // lock duration: 15m
	LoginsPerIP   int           // login attempts per address per minute: 20 (<0: unlimited)
	Argon2        Argon2Params  // DefaultArgon2
	OIDC          OIDCConfig    // sign-in with ProConnect (off when Issuer is empty)
	Now           func() time.Time
	Logger        *slog.Logger
}

func (o *Options) defaults() {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.LockFor <= 0 {
		o.LockFor = 15 * time.Minute
	}
	if o.LoginsPerIP == 0 {
		o.LoginsPerIP = 20
	}
	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = DefaultArgon2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Service authenticates people and holds the authorizer and audit log the
// middlewares use.
type Service struct {
	st    *store.Store
	az    *policies.Authorizer
	audit audit.Recorder
	o     Options
	ips   *ipLimiter

	dummyOnce sync.Once
	dummyHash string

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
	return &Service{st: st, az: az, audit: rec, o: o, ips: newIPLimiter(o.LoginsPerIP, time.Minute)}
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

// Login checks a username and password. Unknown users and wrong passwords
// get the same ErrBadCredentials after the same work (a hash is always
// verified). Errors: *RateLimitedError (too many attempts from the
// address), *LockedError (too many failures on the account), ErrDisabled.
func (s *Service) Login(ctx context.Context, r LoginRequest) (LoginResult, error) {
	now := s.now()
	username := NormalizeUsername(r.Username)
	if ok, wait := s.ips.allow(r.IP, now); !ok {
		s.record(ctx, audit.Entry{Actor: username, Action: "auth.login", Outcome: audit.Denied, IP: r.IP, Detail: audit.Detail(map[string]string{"reason": "rate limited"})})
		return LoginResult{}, &RateLimitedError{RetryAfter: wait, Limit: s.ips.n, Window: s.ips.window}
	}
	u, err := s.st.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return LoginResult{}, err
	}
	known := err == nil
	if known && u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		s.record(ctx, audit.Entry{Actor: username, Action: "auth.login", Outcome: audit.Denied, IP: r.IP, Detail: audit.Detail(map[string]string{"reason": "locked"})})
		return LoginResult{}, &LockedError{Until: *u.LockedUntil}
	}
	hash := s.dummy()
	if known && u.PasswordHash != nil {
		hash = *u.PasswordHash
	}
	ok, rehash, verr := VerifyPassword(r.Password, hash, s.o.Argon2)
	if verr != nil {
		s.o.Logger.Error("auth: stored password hash is malformed", "user", username)
	}
	ok = ok && known && u.PasswordHash != nil
	if !ok {
		reason := "unknown user"
		if known {
			reason = "wrong password"
			nu, err := s.st.RecordLoginFailure(ctx, u.ID, s.o.MaxFailures, s.o.LockFor, now)
			if err != nil {
				return LoginResult{}, err
			}
			if nu.LockedUntil != nil && now.Before(*nu.LockedUntil) {
				reason = "wrong password; account locked"
			}
		}
		s.record(ctx, audit.Entry{Actor: username, Action: "auth.login", Outcome: audit.Denied, IP: r.IP, Detail: audit.Detail(map[string]string{"reason": reason})})
		return LoginResult{}, ErrBadCredentials
	}
	if u.Disabled {
		s.record(ctx, audit.Entry{Actor: username, Action: "auth.login", Outcome: audit.Denied, IP: r.IP, Detail: audit.Detail(map[string]string{"reason": "disabled"})})
		return LoginResult{}, ErrDisabled
	}
	if err := s.st.RecordLoginSuccess(ctx, u.ID); err != nil {
		return LoginResult{}, err
	}
	if rehash {
		if h, err := HashPassword(r.Password, s.o.Argon2); err == nil {
			if err := s.st.SetPasswordHash(ctx, u.ID, &h); err != nil {
				s.o.Logger.Warn("auth: rehash failed", "user", username, "err", err)
			}
		}
	}
	token, exp, err := s.StartSession(ctx, u, "password", r.IP, r.UserAgent)
	if err != nil {
		return LoginResult{}, err
	}
	s.record(ctx, audit.Entry{Actor: username, Action: "auth.login", ObjectType: "user", ObjectID: username, IP: r.IP})
	return LoginResult{Token: token, ExpiresAt: exp, User: u}, nil
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
		return u, invalidf("username %q: use 2 to 63 lower-case letters, digits, dots, dashes or underscores", nu.Username)
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Username
	}
	if e := strings.TrimSpace(nu.Email); e != "" {
		if !strings.Contains(e, "@") || len(e) > 254 {
			return u, invalidf("e-mail %q is not an address", e)
		}
		u.Email = &e
	}
	if nu.Password != "" {
		if len(nu.Password) < MinPasswordLen {
			return u, invalidf("the password is shorter than %d characters", MinPasswordLen)
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

// SetPassword replaces a user's password and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	if len(password) < MinPasswordLen {
		return invalidf("the password is shorter than %d characters", MinPasswordLen)
	}
	h, err := HashPassword(password, s.o.Argon2)
	if err != nil {
		return err
	}
	if err := s.st.SetPasswordHash(ctx, userID, &h); err != nil {
		return err
	}
	if err := s.st.RecordLoginSuccess(ctx, userID); err != nil {
		return err
	}
	return s.st.DeleteUserSessions(ctx, userID)
}

// SetDisabled disables or enables a user; disabling ends their sessions.
func (s *Service) SetDisabled(ctx context.Context, userID int64, disabled bool) error {
	if err := s.st.SetUserDisabled(ctx, userID, disabled); err != nil {
		return err
	}
	s.Changed()
	if disabled {
		return s.st.DeleteUserSessions(ctx, userID)
	}
	return nil
}

var roleRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// ValidateGroup checks a role and department (an existing department or "*").
func (s *Service) ValidateGroup(ctx context.Context, role, dept string) error {
	if !roleRE.MatchString(role) {
		return invalidf("role %q: use lower-case letters, digits, dashes or underscores", role)
	}
	if dept == AllDepartments {
		return nil
	}
	if _, err := s.st.Department(ctx, dept); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return invalidf("department %q does not exist", dept)
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
		return store.Delegation{}, fmt.Errorf("%w: only an administrator delegates someone else's role", ErrForbidden)
	}
	if r.Department == "" {
		r.Department = AllDepartments
	}
	if r.From.IsZero() {
		r.From = s.now()
	}
	switch {
	case r.Delegate == "":
		return store.Delegation{}, invalidf("delegate is missing")
	case r.Delegate == r.Delegator:
		return store.Delegation{}, invalidf("one cannot delegate to oneself")
	case r.Role == "":
		return store.Delegation{}, invalidf("role is missing")
	case !r.Until.After(r.From):
		return store.Delegation{}, invalidf("valid_until must be after valid_from")
	case !r.Until.After(s.now()):
		return store.Delegation{}, invalidf("valid_until is in the past")
	case r.Until.Sub(r.From) > MaxDelegation:
		return store.Delegation{}, invalidf("a delegation lasts at most a year")
	}
	from, err := s.st.UserByUsername(ctx, r.Delegator)
	if err != nil {
		return store.Delegation{}, invalidf("delegator %q does not exist", r.Delegator)
	}
	to, err := s.st.UserByUsername(ctx, r.Delegate)
	if err != nil {
		return store.Delegation{}, invalidf("delegate %q does not exist", r.Delegate)
	}
	if to.Disabled {
		return store.Delegation{}, invalidf("delegate %q is disabled", r.Delegate)
	}
	ms, err := s.st.MembershipsOf(ctx, from.ID)
	if err != nil {
		return store.Delegation{}, err
	}
	if !holdsRole(ms, r.Role, r.Department) {
		return store.Delegation{}, invalidf("%s does not hold %s@%s and so cannot delegate it", r.Delegator, r.Role, r.Department)
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
		return fmt.Errorf("%w: only the delegator, the delegate or an administrator ends a delegation", ErrForbidden)
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
