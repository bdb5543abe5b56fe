package service

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/workflows"
)

// The validators' refusals become domain errors with the validator's
// message (the API's) and a French sentence; invalid data name fields.
func TestMapAppErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind Kind
		msg  string
	}{
		{temporal.NewApplicationError("task x is claimed by bob", workflows.ErrClaimed), Conflict, "task x is claimed by bob"},
		{temporal.NewApplicationError("four-eyes rule: …", workflows.ErrFourEyes), Forbidden, "four-eyes rule: …"},
		{temporal.NewApplicationError("invalid data: decision: required", workflows.ErrInvalidData, []string{"decision: required", "note: longer than 10 characters"}),
			Invalid, "invalid data: decision: required"},
		{temporal.NewApplicationError("boom", "Other"), 0, ""},
		{errors.New("plain"), 0, ""},
	} {
		err := mapAppErr(tc.err)
		require.Equal(t, tc.kind, KindOf(err), "%v", tc.err)
		if tc.kind == 0 {
			require.Equal(t, tc.err, err)
			continue
		}
		var e *Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, tc.msg, e.Msg)
		require.NotEmpty(t, e.Fr)
		if tc.kind == Invalid {
			require.Equal(t, []Problem{
				{Field: "decision", Message: "required", Fr: "Ce champ est obligatoire."},
				{Field: "note", Message: "longer than 10 characters", Fr: "Au plus 10 caractères."},
			}, e.Problems)
		}
	}
	require.Nil(t, mapAppErr(nil))
}

func TestFrenchCheck(t *testing.T) {
	for in, want := range map[string]string{
		"n: less than 2.5":               "La valeur doit être au moins 2,5.",
		"n: more than 10":                "La valeur doit être au plus 10.",
		"s: shorter than 3 characters":   "Au moins 3 caractères.",
		`s: "x" is not one of [a b]`:     "Choisissez une des valeurs proposées.",
		"n: expected a number, got bool": "Un nombre est attendu.",
	} {
		require.Equal(t, want, frenchCheck(in).Fr, in)
	}
}
