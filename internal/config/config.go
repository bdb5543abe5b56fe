// Package config holds civicflow's one configuration struct, its defaults,
// the command-line flags with their CIVICFLOW_* environment twins, and the
// validation that names the bad field.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// EmbeddedTemporal is the --temporal value that starts the in-process server.
const EmbeddedTemporal = "embedded"

// Config is everything a civicflow process needs to know.
type Config struct {
	DataDir   string // --data: SQLite file, Temporal state, blobs
	HTTPAddr  string // --http
	DB        string // --db: "" = SQLite in DataDir, or sqlite:PATH, or postgres://…
	Temporal  string // --temporal: "embedded" or HOST:PORT
	Namespace string // --namespace

	TemporalPort      int           // --temporal-port: embedded frontend port
	TemporalUI        string        // --temporal-ui: ADDR for the Temporal Web UI ("" = off)
	TemporalRetention time.Duration // --temporal-retention
	TemporalTLSCert   string        // --temporal-tls-cert (mTLS to a cluster, e.g. Temporal Cloud)
	TemporalTLSKey    string        // --temporal-tls-key
	TemporalTLSCA     string        // --temporal-tls-ca
	TemporalAPIKey    string        // --temporal-api-key
	// --temporal-secret-file: the embedded server's client secret ("" = DATA/temporal.secret)
	TemporalSecretFile string
	TemporalHTTPPort   int // --temporal-http-port: the embedded server's HTTP API (0 = off)

	RunWorker    bool   // --worker: serve also runs a worker
	Demo         bool   // --demo
	DemoPassword string // CIVICFLOW_DEMO_PASSWORD
	LogLevel     string // --log-level
	LogFormat    string // --log-format text|json
	PublicURL    string // --public-url: base URL in links, cookies Secure when https
	OrgName      string // --org-name: the collectivité's name, in the pages' header ("" = civicflow)
	// The publisher of the public catalog (DCAT-AP dct:publisher).
	PublisherName string // --publisher-name: "" = OrgName
	PublisherURI  string // --publisher-uri: its URI (e.g. https://www.ville-x.fr or its SIREN URI); "" = PUBLIC_URL/#collectivite

	OIDCIssuer        string // --oidc-issuer: OpenID Connect provider (ProConnect); empty = off
	OIDCClientID      string // --oidc-client-id
	OIDCClientSecret  string // --oidc-client-secret (prefer the env twin)
	OIDCRedirectURL   string // --oidc-redirect-url: https://HOST/auth/oidc/callback, as registered
	OIDCScopes        string // --oidc-scopes: space-separated, beyond "openid"
	OIDCAutoProvision bool   // --oidc-auto-provision: create role-less accounts for unknown e-mails

	MaxUploadBytes int64         // --max-upload: request body limit for files
	SessionTTL     time.Duration // --session-ttl
	AuditRetention time.Duration // --audit-retention
	// UsageRetentionMonths (--usage-retention-months) is how long the
	// public API's usage log is kept: 6 to 12 months (CNIL, délibération
	// 2021-122), purged by a Temporal schedule.
	UsageRetentionMonths int
	WorkerTaskQueue      string // --task-queue

	// HTTPAllow (--http-allow) lists, separated by commas, the internal
	// services that outgoing requests (the civicflow.http activity, URL
	// sources) may reach although the SSRF guard refuses loopback, private
	// and link-local addresses: CIDRs, IP addresses, host names, or
	// "*.domain" for the subdomains of a domain. Empty: none.
	HTTPAllow string
	// E-mail of reminders and escalations (processes that run a worker).
	SMTPHost     string // --smtp-host: SMTP server; empty = no e-mail (notifications are only recorded)
	SMTPPort     int    // --smtp-port
	SMTPUsername string // --smtp-username
	SMTPPassword string // --smtp-password (prefer the env twin)
	SMTPFrom     string // --smtp-from: sender, "Name <address>" or address
	SMTPStartTLS bool   // --smtp-starttls: require STARTTLS (off only for a trusted local relay)

	// data.gouv.fr publication (civicflow.datagouv, processes that run a
	// worker): the platform, demo by default (https://demo.data.gouv.fr) or
	// production (https://www.data.gouv.fr); the API key of the account
	// that publishes; the organization the datasets belong to ("" = the
	// key's user).
	DatagouvURL    string // --datagouv-url
	DatagouvAPIKey string // --datagouv-api-key (prefer the env twin CIVICFLOW_DATAGOUV_API_KEY)
	DatagouvOrg    string // --datagouv-org: organization id
}

