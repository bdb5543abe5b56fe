package designer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRetraitFlow: the shipped withdrawal flow compiles and lints clean:
// the steward's reason, the approver's four-eyes sign-off, then
// civicflow.withdraw; a refusal keeps the dataset.
func TestRetraitFlow(t *testing.T) {
	g, problems, err := Compile(RetraitBPMN, Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, RetraitKey, g.ID)
	require.Equal(t, "steward", g.Nodes["request"].User.Candidates[0].Role)
	require.NotNil(t, g.Nodes["request"].User.Form)
	approval := g.Nodes["approval"].User
	require.Equal(t, "approver", approval.Candidates[0].Role)
	require.Equal(t, []string{"initiator", "request"}, approval.FourEyes)
	require.Equal(t, "civicflow.withdraw", g.Nodes["withdraw"].Service.Activity)
	require.Equal(t, "private", g.Nodes["withdraw"].Service.Params["remote"])
	require.Equal(t, "Retiré", g.Nodes["withdrawn"].Name)
	require.Equal(t, "Maintenu", g.Nodes["kept"].Name)

	lint, err := Lint(RetraitBPMN, LintOptions{})
	require.NoError(t, err)
	require.Empty(t, LintErrors(lint), "%v", lint)
	require.Empty(t, LintWarnings(lint), "%v", lint)
}
