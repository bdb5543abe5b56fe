package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFlagsAndEnvTwins(t *testing.T) {
	env := map[string]string{
		"CIVICFLOW_DB":            "postgres://u@db/civicflow",
		"CIVICFLOW_TEMPORAL_PORT": "7300",
		"CIVICFLOW_HTTP":          "0.0.0.0:9000",
		"CIVICFLOW_DEMO":          "true",
	}
	c := Default()
	fs := c.FlagSet("serve", FlagsCommon|FlagsTemporal|FlagsHTTP)
	require.NoError(t, Parse(fs, []string{"--http", "127.0.0.1:8181"}, func(k string) string { return env[k] }))
	require.Equal(t, "postgres://u@db/civicflow", c.DB, "env twin")
	require.Equal(t, 7300, c.TemporalPort)
	require.Equal(t, "127.0.0.1:8181", c.HTTPAddr, "the command line wins over the environment")
	require.True(t, c.Demo)
	require.Equal(t, "postgres", c.DBKind())
	require.NoError(t, c.Validate(FlagsCommon|FlagsTemporal|FlagsHTTP))
	require.Equal(t, "CIVICFLOW_TEMPORAL_RETENTION", EnvName("temporal-retention"))
}

func TestValidateNamesTheBadField(t *testing.T) {
	all := FlagsCommon | FlagsTemporal | FlagsHTTP
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"empty data", func(c *Config) { c.DataDir = "" }, "--data"},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, "--log-level"},
		{"db scheme", func(c *Config) { c.DB = "mysql://x/y" }, "--db"},
		{"db no host", func(c *Config) { c.DB = "postgres:///x" }, "--db"},
		{"temporal", func(c *Config) { c.Temporal = "nohostport" }, "--temporal"},
		{"namespace", func(c *Config) { c.Namespace = "" }, "--namespace"},
		{"port", func(c *Config) { c.TemporalPort = 70000 }, "--temporal-port"},
		{"retention", func(c *Config) { c.TemporalRetention = time.Hour }, "--temporal-retention"},
		{"tls pair", func(c *Config) { c.TemporalTLSCert = "a.pem" }, "--temporal-tls-key"},
		{"http", func(c *Config) { c.HTTPAddr = "8080" }, "--http"},
		{"upload", func(c *Config) { c.MaxUploadBytes = 10 }, "--max-upload"},
		{"public url", func(c *Config) { c.PublicURL = "ftp://x" }, "--public-url"},
		{"publisher uri", func(c *Config) { c.PublisherURI = "urn:siren:123" }, "--publisher-uri"},
		{"publisher uri with a space", func(c *Config) { c.PublisherURI = "https://ville.fr/a b" }, "--publisher-uri"},
		{"oidc", func(c *Config) { c.OIDCIssuer = "https://idp.example" }, "--oidc-client-id"},
		{"audit retention", func(c *Config) { c.AuditRetention = time.Minute }, "--audit-retention"},
		{"http allow: garbage", func(c *Config) { c.HTTPAllow = "10.0.0.0/8, http://x/" }, "--http-allow"},
		{"http allow: everything", func(c *Config) { c.HTTPAllow = "0.0.0.0/0" }, "--http-allow"},
		{"http allow: bare star", func(c *Config) { c.HTTPAllow = "*" }, "--http-allow"},
		{"smtp from", func(c *Config) { c.SMTPHost = "smtp.ville.fr" }, "--smtp-from"},
		{"smtp from address", func(c *Config) { c.SMTPHost, c.SMTPFrom = "smtp.ville.fr", "mairie" }, "--smtp-from"},
		{"smtp host with port", func(c *Config) { c.SMTPHost, c.SMTPFrom = "smtp.ville.fr:25", "a@ville.fr" }, "--smtp-port"},
		{"smtp port", func(c *Config) { c.SMTPHost, c.SMTPFrom, c.SMTPPort = "smtp.ville.fr", "a@ville.fr", 0 }, "--smtp-port"},
		{"smtp credentials", func(c *Config) { c.SMTPHost, c.SMTPFrom, c.SMTPUsername = "smtp.ville.fr", "a@ville.fr", "u" }, "--smtp-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate(all)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
			require.NotContains(t, err.Error(), "\n", "one sentence")
		})
	}
}

func TestSMTPSettings(t *testing.T) {
	env := map[string]string{"CIVICFLOW_SMTP_PASSWORD": "s3cret", "CIVICFLOW_SMTP_HOST": "smtp.ville.fr"}
	c := Default()
	require.Equal(t, 587, c.SMTPPort)
	require.True(t, c.SMTPStartTLS, "STARTTLS by default")
	fs := c.FlagSet("worker", FlagsCommon|FlagsTemporal)
	require.NoError(t, Parse(fs, []string{"--smtp-username", "civicflow", "--smtp-from", "Mairie <ne-pas-repondre@ville.fr>",
		"--smtp-starttls=false", "--public-url", "https://data.ville.fr/"}, func(k string) string { return env[k] }))
	require.Equal(t, "smtp.ville.fr", c.SMTPHost)
	require.Equal(t, "s3cret", c.SMTPPassword, "env twin")
	require.False(t, c.SMTPStartTLS)
	require.NoError(t, c.Validate(FlagsCommon|FlagsTemporal))
	require.Equal(t, "https://data.ville.fr", c.BaseURL(), "workers know the public URL, for links in e-mails")
}

func TestUnknownFlag(t *testing.T) {
	c := Default()
	err := Parse(c.FlagSet("worker", FlagsCommon|FlagsTemporal), []string{"--http", "x"}, func(string) string { return "" })
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "unknown flag -http"), err.Error())
}

func TestHTTPAllowList(t *testing.T) {
	c := Default()
	fs := c.FlagSet("worker", FlagsCommon|FlagsTemporal)
	env := map[string]string{"CIVICFLOW_HTTP_ALLOW": "10.1.0.0/16, 192.168.1.10 sig.mairie.local,*.Intra.local.,fd00::1"}
	require.NoError(t, Parse(fs, nil, func(k string) string { return env[k] }))
	require.NoError(t, c.Validate(FlagsCommon|FlagsTemporal))
	nets, hosts, err := c.HTTPAllowList()
	require.NoError(t, err)
	var got []string
	for _, n := range nets {
		got = append(got, n.String())
	}
	require.Equal(t, []string{"10.1.0.0/16", "192.168.1.10/32", "fd00::1/128"}, got)
	require.Equal(t, []string{"sig.mairie.local", "*.intra.local"}, hosts)
	c.HTTPAllow = ""
	nets, hosts, err = c.HTTPAllowList()
	require.NoError(t, err)
	require.Empty(t, nets)
	require.Empty(t, hosts)
}