// Default returns the configuration of a fresh single-machine install.
func Default() Config {
	return Config{
		DataDir:              "./data",
		HTTPAddr:             "127.0.0.1:8080",
		Temporal:             EmbeddedTemporal,
		Namespace:            "civicflow",
		TemporalPort:         7233,
		TemporalRetention:    30 * 24 * time.Hour,
		DemoPassword:         "demo",
		RunWorker:            true,
		LogLevel:             "info",
		LogFormat:            "text",
		MaxUploadBytes:       100 << 20,
		SessionTTL:           12 * time.Hour,
		AuditRetention:       365 * 24 * time.Hour,
		UsageRetentionMonths: 12,
		WorkerTaskQueue:      "civicflow",
		SMTPPort:             587,
		SMTPStartTLS:         true,
		DatagouvURL:          "https://demo.data.gouv.fr",
	}
}

// Flag groups say which flags a subcommand takes.
const (
	FlagsCommon   = 1 << iota // --data --db --log-level --log-format
	FlagsTemporal             // --temporal --namespace and friends
	FlagsHTTP                 // --http --demo --public-url and friends
)

// FlagSet returns a flag set for a subcommand bound to c. Parse it with Parse.
func (c *Config) FlagSet(name string, groups int) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (SQLite database, Temporal state, files)")
	fs.StringVar(&c.DB, "db", c.DB, "database URL: empty for SQLite in the data directory, sqlite:PATH, or postgres://…")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	if groups&FlagsTemporal != 0 {
		fs.StringVar(&c.Temporal, "temporal", c.Temporal, `"embedded" or HOST:PORT of a Temporal frontend`)
		fs.StringVar(&c.Namespace, "namespace", c.Namespace, "Temporal namespace")
		fs.IntVar(&c.TemporalPort, "temporal-port", c.TemporalPort, "port of the embedded Temporal frontend (0 = any free port)")
		fs.StringVar(&c.TemporalUI, "temporal-ui", c.TemporalUI, "address for the Temporal Web UI of the embedded server (empty = off)")
		fs.DurationVar(&c.TemporalRetention, "temporal-retention", c.TemporalRetention, "how long closed workflow histories are kept by the embedded server")
		fs.StringVar(&c.TemporalTLSCert, "temporal-tls-cert", c.TemporalTLSCert, "client certificate (PEM) for mTLS to Temporal")
		fs.StringVar(&c.TemporalTLSKey, "temporal-tls-key", c.TemporalTLSKey, "client key (PEM) for mTLS to Temporal")
		fs.StringVar(&c.TemporalTLSCA, "temporal-tls-ca", c.TemporalTLSCA, "CA bundle (PEM) to verify the Temporal server")
		fs.StringVar(&c.TemporalAPIKey, "temporal-api-key", c.TemporalAPIKey, "API key for Temporal Cloud")
		fs.StringVar(&c.WorkerTaskQueue, "task-queue", c.WorkerTaskQueue, "Temporal task queue of the flows")
		fs.StringVar(&c.TemporalSecretFile, "temporal-secret-file", c.TemporalSecretFile, "file with the secret of the embedded Temporal server (default DATA/temporal.secret, created at first start; give it to workers with another data directory)")
		fs.IntVar(&c.TemporalHTTPPort, "temporal-http-port", c.TemporalHTTPPort, "port of the embedded Temporal server's HTTP API (0 = off; it asks for the same secret)")
		fs.StringVar(&c.HTTPAllow, "http-allow", c.HTTPAllow, "internal services that flows (civicflow.http) and URL sources may reach: CIDRs, IP addresses, host names or *.domain, comma-separated (default none)")
		fs.StringVar(&c.SMTPHost, "smtp-host", c.SMTPHost, "SMTP server for reminder and escalation e-mails (empty = no e-mail)")
		fs.IntVar(&c.SMTPPort, "smtp-port", c.SMTPPort, "SMTP port (587 = submission with STARTTLS)")
		fs.StringVar(&c.SMTPUsername, "smtp-username", c.SMTPUsername, "SMTP user name (AUTH PLAIN, only over TLS)")
		fs.StringVar(&c.SMTPPassword, "smtp-password", c.SMTPPassword, "SMTP password (prefer CIVICFLOW_SMTP_PASSWORD)")
		fs.StringVar(&c.SMTPFrom, "smtp-from", c.SMTPFrom, `sender of e-mails, e.g. "Mairie de X <ne-pas-repondre@ville-x.fr>"`)
		fs.BoolVar(&c.SMTPStartTLS, "smtp-starttls", c.SMTPStartTLS, "require STARTTLS (--smtp-starttls=false only for a trusted local relay)")
		fs.StringVar(&c.DatagouvURL, "datagouv-url", c.DatagouvURL, "data.gouv.fr platform of civicflow.datagouv: https://demo.data.gouv.fr (tests) or https://www.data.gouv.fr (production)")
		fs.StringVar(&c.DatagouvAPIKey, "datagouv-api-key", c.DatagouvAPIKey, "data.gouv.fr API key (prefer CIVICFLOW_DATAGOUV_API_KEY); empty = publication to data.gouv.fr off")
		fs.StringVar(&c.DatagouvOrg, "datagouv-org", c.DatagouvOrg, "data.gouv.fr organization id the datasets belong to (empty = the API key's user)")
	}
	if groups&(FlagsHTTP|FlagsTemporal) != 0 {
		fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "public base URL, in links of e-mails (https:// makes cookies Secure)")
	}
	if groups&FlagsHTTP != 0 {
		fs.StringVar(&c.HTTPAddr, "http", c.HTTPAddr, "HTTP listen address")
		fs.BoolVar(&c.RunWorker, "worker", c.RunWorker, "also run a worker in this process (--worker=false for a web-only node)")
		fs.BoolVar(&c.Demo, "demo", c.Demo, "seed demo departments, users and the publication flow")
		fs.StringVar(&c.OrgName, "org-name", c.OrgName, `the collectivité's name, shown in the staff pages' header (e.g. "Ville de Saint-Martin")`)
		fs.StringVar(&c.PublisherName, "publisher-name", c.PublisherName, "publisher of the public catalog (DCAT dct:publisher); default: --org-name")
		fs.StringVar(&c.PublisherURI, "publisher-uri", c.PublisherURI, "URI of the publisher in the DCAT catalog (e.g. https://www.ville-x.fr); default: PUBLIC_URL/#collectivite")
		fs.Int64Var(&c.MaxUploadBytes, "max-upload", c.MaxUploadBytes, "largest accepted upload, in bytes")
		fs.DurationVar(&c.SessionTTL, "session-ttl", c.SessionTTL, "how long a login session lasts")
		fs.StringVar(&c.OIDCIssuer, "oidc-issuer", c.OIDCIssuer, "OpenID Connect issuer URL (ProConnect); empty = OIDC sign-in off")
		fs.StringVar(&c.OIDCClientID, "oidc-client-id", c.OIDCClientID, "OpenID Connect client id")
		fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", c.OIDCClientSecret, "OpenID Connect client secret (prefer CIVICFLOW_OIDC_CLIENT_SECRET)")
		fs.StringVar(&c.OIDCRedirectURL, "oidc-redirect-url", c.OIDCRedirectURL, "OpenID Connect redirect URL, as registered with the provider")
		fs.StringVar(&c.OIDCScopes, "oidc-scopes", c.OIDCScopes, "OpenID Connect scopes beyond openid, space-separated")
		fs.BoolVar(&c.OIDCAutoProvision, "oidc-auto-provision", c.OIDCAutoProvision, "create role-less accounts for unknown e-mails at OIDC sign-in")
	}
	fs.DurationVar(&c.AuditRetention, "audit-retention", c.AuditRetention, "how long audit entries are kept")
	fs.IntVar(&c.UsageRetentionMonths, "usage-retention-months", c.UsageRetentionMonths, "how many months the public API's usage log is kept (6 to 12)")
	return fs
}

