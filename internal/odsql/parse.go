package odsql

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQuoted // backquoted identifier
	tString
	tNumber
	tOp    // = != <> < <= > >=
	tPunct // ( ) , *
)

type token struct {
	kind tokKind
	text string // identifier, string contents, number, operator
	pos  int    // 1-based character position
}

// lex splits s into tokens.
func lex(clause, s string) ([]token, error) {
	if utf8.RuneCountInString(s) > MaxLength {
		return nil, &Error{Clause: clause, Pos: MaxLength + 1, Msg: "query too long (at most " + strconv.Itoa(MaxLength) + " characters)"}
	}
	if !utf8.ValidString(s) {
		return nil, &Error{Clause: clause, Pos: 1, Msg: "invalid UTF-8"}
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, &Error{Clause: clause, Pos: utf8.RuneCountInString(s[:i]) + 1, Msg: "NUL character"}
	}
	rs := []rune(s)
	var out []token
	i := 0
	for i < len(rs) {
		r := rs[i]
		pos := i + 1
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '\'' || r == '"' || r == '`':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(rs) {
				c := rs[j]
				if c == '\\' && j+1 < len(rs) {
					b.WriteRune(rs[j+1])
					j += 2
					continue
				}
				if c == r {
					if j+1 < len(rs) && rs[j+1] == r && r != '`' { // doubled quote
						b.WriteRune(r)
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteRune(c)
				j++
			}
			if !closed {
				return nil, &Error{Clause: clause, Pos: pos, Msg: "unterminated " + map[rune]string{'\'': "string", '"': "string", '`': "quoted field name"}[r]}
			}
			k := tString
			if r == '`' {
				k = tQuoted
				if b.Len() == 0 {
					return nil, &Error{Clause: clause, Pos: pos, Msg: "empty field name"}
				}
			}
			out = append(out, token{k, b.String(), pos})
			i = j
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(rs) && rs[i+1] >= '0' && rs[i+1] <= '9' ||
			r == '-' && i+1 < len(rs) && (rs[i+1] >= '0' && rs[i+1] <= '9' || rs[i+1] == '.') && numberMayStart(out):
			j := i + 1
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == '.' || rs[j] == 'e' || rs[j] == 'E' ||
				(rs[j] == '+' || rs[j] == '-') && (rs[j-1] == 'e' || rs[j-1] == 'E')) {
				j++
			}
			text := string(rs[i:j])
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				return nil, &Error{Clause: clause, Pos: pos, Msg: "invalid number " + strconv.Quote(text)}
			}
			out = append(out, token{tNumber, text, pos})
			i = j
		case unicode.IsLetter(r) || r == '_':
			j := i + 1
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '_') {
				j++
			}
			out = append(out, token{tIdent, string(rs[i:j]), pos})
			i = j
		case r == '=':
			out = append(out, token{tOp, "=", pos})
			i++
		case r == '!' || r == '<' || r == '>':
			op := string(r)
			if i+1 < len(rs) && (rs[i+1] == '=' || r == '<' && rs[i+1] == '>') {
				op += string(rs[i+1])
			}
			if op == "!" {
				return nil, &Error{Clause: clause, Pos: pos, Msg: "unexpected character '!'"}
			}
			if op == "<>" {
				op = "!="
				i++
			} else if len(op) == 2 {
				i++
			}
			out = append(out, token{tOp, op, pos})
			i++
		case r == '(' || r == ')' || r == ',' || r == '*':
			out = append(out, token{tPunct, string(r), pos})
			i++
		default:
			return nil, &Error{Clause: clause, Pos: pos, Msg: "unexpected character " + strconv.QuoteRune(r)}
		}
	}
	out = append(out, token{tEOF, "", len(rs) + 1})
	return out, nil
}

// numberMayStart: a minus sign starts a number unless it follows an operand.
func numberMayStart(prev []token) bool {
	if len(prev) == 0 {
		return true
	}
	p := prev[len(prev)-1]
	return p.kind == tOp || p.kind == tPunct && p.text != ")" || p.kind == tIdent && isKeyword(p.text)
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "in": true, "like": true, "is": true, "null": true,
	"true": true, "false": true, "as": true, "asc": true, "desc": true}

