package odsql

import (
	"strconv"
	"strings"
)

// Render writes x as an S-expression (tests, logs).
func Render(x Expr) string {
	switch v := x.(type) {
	case nil:
		return "<nil>"
	case *Literal:
		switch v.Kind {
		case LitString:
			return strconv.Quote(v.Text)
		case LitDate:
			return "date'" + v.Text + "'"
		}
		return v.Text
	case *Field:
		if strings.ContainsAny(v.Name, " `") {
			return "`" + v.Name + "`"
		}
		return v.Name
	case *Logical:
		return "(" + v.Op + " " + Render(v.L) + " " + Render(v.R) + ")"
	case *Not:
		return "(not " + Render(v.X) + ")"
	case *Compare:
		return "(" + v.Op + " " + Render(v.L) + " " + Render(v.R) + ")"
	case *In:
		op := "in"
		if v.Not {
			op = "not-in"
		}
		parts := []string{op, Render(v.X)}
		for _, e := range v.List {
			parts = append(parts, Render(e))
		}
		return "(" + strings.Join(parts, " ") + ")"
	case *Like:
		op := "like"
		if v.Not {
			op = "not-like"
		}
		return "(" + op + " " + Render(v.X) + " " + strconv.Quote(v.Pattern) + ")"
	case *IsNull:
		if v.Not {
			return "(is-not-null " + Render(v.X) + ")"
		}
		return "(is-null " + Render(v.X) + ")"
	case *Search:
		parts := []string{"search"}
		for _, f := range v.Fields {
			parts = append(parts, f.Name)
		}
		return "(" + strings.Join(append(parts, strconv.Quote(v.Text)), " ") + ")"
	case *DatePart:
		return v.Name + "(" + Render(&v.Field) + ")"
	case *Geo:
		f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
		if v.Name == "in_bbox" {
			return "(in_bbox " + Render(&v.Field) + " " + f(v.BBox[0]) + " " + f(v.BBox[1]) + " " + f(v.BBox[2]) + " " + f(v.BBox[3]) + ")"
		}
		return "(within_distance " + Render(&v.Field) + " POINT(" + f(v.Lon) + " " + f(v.Lat) + ") " + f(v.Meters) + "m)"
	case *Call:
		if v.Arg == nil {
			return v.Name + "(*)"
		}
		return v.Name + "(" + Render(v.Arg) + ")"
	}
	return "?"
}