// Parse parses args, then fills every flag not given on the command line
// from its environment twin CIVICFLOW_<FLAG>. Errors are one sentence.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		msg := err.Error()
		if strings.HasPrefix(msg, "flag provided but not defined: ") {
			return fmt.Errorf("unknown flag %s (civicflow %s --help lists the flags)", strings.TrimPrefix(msg, "flag provided but not defined: "), fs.Name())
		}
		return fmt.Errorf("%s (civicflow %s --help lists the flags)", msg, fs.Name())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || firstErr != nil {
			return
		}
		env := EnvName(f.Name)
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				firstErr = fmt.Errorf("environment variable %s=%q: %v", env, v, err)
			}
		}
	})
	return firstErr
}

// EnvName is the environment twin of a flag: --temporal-port → CIVICFLOW_TEMPORAL_PORT.
func EnvName(flagName string) string {
	return "CIVICFLOW_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Usage writes the flags of fs.
func Usage(w io.Writer, fs *flag.FlagSet, summary string) {
	fmt.Fprintf(w, "usage: civicflow %s [flags]\n\n%s\n\nflags (each also read from CIVICFLOW_<FLAG>):\n", fs.Name(), summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// Embedded reports whether the process starts its own Temporal server.
func (c *Config) Embedded() bool { return c.Temporal == "" || c.Temporal == EmbeddedTemporal }

// DBKind is "sqlite" or "postgres".
func (c *Config) DBKind() string {
	if strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://") {
		return "postgres"
	}
	return "sqlite"
}

// SQLitePath is the database file when DBKind is sqlite.
func (c *Config) SQLitePath() string {
	if p, ok := strings.CutPrefix(c.DB, "sqlite:"); ok {
		return strings.TrimPrefix(p, "//")
	}
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.DataDir, "civicflow.db")
}

// TemporalDBPath is the embedded server's SQLite file.
func (c *Config) TemporalDBPath() string { return filepath.Join(c.DataDir, "temporal.db") }

// TemporalSecretPath is the file of the embedded server's client secret.
func (c *Config) TemporalSecretPath() string {
	if c.TemporalSecretFile != "" {
		return c.TemporalSecretFile
	}
	return filepath.Join(c.DataDir, "temporal.secret")
}

// HTTPAllowList parses HTTPAllow into networks (CIDRs and addresses) and
// host names ("*.domain" included), or names the bad entry.
func (c *Config) HTTPAllowList() ([]netip.Prefix, []string, error) {
	var nets []netip.Prefix
	var hosts []string
	for _, e := range strings.FieldsFunc(c.HTTPAllow, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if p, err := netip.ParsePrefix(e); err == nil {
			if p.Bits() == 0 {
				return nil, nil, fmt.Errorf("--http-allow %q would let requests reach every address: list the internal networks one by one", e)
			}
			nets = append(nets, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(e); err == nil {
			nets = append(nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		if !hostPatternRE.MatchString(e) {
			return nil, nil, fmt.Errorf("--http-allow %q is neither a CIDR, an IP address, a host name nor *.domain", e)
		}
		hosts = append(hosts, strings.ToLower(strings.TrimSuffix(e, ".")))
	}
	return nets, hosts, nil
}

var hostPatternRE = regexp.MustCompile(`^(?i)(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$`)

// SecureCookies reports whether cookies must carry the Secure flag.
func (c *Config) SecureCookies() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// Validate checks the configuration and returns an error naming the first
// bad field in one sentence.
func (c *Config) Validate(groups int) error {
	if c.DataDir == "" {
		return errors.New("--data is empty: give a data directory")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q is not text or json", c.LogFormat)
	}
	if c.DB != "" {
		if err := validateDB(c.DB); err != nil {
			return err
		}
	}
	if groups&FlagsTemporal != 0 {
		if !c.Embedded() {
			if _, port, err := net.SplitHostPort(c.Temporal); err != nil || port == "" {
				return fmt.Errorf("--temporal %q is neither %q nor HOST:PORT", c.Temporal, EmbeddedTemporal)
			}
		}
		if c.Namespace == "" {
			return errors.New("--namespace is empty")
		}
		if c.TemporalPort < 0 || c.TemporalPort > 65535 {
			return fmt.Errorf("--temporal-port %d is not a port number", c.TemporalPort)
		}
		if c.TemporalRetention < 24*time.Hour {
			return fmt.Errorf("--temporal-retention %s is shorter than 24h", c.TemporalRetention)
		}
		if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
			return errors.New("--temporal-tls-cert and --temporal-tls-key go together")
		}
		if c.WorkerTaskQueue == "" {
			return errors.New("--task-queue is empty")
		}
		if c.TemporalHTTPPort < 0 || c.TemporalHTTPPort > 65535 {
			return fmt.Errorf("--temporal-http-port %d is not a port number", c.TemporalHTTPPort)
		}
		if c.TemporalHTTPPort != 0 && !c.Embedded() {
			return errors.New("--temporal-http-port is for the embedded Temporal server, not with --temporal HOST:PORT")
		}
		if c.TemporalHTTPPort != 0 && c.TemporalHTTPPort == c.TemporalPort {
			return fmt.Errorf("--temporal-http-port %d is also --temporal-port", c.TemporalHTTPPort)
		}
		if c.TemporalSecretFile != "" && c.TemporalAPIKey != "" {
			return errors.New("--temporal-secret-file and --temporal-api-key both authenticate to Temporal: give one")
		}
		if _, _, err := c.HTTPAllowList(); err != nil {
			return err
		}
		if err := c.validateSMTP(); err != nil {
			return err
		}
		if err := c.validateDatagouv(); err != nil {
			return err
		}
	}
	if groups&(FlagsHTTP|FlagsTemporal) != 0 && c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--public-url %q is not an http(s) URL", c.PublicURL)
		}
	}
	if groups&FlagsHTTP != 0 {
		if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return fmt.Errorf("--http %q is not HOST:PORT", c.HTTPAddr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("--http %q has an invalid port", c.HTTPAddr)
		}
		if c.MaxUploadBytes < 1024 {
			return fmt.Errorf("--max-upload %d is too small (at least 1024 bytes)", c.MaxUploadBytes)
		}
		if c.SessionTTL < time.Minute {
			return fmt.Errorf("--session-ttl %s is shorter than a minute", c.SessionTTL)
		}
		if c.OIDCIssuer != "" {
			if u, err := url.Parse(c.OIDCIssuer); err != nil || u.Scheme == "" || u.Host == "" {
				return fmt.Errorf("--oidc-issuer %q is not a URL", c.OIDCIssuer)
			}
			if c.OIDCClientID == "" || c.OIDCRedirectURL == "" {
				return errors.New("--oidc-issuer needs --oidc-client-id and --oidc-redirect-url")
			}
		}
		if c.PublisherURI != "" {
			if u, err := url.Parse(c.PublisherURI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(c.PublisherURI, " <>\"{}|\\^`") {
				return fmt.Errorf("--publisher-uri %q is not an http(s) URI", c.PublisherURI)
			}
		}
		if c.Demo && c.DemoPassword == "" {
			return errors.New("CIVICFLOW_DEMO_PASSWORD is empty")
		}
	}
	if c.AuditRetention < 24*time.Hour {
		return fmt.Errorf("--audit-retention %s is shorter than 24h", c.AuditRetention)
	}
	if c.UsageRetentionMonths < 6 || c.UsageRetentionMonths > 12 {
		return fmt.Errorf("--usage-retention-months %d is outside 6 to 12 (the CNIL's recommendation for access logs)", c.UsageRetentionMonths)
	}
	return nil
}

func (c *Config) validateSMTP() error {
	if c.SMTPHost == "" {
		return nil
	}
	if strings.ContainsAny(c.SMTPHost, ":/ ") {
		return fmt.Errorf("--smtp-host %q is not a host name (give the port with --smtp-port)", c.SMTPHost)
	}
	if c.SMTPPort <= 0 || c.SMTPPort > 65535 {
		return fmt.Errorf("--smtp-port %d is not a port number", c.SMTPPort)
	}
	if c.SMTPFrom == "" {
		return errors.New("--smtp-host needs --smtp-from, the sender address of e-mails")
	}
	if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
		return fmt.Errorf("--smtp-from %q is not an e-mail address", c.SMTPFrom)
	}
	if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
		return errors.New("--smtp-username and --smtp-password go together")
	}
	return nil
}

var datagouvOrgRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

func (c *Config) validateDatagouv() error {
	if c.DatagouvURL == "" {
		if c.DatagouvAPIKey != "" {
			return errors.New("--datagouv-api-key needs --datagouv-url (https://demo.data.gouv.fr or https://www.data.gouv.fr)")
		}
		return nil
	}
	u, err := url.Parse(c.DatagouvURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("--datagouv-url %q is not an http(s) URL such as https://www.data.gouv.fr", c.DatagouvURL)
	}
	if strings.Contains(u.Path, "/api/") {
		return fmt.Errorf("--datagouv-url %q: give the platform (https://www.data.gouv.fr), without /api/1", c.DatagouvURL)
	}
	if c.DatagouvOrg != "" && !datagouvOrgRE.MatchString(c.DatagouvOrg) {
		return fmt.Errorf("--datagouv-org %q is not an organization id", c.DatagouvOrg)
	}
	return nil
}

// BaseURL is where users reach the web UI, for links in e-mails:
// --public-url, else the HTTP address.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimSuffix(c.PublicURL, "/")
	}
	return "http://" + c.HTTPAddr
}

func validateDB(db string) error {
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		u, err := url.Parse(db)
		if err != nil {
			return fmt.Errorf("--db is not a valid PostgreSQL URL: %v", redactErr(err))
		}
		if u.Host == "" {
			return errors.New("--db PostgreSQL URL has no host")
		}
		return nil
	case strings.HasPrefix(db, "sqlite:"):
		if strings.TrimPrefix(strings.TrimPrefix(db, "sqlite:"), "//") == "" {
			return errors.New("--db sqlite: URL has no file path")
		}
		return nil
	case strings.Contains(db, "://"):
		return fmt.Errorf("--db %q: only postgres:// and sqlite: URLs are supported", schemeOf(db))
	default:
		return nil // a plain file path means SQLite
	}
}

func schemeOf(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		return s[:i+3] + "…"
	}
	return s
}

// redactErr keeps passwords out of error messages.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// Getenv is os.Getenv, named for injection in tests.
var Getenv = os.Getenv
