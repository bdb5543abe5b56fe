package auth_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/auth"
)

func TestCheckPassword(t *testing.T) {
	for _, c := range []struct {
		pw, why string // why: "" accepted, else a word of the refusal
	}{
		{"Tq7!vRz#2mLp", ""},
		{"Kxv9tqmzrpw4Lb", ""},
		{"kxv9tqmz!rpw4l", ""}, // 14, lower digit special
		{"Été-à-Noirmoutier-9", ""},
		{"mouette rivage granit tulipe orage baleine fanal", ""},
		{"Tq7!vRz#2mL", "weak"},
		{"Kxv9tqmzrpw4L", "weak"},
		{"kxv9tqmzrpw4lbqz", "weak"},
		{"un deux trois quatre cinq six", "weak"},
		{"aa aa aa aa aa aa aa aa aa", "weak"},
		{"", "empty"},
		{strings.Repeat("Ab1!", 65), "longer"},
		{"Password123!", "common"},
		{"P@55w0rd-2024", "common"},
		{"Soleil!Soleil!1", "common"},
		{"JanvierFevrier2024!", "common"},
		{"Décembre-2024!", "common"},
		{"Abcdefgh123!", "common"},
		{"Wxcvbn-2031!!", "common"},
		{"Xy!987654321z", "common"},
		{"Marie.Curie-1867", "username"},
		{"Curie-Radium-1898!", "username"},
		{"MCurie-Radium-1898!", "e-mail"},
	} {
		err := auth.CheckPassword(c.pw, "marie.curie", "mcurie@ville.fr")
		if c.why == "" {
			require.NoError(t, err, c.pw)
			continue
		}
		require.ErrorIs(t, err, auth.ErrInvalid, c.pw)
		require.Contains(t, err.Error(), c.why, c.pw)
		require.Equal(t, 422, auth.HTTPStatus(err))
	}
}
