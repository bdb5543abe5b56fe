package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUsageRetentionBounds: the usage log is kept 6 to 12 months (CNIL);
// the flag and its environment twin are read, other values are refused.
func TestUsageRetentionBounds(t *testing.T) {
	for _, tc := range []struct {
		months int
		ok     bool
	}{{12, true}, {6, true}, {9, true}, {5, false}, {13, false}, {0, false}} {
		c := Default()
		c.UsageRetentionMonths = tc.months
		err := c.Validate(FlagsCommon | FlagsTemporal | FlagsHTTP)
		if tc.ok {
			require.NoError(t, err, tc.months)
		} else {
			require.ErrorContains(t, err, "--usage-retention-months", tc.months)
		}
	}
	c := Default()
	fs := c.FlagSet("serve", FlagsCommon|FlagsTemporal|FlagsHTTP)
	require.NoError(t, Parse(fs, nil, func(k string) string {
		if k == "CIVICFLOW_USAGE_RETENTION_MONTHS" {
			return "7"
		}
		return ""
	}))
	require.Equal(t, 7, c.UsageRetentionMonths)
}
