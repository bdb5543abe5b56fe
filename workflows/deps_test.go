package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoIO fails when the workflow code imports I/O packages or calls
// non-deterministic functions (tailscale deptest style).
func TestNoIO(t *testing.T) {
	bannedImports := map[string]string{
		"os": "workflows do no I/O", "net": "workflows do no I/O", "net/http": "workflows do no I/O",
		"database/sql": "all SQL lives in internal/store", "github.com/jmoiron/sqlx": "all SQL lives in internal/store",
		"io/ioutil": "workflows do no I/O", "math/rand": "use workflow.SideEffect", "math/rand/v2": "use workflow.SideEffect",
		"crypto/rand": "use workflow.SideEffect", "os/exec": "workflows do no I/O", "sync": "use workflow.Channel/Selector",
	}
	bannedCalls := map[string]string{
		"time.Now": "use workflow.Now", "time.Sleep": "use workflow.Sleep", "time.After": "use workflow.NewTimer",
		"time.NewTimer": "use workflow.NewTimer", "time.Tick": "use workflow.NewTimer", "time.Since": "use workflow.Now",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if why, bad := bannedImports[p]; bad {
				t.Errorf("%s imports %s: %s", name, p, why)
			}
		}
		f, err = parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement at %s: use workflow.Go", name, fset.Position(x.Pos()))
			case *ast.SelectStmt:
				t.Errorf("%s: select at %s: use workflow.Selector", name, fset.Position(x.Pos()))
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok {
					call := id.Name + "." + x.Sel.Name
					if why, bad := bannedCalls[call]; bad {
						t.Errorf("%s: %s at %s: %s", name, call, fset.Position(x.Pos()), why)
					}
					if id.Name == "rand" {
						t.Errorf("%s: rand.%s at %s", name, x.Sel.Name, fset.Position(x.Pos()))
					}
				}
			case *ast.ChanType:
				t.Errorf("%s: native channel at %s: use workflow.Channel", name, fset.Position(x.Pos()))
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}
