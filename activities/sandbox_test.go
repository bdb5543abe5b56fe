package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/workflows"
)

// Every service activity has a sandbox stub answering its catalogue sample;
// a variable the run already has (the designer's start variables) wins.
func TestSandboxStubs(t *testing.T) {
	for _, name := range designer.KnownActivities {
		info, ok := designer.ActivityInfoOf(name)
		require.True(t, ok, name)
		res, err := SandboxService(name)(context.Background(), workflows.ActivityInput{NodeID: "n"})
		require.NoError(t, err, name)
		require.Equal(t, len(info.Sample), len(res.Variables), name)
		require.Contains(t, res.Message, "essai", name)
	}
	res, err := SandboxService("civicflow.validate")(context.Background(), workflows.ActivityInput{Variables: map[string]any{"valid": false}})
	require.NoError(t, err)
	require.NotContains(t, res.Variables, "valid", "the designer's valid=false is kept")
	require.Contains(t, res.Variables, "report")
}
