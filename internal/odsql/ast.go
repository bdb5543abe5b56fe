// Package odsql parses the subset of Opendatasoft's query language (ODSQL,
// Explore API v2.1) that civicflow's public records API serves: the where
// expression, the select list, group_by and order_by. It only builds an
// AST with positions; compiling it to SQL over a release table is the
// store's job (store.ExploreQuery), so that no user text ever reaches SQL.
package odsql

import "fmt"

// Limits of a query, against abuse: longer or deeper queries are refused.
const (
	MaxLength = 10000 // characters of one clause
	MaxDepth  = 64    // nested parentheses / not / boolean operators
	MaxList   = 1000  // values of one `in (…)`
)

// Error is a malformed query: Pos is the 1-based character position of the
// offending token in its clause.
type Error struct {
	Clause string // where, select, group_by, order_by
	Pos    int
	Msg    string
}

func (e *Error) Error() string {
	if e.Clause != "" {
		return fmt.Sprintf("ODSQL query is malformed: %s (%s, position %d)", e.Msg, e.Clause, e.Pos)
	}
	return fmt.Sprintf("ODSQL query is malformed: %s (position %d)", e.Msg, e.Pos)
}

// Expr is a node of an expression.
type Expr interface {
	// Position is the 1-based character position of the node.
	Position() int
}

// LitKind is the type of a literal.
type LitKind int

// Literal kinds.
const (
	LitString LitKind = iota + 1
	LitNumber
	LitBool
	LitNull
	LitDate
)

// Literal is a constant: Text holds strings and dates (as written), Num
// numbers, Bool booleans.
type Literal struct {
	Pos  int
	Kind LitKind
	Text string
	Num  float64
	Int  bool // the number was written without fraction nor exponent
	Bool bool
}

// Field is a field name (plain or backquoted).
type Field struct {
	Pos  int
	Name string
}

// Logical is `L and R` or `L or R`.
type Logical struct {
	Pos  int
	Op   string // "and", "or"
	L, R Expr
}

// Not is `not X`.
type Not struct {
	Pos int
	X   Expr
}

// Compare is `L op R` with op one of = != < <= > >=.
type Compare struct {
	Pos  int
	Op   string
	L, R Expr
}

// In is `X [not] in (List…)`.
type In struct {
	Pos  int
	X    Expr
	List []Expr
	Not  bool
}

// Like is `X [not] like "pattern"`, with * matching any characters.
type Like struct {
	Pos     int
	X       Expr
	Pattern string
	Not     bool
}

// IsNull is `X is [not] null`.
type IsNull struct {
	Pos int
	X   Expr
	Not bool
}

// Search is a full-text search: `search("text")`, `search(field, "text")`
// or a bare string used as a condition.
type Search struct {
	Pos    int
	Fields []Field // none: every text field
	Text   string
}

// Call is an aggregate: count(*), count(f), sum(f), avg(f), min(f), max(f).
type Call struct {
	Pos  int
	Name string // lower case
	Arg  Expr   // nil for count(*)
}

// DatePart is a date function over a field: year(f), month(f), day(f),
// hour(f), minute(f) or second(f); its value is an integer.
type DatePart struct {
	Pos   int
	Name  string // lower case
	Field Field
}

// DateParts are the date functions.
var DateParts = map[string]bool{"year": true, "month": true, "day": true, "hour": true, "minute": true, "second": true}

// Geo is a geographic filter on a geopoint field:
// within_distance(f, geom'POINT(lon lat)', 10km) (Meters > 0) or
// in_bbox(f, lat1, lon1, lat2, lon2) (BBox: the two corners).
type Geo struct {
	Pos      int
	Name     string // "within_distance" or "in_bbox"
	Field    Field
	Lon, Lat float64 // within_distance: the centre
	Meters   float64
	BBox     [4]float64 // in_bbox: lat1, lon1, lat2, lon2
}

// Position implements Expr.
func (x *DatePart) Position() int { return x.Pos }

// Position implements Expr.
func (x *Geo) Position() int { return x.Pos }

// Position implements Expr.
func (x *Literal) Position() int { return x.Pos }

// Position implements Expr.
func (x *Field) Position() int { return x.Pos }

// Position implements Expr.
func (x *Logical) Position() int { return x.Pos }

// Position implements Expr.
func (x *Not) Position() int { return x.Pos }

// Position implements Expr.
func (x *Compare) Position() int { return x.Pos }

// Position implements Expr.
func (x *In) Position() int { return x.Pos }

// Position implements Expr.
func (x *Like) Position() int { return x.Pos }

// Position implements Expr.
func (x *IsNull) Position() int { return x.Pos }

// Position implements Expr.
func (x *Search) Position() int { return x.Pos }

// Position implements Expr.
func (x *Call) Position() int { return x.Pos }

// SelectItem is one expression of a select list or group_by, with its
// alias (Name: the alias, else the field name, else the expression as
// written).
type SelectItem struct {
	Expr  Expr
	Alias string
	Name  string
}

// OrderItem is one key of order_by.
type OrderItem struct {
	Expr Expr
	Desc bool
}
