package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/civicflow/civicflow/designer"
)

// runFlow: civicflow flow validate FILE.bpmn — one line per lint problem
// (designer.Lint: errors and warnings); exit 1 when there are errors.
func runFlow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "validate" {
		return errors.New("usage: civicflow flow validate FILE.bpmn")
	}
	f, err := os.Open(args[1])
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", args[1], unwrapPath(err))
	}
	defer f.Close()
	xml, err := designer.ReadLimited(f)
	if err != nil {
		return fmt.Errorf("%s: %v", args[1], err)
	}
	g, _, err := designer.Compile(xml, designer.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", args[1], err)
		return exitCode(1)
	}
	// The designer's lint rules (the same as the browser's and the deploy's);
	// forms linked by id are checked at deploy, against the deployed ones.
	problems, _ := designer.Lint(xml, designer.LintOptions{})
	errs := 0
	for _, p := range problems {
		id := p.ElementID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(stderr, "%s: %s: %s [%s]: %s\n", args[1], id, p.Severity, p.Rule, p.MessageEN)
		if p.Severity == designer.SeverityError {
			errs++
		}
	}
	if errs > 0 || g == nil {
		return exitCode(1)
	}
	fmt.Fprintf(stdout, "%s: valid (%d elements, process %q, %d warning(s))\n", args[1], len(g.Nodes), g.ID, len(problems))
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
