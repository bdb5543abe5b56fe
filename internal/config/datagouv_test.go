package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDatagouvSettings(t *testing.T) {
	c := Default()
	require.Equal(t, "https://demo.data.gouv.fr", c.DatagouvURL, "the test platform by default, never production by surprise")
	env := map[string]string{"CIVICFLOW_DATAGOUV_API_KEY": "udata_k", "CIVICFLOW_DATAGOUV_URL": "https://www.data.gouv.fr",
		"CIVICFLOW_DATAGOUV_ORG": "5a83f81fc751df6f8573eb8a"}
	fs := c.FlagSet("worker", FlagsCommon|FlagsTemporal)
	require.NoError(t, Parse(fs, nil, func(k string) string { return env[k] }))
	require.Equal(t, "udata_k", c.DatagouvAPIKey, "env twin")
	require.Equal(t, "https://www.data.gouv.fr", c.DatagouvURL)
	require.Equal(t, "5a83f81fc751df6f8573eb8a", c.DatagouvOrg)
	require.NoError(t, c.Validate(FlagsCommon|FlagsTemporal))

	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"not a URL", func(c *Config) { c.DatagouvURL = "www.data.gouv.fr" }, "--datagouv-url"},
		{"API path", func(c *Config) { c.DatagouvURL = "https://www.data.gouv.fr/api/1/" }, "without /api/1"},
		{"credentials in URL", func(c *Config) { c.DatagouvURL = "https://u:p@www.data.gouv.fr" }, "--datagouv-url"},
		{"key without URL", func(c *Config) { c.DatagouvURL, c.DatagouvAPIKey = "", "k" }, "--datagouv-url"},
		{"bad organization", func(c *Config) { c.DatagouvOrg = "../admin" }, "--datagouv-org"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate(FlagsCommon | FlagsTemporal)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}
