package designer

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Variables that bind an instance to its objects. They are set when the
// instance starts (the HTTP layer checks that the dataset and the file
// belong to the instance's department) and nothing changes them afterwards:
// no mapping, activity result or incident resolution. The one exception is
// a user-task form that declares the field "file" (the correction task of
// the default flow): it may name another staged file of the same dataset,
// which the data activities check again.
const (
	VarDataset   = "dataset"
	VarFile      = "file"
	VarInitiator = "initiator"
)

// Bound reports whether the variable name (or the root of a dotted path)
// binds an instance to its objects.
func Bound(name string) bool {
	root, _, _ := strings.Cut(name, ".")
	switch root {
	case VarDataset, VarFile, VarInitiator:
		return true
	}
	return false
}

// formRebinds reports whether a form field may carry a new value of a bound
// variable: only "file", only when the form declares it.
func formRebinds(key string) bool { return key == VarFile }

// Rebinds reports whether completion data of the task may change the bound
// variable key: only "file", when the task's form declares it as an input.
func (u *UserTask) Rebinds(key string) bool {
	if !formRebinds(key) || !u.Form.HasSchema() {
		return false
	}
	for _, f := range u.Form.Fields {
		if f.Key == key && !f.ReadOnly {
			return true
		}
	}
	return false
}

// HasSchema reports whether the form's fields are known (its form-js schema
// was embedded at deploy), as opposed to a bare reference to a form kept
// elsewhere.
func (f *Form) HasSchema() bool {
	return f != nil && (len(f.Schema) > 0 || len(f.Fields) > 0)
}

// CompletionKeys returns the keys that completion data of the task may
// carry, sorted: the input fields of its form when the form's schema is
// known, else the variables its output mappings read. A task with neither
// takes no data.
func (u *UserTask) CompletionKeys() []string {
	seen := map[string]bool{}
	if u.Form.HasSchema() {
		for _, f := range u.Form.Fields {
			seen[f.Key] = true
		}
	} else {
		for _, m := range u.Outputs {
			for _, id := range exprIdentifiers(m.Source) {
				seen[id] = true
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// exprIdentifiers lists the variables an expression reads (the roots of
// dotted paths); nil when it does not parse.
func exprIdentifiers(code string) []string {
	tree, err := parser.Parse(code)
	if err != nil {
		return nil
	}
	v := &identVisitor{}
	ast.Walk(&tree.Node, v)
	return v.names
}

type identVisitor struct{ names []string }

func (v *identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v.names = append(v.names, id.Value)
	}
}

// CheckCompletion validates completion data against the task: every key
// must be declared (CompletionKeys), values must fit the form (types,
// required fields, enums), read-only fields and bound variables keep their
// current value (vars), except "file" when the form declares it. It
// returns one message per problem, sorted; none means the data are
// accepted.
func (u *UserTask) CheckCompletion(data, vars map[string]any) []string {
	msgs := u.Form.CheckData(data)
	declared := map[string]bool{}
	keys := u.CompletionKeys()
	for _, k := range keys {
		declared[k] = true
	}
	readOnly := map[string]bool{}
	if u.Form.HasSchema() {
		for _, f := range u.Form.Fields {
			if f.ReadOnly {
				readOnly[f.Key] = true
			}
		}
	}
	var undeclared []string
	for k, v := range data {
		unchanged := v == nil || reflect.DeepEqual(v, vars[k])
		switch {
		case !declared[k]:
			undeclared = append(undeclared, k)
		case Bound(k) && !u.Rebinds(k) && !unchanged:
			msgs = append(msgs, fmt.Sprintf("%s: fixed when the instance started (it binds the instance to its objects)", k))
		case readOnly[k] && !unchanged:
			msgs = append(msgs, fmt.Sprintf("%s: read-only", k))
		}
	}
	if len(undeclared) > 0 {
		sort.Strings(undeclared)
		what := "this task takes no data"
		if len(keys) > 0 {
			what = "the task accepts " + strings.Join(keys, ", ")
		}
		msgs = append(msgs, fmt.Sprintf("%s: not declared by the task's form (%s)", strings.Join(undeclared, ", "), what))
	}
	sort.Strings(msgs)
	return msgs
}
