package service

import (
	"context"
	"strconv"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/store"
)

// LintFlow lints BPMN XML (designer.Lint: bpmnlint's recommended rules and
// civicflow's) with the forms deployed in st (nil: linked forms are not
// looked up). The designer's lint endpoint, the deploy and, without a
// store, `civicflow flow validate` use the same rules. The error is for a
// store failure; XML that is not BPMN is a problem (civicflow/not-bpmn).
func LintFlow(ctx context.Context, st *store.Store, xml []byte) ([]designer.LintProblem, error) {
	opts := designer.LintOptions{}
	if st != nil {
		opts.Form = latestForm(ctx, st)
	}
	ps, err := designer.Lint(xml, opts)
	if err != nil && len(ps) == 0 {
		return nil, err
	}
	return ps, nil
}

// LintRefusal is the refusal (Invalid, one problem per lint error, with its
// rule) of a flow whose lint found errors; nil when there are none. Deploys
// call it after compiling: warnings do not refuse.
func LintRefusal(ps []designer.LintProblem) error {
	errs := designer.LintErrors(ps)
	if len(errs) == 0 {
		return nil
	}
	e := Errorf(Invalid, "the flow cannot be deployed: %s problem(s)", strconv.Itoa(len(errs))).
		French("Le schéma ne peut pas être déployé : %d problème(s).", len(errs))
	for _, p := range errs {
		e.Problems = append(e.Problems, Problem{Element: p.ElementID, Rule: p.Rule, Severity: p.Severity, Message: p.MessageEN, Fr: p.Message})
	}
	return e
}

// LintWarning is a lint warning in a deploy's answer.
type LintWarning struct {
	Element   string `json:"element,omitempty"`
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Message   string `json:"message"`
	MessageFr string `json:"messageFr"`
}

// LintWarnings are the warnings of ps, for a deploy's answer (never nil).
func LintWarnings(ps []designer.LintProblem) []LintWarning {
	out := []LintWarning{}
	for _, p := range designer.LintWarnings(ps) {
		out = append(out, LintWarning{Element: p.ElementID, Rule: p.Rule, Severity: p.Severity, Message: p.MessageEN, MessageFr: p.Message})
	}
	return out
}
