package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/civicflow/civicflow/designer"
)

// runFlow: civicflow flow validate FILE.bpmn — exit 0, or 1 with one line per problem.
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
	g, problems, err := designer.Compile(xml, designer.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", args[1], err)
		return exitCode(1)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "%s: %s: %s\n", args[1], p.ElementID, p.Message)
		}
		return exitCode(1)
	}
	fmt.Fprintf(stdout, "%s: valid (%d elements, process %q)\n", args[1], len(g.Nodes), g.ID)
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
