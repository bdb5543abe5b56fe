package designer

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// feelRefused names FEEL keywords the translator does not accept.
var feelRefused = map[string]string{
	"some": "quantified expressions (some … in … satisfies)", "every": "quantified expressions (every … satisfies)",
	"for": "for … return loops", "return": "for … return loops", "in": "the in operator",
	"satisfies": "quantified expressions", "if": "if … then … else", "then": "if … then … else",
	"else": "if … then … else", "between": "between … and …", "instance": "instance of",
	"function": "function definitions",
}

var identStart = func(c byte) bool { return c == '_' || c == '$' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
var identPart = func(c byte) bool { return identStart(c) || c >= '0' && c <= '9' }

// TranslateFEEL turns the FEEL subset Camunda users write for conditions and
// mappings into expr syntax. s must start with "=". Supported: = (equality),
// != < <= > >=, + - * /, and, or, not(…), parentheses, "strings", numbers,
// true/false/null and dotted variable paths.
func TranslateFEEL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "=") {
		return "", fmt.Errorf("FEEL expression must start with =")
	}
	in := s[1:]
	var out strings.Builder
	for i := 0; i < len(in); {
		c := in[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			out.WriteByte(' ')
			i++
		case c == '"':
			j := i + 1
			for j < len(in) && in[j] != '"' {
				if in[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(in) {
				return "", fmt.Errorf("unterminated string literal")
			}
			out.WriteString(in[i : j+1])
			i = j + 1
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(in) && in[i+1] >= '0' && in[i+1] <= '9':
			j := i
			for j < len(in) && (in[j] >= '0' && in[j] <= '9' || in[j] == '.') {
				j++
			}
			if strings.Count(in[i:j], ".") > 1 {
				return "", fmt.Errorf("ranges (..) are not supported")
			}
			out.WriteString(in[i:j])
			i = j
		case identStart(c):
			j := i
			for j < len(in) && identPart(in[j]) {
				j++
			}
			word := in[i:j]
			k := j
			for k < len(in) && in[k] == ' ' {
				k++
			}
			call := k < len(in) && in[k] == '('
			switch word {
			case "and":
				out.WriteString("&&")
			case "or":
				out.WriteString("||")
			case "not":
				if !call {
					return "", fmt.Errorf("not must be called as not(…)")
				}
				out.WriteString("!")
			case "null":
				out.WriteString("nil")
			case "true", "false":
				out.WriteString(word)
			default:
				if what, bad := feelRefused[word]; bad {
					return "", fmt.Errorf("FEEL %s is not supported", what)
				}
				if call {
					return "", fmt.Errorf("function call %s(…) is not supported (only not(…))", word)
				}
				out.WriteString(word)
			}
			i = j
		case c == '.':
			if i+1 < len(in) && in[i+1] == '.' {
				return "", fmt.Errorf("ranges (..) are not supported")
			}
			out.WriteByte('.')
			i++
		case c == '=':
			out.WriteString("==")
			i++
		case c == '!':
			if i+1 < len(in) && in[i+1] == '=' {
				out.WriteString("!=")
				i += 2
				continue
			}
			return "", fmt.Errorf("unexpected !, use not(…)")
		case c == '<' || c == '>':
			if i+1 < len(in) && in[i+1] == '=' {
				out.WriteString(in[i : i+2])
				i += 2
				continue
			}
			out.WriteByte(c)
			i++
		case c == '*':
			if i+1 < len(in) && in[i+1] == '*' {
				return "", fmt.Errorf("exponentiation (**) is not supported")
			}
			out.WriteByte(c)
			i++
		case c == '+' || c == '-' || c == '/' || c == '(' || c == ')':
			out.WriteByte(c)
			i++
		case c == '[' || c == ']':
			return "", fmt.Errorf("lists and filters ([…]) are not supported")
		case c == '{' || c == '}':
			return "", fmt.Errorf("contexts ({…}) are not supported")
		default:
			return "", fmt.Errorf("unexpected character %q", c)
		}
	}
	res := strings.TrimSpace(out.String())
	if res == "" {
		return "", fmt.Errorf("empty expression")
	}
	return res, nil
}

var (
	juelRE   = regexp.MustCompile(`^\s*[$#]\{`)
	nowRE    = regexp.MustCompile(`\bnow\s*\(`)
	exprOpts = []expr.Option{expr.DisableBuiltin("now")}
)

// ToExpr returns the expr form of a condition or mapping source: FEEL
// (leading "=") is translated, anything else is taken as expr syntax.
func ToExpr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty expression")
	}
	if juelRE.MatchString(s) {
		return "", fmt.Errorf("JUEL expression %q (Camunda 7) is not supported: write it in FEEL (=…) or expr", s)
	}
	if strings.HasPrefix(s, "=") {
		return TranslateFEEL(s)
	}
	if nowRE.MatchString(s) {
		return "", fmt.Errorf("now() is not allowed: conditions must be deterministic")
	}
	return s, nil
}

// CompileExpr compiles an expr expression (already translated); asBool
// requires a boolean result.
func CompileExpr(code string, asBool bool) (*vm.Program, error) {
	opts := exprOpts
	if asBool {
		opts = append(append([]expr.Option{}, exprOpts...), expr.AsBool())
	}
	p, err := expr.Compile(code, opts...)
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %s", code, firstLine(err.Error()))
	}
	return p, nil
}

// Eval runs a compiled program over the variables.
func Eval(p *vm.Program, vars map[string]any) (any, error) {
	if vars == nil {
		vars = map[string]any{}
	}
	return expr.Run(p, vars)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