func isKeyword(s string) bool { return keywords[strings.ToLower(s)] }

type parser struct {
	clause string
	src    []rune
	toks   []token
	i      int
	depth  int
}

func newParser(clause, s string) (*parser, error) {
	toks, err := lex(clause, s)
	if err != nil {
		return nil, err
	}
	return &parser{clause: clause, src: []rune(s), toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(pos int, msg string) error {
	return &Error{Clause: p.clause, Pos: pos, Msg: msg}
}

func (p *parser) unexpected(t token) error {
	if t.kind == tEOF {
		return p.errAt(t.pos, "unexpected end of query")
	}
	return p.errAt(t.pos, "unexpected "+describe(t))
}

func describe(t token) string {
	switch t.kind {
	case tString:
		return "string " + strconv.Quote(t.text)
	case tNumber:
		return "number " + t.text
	case tQuoted:
		return "field `" + t.text + "`"
	}
	return "'" + t.text + "'"
}

// isKw reports whether t is the keyword kw (case-insensitive).
func isKw(t token, kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

func (p *parser) acceptKw(kw string) bool {
	if isKw(p.peek(), kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) acceptPunct(s string) bool {
	if t := p.peek(); t.kind == tPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectPunct(s string) error {
	if !p.acceptPunct(s) {
		t := p.peek()
		if t.kind == tEOF {
			return p.errAt(t.pos, "expected '"+s+"' before the end of query")
		}
		return p.errAt(t.pos, "expected '"+s+"', found "+describe(t))
	}
	return nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errAt(pos, "query nested too deeply (at most "+strconv.Itoa(MaxDepth)+" levels)")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) end() error {
	if t := p.peek(); t.kind != tEOF {
		return p.unexpected(t)
	}
	return nil
}

// ParseWhere parses a where expression. An empty string gives nil.
func ParseWhere(s string) (Expr, error) {
	p, err := newParser("where", s)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, nil
	}
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return x, nil
}

func (p *parser) or() (Expr, error) {
	if err := p.enter(p.peek().pos); err != nil {
		return nil, err
	}
	defer p.leave()
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for isKw(p.peek(), "or") {
		t := p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &Logical{Pos: t.pos, Op: "or", L: l, R: r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for isKw(p.peek(), "and") {
		t := p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &Logical{Pos: t.pos, Op: "and", L: l, R: r}
	}
	return l, nil
}

func (p *parser) not() (Expr, error) {
	if t := p.peek(); isKw(t, "not") {
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Not{Pos: t.pos, X: x}, nil
	}
	return p.predicate()
}

// predicate: a parenthesised condition, search(…), a bare string, or an
// operand followed by a comparison, in, like or is null.
func (p *parser) predicate() (Expr, error) {
	t := p.peek()
	if t.kind == tPunct && t.text == "(" {
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return x, nil
	}
	if isKw(t, "search") && p.toks[p.i+1].kind == tPunct && p.toks[p.i+1].text == "(" {
		return p.search()
	}
	if (isKw(t, "within_distance") || isKw(t, "in_bbox")) && p.toks[p.i+1].kind == tPunct && p.toks[p.i+1].text == "(" {
		return p.geo()
	}
	x, err := p.operand()
	if err != nil {
		return nil, err
	}
	op := p.peek()
	switch {
	case op.kind == tOp:
		p.next()
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &Compare{Pos: op.pos, Op: op.text, L: x, R: r}, nil
	case isKw(op, "is"):
		p.next()
		neg := p.acceptKw("not")
		if !p.acceptKw("null") {
			return nil, p.errAt(p.peek().pos, "expected 'null' after 'is'")
		}
		return &IsNull{Pos: op.pos, X: x, Not: neg}, nil
	case isKw(op, "not") || isKw(op, "in") || isKw(op, "like"):
		p.next()
		neg := false
		if isKw(op, "not") {
			neg = true
			op = p.next()
			if !isKw(op, "in") && !isKw(op, "like") {
				return nil, p.errAt(op.pos, "expected 'in' or 'like' after 'not'")
			}
		}
		if isKw(op, "like") {
			s := p.next()
			if s.kind != tString {
				return nil, p.errAt(s.pos, "like expects a string pattern")
			}
			return &Like{Pos: op.pos, X: x, Pattern: s.text, Not: neg}, nil
		}
		if err := p.expectPunct("("); err != nil {
			return nil, err
		}
		in := &In{Pos: op.pos, X: x, Not: neg}
		for {
			v, err := p.operand()
			if err != nil {
				return nil, err
			}
			if _, ok := v.(*Literal); !ok {
				return nil, p.errAt(v.Position(), "in (…) expects literal values")
			}
			in.List = append(in.List, v)
			if len(in.List) > MaxList {
				return nil, p.errAt(v.Position(), "too many values in in (…)")
			}
			if !p.acceptPunct(",") {
				break
			}
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return in, nil
	}
	if lit, ok := x.(*Literal); ok && lit.Kind == LitString {
		return &Search{Pos: lit.Pos, Text: lit.Text}, nil
	}
	if f, ok := x.(*Field); ok {
		return nil, p.errAt(op.pos, "expected an operator after field "+strconv.Quote(f.Name))
	}
	return nil, p.unexpected(op)
}

func (p *parser) search() (Expr, error) {
	t := p.next() // search
	p.next()      // (
	s := &Search{Pos: t.pos}
	for {
		a := p.next()
		switch a.kind {
		case tString:
			if s.Text != "" {
				return nil, p.errAt(a.pos, "search() takes one text")
			}
			s.Text = a.text
		case tIdent, tQuoted:
			if a.kind == tIdent && isKeyword(a.text) {
				return nil, p.unexpected(a)
			}
			if s.Text != "" {
				return nil, p.errAt(a.pos, "search(): fields come before the text")
			}
			s.Fields = append(s.Fields, Field{Pos: a.pos, Name: a.text})
		default:
			return nil, p.unexpected(a)
		}
		if !p.acceptPunct(",") {
			break
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	if s.Text == "" {
		return nil, p.errAt(t.pos, "search() needs a text")
	}
	return s, nil
}

// operand: a literal, a field, or (in select lists) an aggregate.
func (p *parser) operand() (Expr, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return &Literal{Pos: t.pos, Kind: LitString, Text: t.text}, nil
	case tNumber:
		f, _ := strconv.ParseFloat(t.text, 64)
		return &Literal{Pos: t.pos, Kind: LitNumber, Num: f, Text: t.text, Int: !strings.ContainsAny(t.text, ".eE")}, nil
	case tQuoted:
		return &Field{Pos: t.pos, Name: t.text}, nil
	case tIdent:
		low := strings.ToLower(t.text)
		switch low {
		case "true", "false":
			return &Literal{Pos: t.pos, Kind: LitBool, Bool: low == "true", Text: low}, nil
		case "null":
			return &Literal{Pos: t.pos, Kind: LitNull, Text: "null"}, nil
		case "date":
			if s := p.peek(); s.kind == tString {
				p.next()
				if !ValidDate(s.text) {
					return nil, p.errAt(s.pos, "invalid date "+strconv.Quote(s.text)+" (YYYY-MM-DD or RFC 3339 expected)")
				}
				return &Literal{Pos: t.pos, Kind: LitDate, Text: s.text}, nil
			}
		case "count", "sum", "avg", "min", "max":
			if s := p.peek(); s.kind == tPunct && s.text == "(" {
				return p.call(t, low)
			}
		case "year", "month", "day", "hour", "minute", "second":
			if s := p.peek(); s.kind == tPunct && s.text == "(" {
				p.next()
				f, err := p.fieldArg(low)
				if err != nil {
					return nil, err
				}
				if err := p.expectPunct(")"); err != nil {
					return nil, err
				}
				return &DatePart{Pos: t.pos, Name: low, Field: f}, nil
			}
		}
		if isKeyword(t.text) {
			return nil, p.unexpected(t)
		}
		return &Field{Pos: t.pos, Name: t.text}, nil
	}
	return nil, p.unexpected(t)
}

// fieldArg reads a field name argument of fn.
func (p *parser) fieldArg(fn string) (Field, error) {
	a := p.next()
	if a.kind != tIdent && a.kind != tQuoted || a.kind == tIdent && isKeyword(a.text) {
		return Field{}, p.errAt(a.pos, fn+"() expects a field name")
	}
	return Field{Pos: a.pos, Name: a.text}, nil
}

// number reads a number argument of fn.
func (p *parser) number(fn string) (float64, error) {
	a := p.next()
	if a.kind != tNumber {
		return 0, p.errAt(a.pos, fn+"() expects a number here")
	}
	f, _ := strconv.ParseFloat(a.text, 64)
	return f, nil
}

// distanceUnits are the units of within_distance, in meters.
var distanceUnits = map[string]float64{"mm": 0.001, "cm": 0.01, "m": 1, "km": 1000, "mi": 1609.344, "yd": 0.9144, "ft": 0.3048}

// geo parses within_distance(f, geom'POINT(lon lat)', 10km) and
// in_bbox(f, lat1, lon1, lat2, lon2).
func (p *parser) geo() (Expr, error) {
	t := p.next()
	p.next() // (
	name := strings.ToLower(t.text)
	g := &Geo{Pos: t.pos, Name: name}
	var err error
	if g.Field, err = p.fieldArg(name); err != nil {
		return nil, err
	}
	if err := p.expectPunct(","); err != nil {
		return nil, err
	}
	if name == "in_bbox" {
		for i := range g.BBox {
			if i > 0 {
				if err := p.expectPunct(","); err != nil {
					return nil, err
				}
			}
			pos := p.peek().pos
			if g.BBox[i], err = p.number(name); err != nil {
				return nil, err
			}
			if lim := [4]float64{90, 180, 90, 180}[i]; math.Abs(g.BBox[i]) > lim {
				return nil, p.errAt(pos, fmt.Sprintf("in_bbox(): %s out of range (at most %g in absolute value)", [4]string{"lat1", "lon1", "lat2", "lon2"}[i], lim))
			}
		}
	} else {
		kw := p.next()
		s := p.next()
		if !isKw(kw, "geom") || s.kind != tString {
			return nil, p.errAt(kw.pos, "within_distance() expects a point geom'POINT(lon lat)'")
		}
		if g.Lon, g.Lat, err = parsePoint(s.text); err != nil {
			return nil, p.errAt(s.pos, "within_distance(): "+err.Error())
		}
		if err := p.expectPunct(","); err != nil {
			return nil, err
		}
		pos := p.peek().pos
		d, err := p.number(name)
		if err != nil {
			return nil, err
		}
		unit := "m"
		if u := p.peek(); u.kind == tIdent {
			unit = strings.ToLower(u.text)
			p.next()
		}
		k, ok := distanceUnits[unit]
		if !ok {
			return nil, p.errAt(pos, "within_distance(): unknown unit "+strconv.Quote(unit)+" (m, km, mi, yd, ft, cm, mm)")
		}
		g.Meters = d * k
		if !(g.Meters > 0) || g.Meters > 20_100_000 {
			return nil, p.errAt(pos, "within_distance(): the distance must be positive and at most 20,100 km")
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return g, nil
}

// parsePoint reads WKT "POINT(lon lat)".
func parsePoint(s string) (lon, lat float64, err error) {
	bad := errors.New("the point must be written POINT(lon lat), in degrees")
	u := strings.TrimSpace(s)
	if len(u) < 5 || !strings.EqualFold(u[:5], "point") {
		return 0, 0, bad
	}
	u = strings.TrimSpace(u[5:])
	if !strings.HasPrefix(u, "(") || !strings.HasSuffix(u, ")") {
		return 0, 0, bad
	}
	parts := strings.Fields(u[1 : len(u)-1])
	if len(parts) != 2 {
		return 0, 0, bad
	}
	lon, err1 := strconv.ParseFloat(parts[0], 64)
	lat, err2 := strconv.ParseFloat(parts[1], 64)
	if err1 != nil || err2 != nil || math.Abs(lon) > 180 || math.Abs(lat) > 90 {
		return 0, 0, bad
	}
	return lon, lat, nil
}

func (p *parser) call(name token, fn string) (Expr, error) {
	p.next() // (
	c := &Call{Pos: name.pos, Name: fn}
	if fn == "count" && p.acceptPunct("*") {
		// count(*)
	} else {
		a := p.next()
		if a.kind != tIdent && a.kind != tQuoted || a.kind == tIdent && isKeyword(a.text) {
			return nil, p.errAt(a.pos, fn+"() expects a field name")
		}
		c.Arg = &Field{Pos: a.pos, Name: a.text}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseSelect parses a select list: `*`, fields and aggregates, each with
// an optional `as alias`. An empty string gives nil (every field).
func ParseSelect(s string) ([]SelectItem, error) { return parseList("select", s, true) }

// ParseGroupBy parses group_by: fields with optional aliases.
func ParseGroupBy(s string) ([]SelectItem, error) { return parseList("group_by", s, false) }

func parseList(clause, s string, aggregates bool) ([]SelectItem, error) {
	p, err := newParser(clause, s)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, nil
	}
	var out []SelectItem
	for {
		start := p.peek()
		if clause == "select" && start.kind == tPunct && start.text == "*" {
			p.next()
			out = append(out, SelectItem{Name: "*"})
		} else {
			x, err := p.operand()
			if err != nil {
				return nil, err
			}
			switch v := x.(type) {
			case *Field:
			case *Call:
				if !aggregates {
					return nil, p.errAt(v.Pos, "aggregates are not allowed in "+clause)
				}
			default:
				return nil, p.errAt(x.Position(), clause+" expects field names"+map[bool]string{true: " or aggregates", false: ""}[aggregates])
			}
			endTok := p.peek()
			it := SelectItem{Expr: x, Name: strings.TrimSpace(string(p.src[start.pos-1 : endTok.pos-1]))}
			if f, ok := x.(*Field); ok {
				it.Name = f.Name
			}
			if p.acceptKw("as") {
				a := p.next()
				if a.kind != tIdent && a.kind != tQuoted || a.kind == tIdent && isKeyword(a.text) {
					return nil, p.errAt(a.pos, "expected an alias after 'as'")
				}
				it.Alias, it.Name = a.text, a.text
			}
			out = append(out, it)
		}
		if !p.acceptPunct(",") {
			break
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseOrderBy parses order_by: fields, aliases or aggregates, each with
// an optional asc or desc.
func ParseOrderBy(s string) ([]OrderItem, error) {
	p, err := newParser("order_by", s)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, nil
	}
	var out []OrderItem
	for {
		x, err := p.operand()
		if err != nil {
			return nil, err
		}
		switch x.(type) {
		case *Field, *Call:
		default:
			return nil, p.errAt(x.Position(), "order_by expects field names or aggregates")
		}
		it := OrderItem{Expr: x}
		if p.acceptKw("desc") {
			it.Desc = true
		} else {
			p.acceptKw("asc")
		}
		out = append(out, it)
		if !p.acceptPunct(",") {
			break
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return out, nil
}

// ValidDate reports whether s is a date (YYYY-MM-DD) or an RFC 3339
// timestamp, of the years 1 to 9999.
func ValidDate(s string) bool {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t, err = time.Parse(time.RFC3339, s)
	}
	// Year 0 parses in Go but not in PostgreSQL.
	return err == nil && t.UTC().Year() >= 1 && t.UTC().Year() <= 9999
}
