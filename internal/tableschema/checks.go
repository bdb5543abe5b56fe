package tableschema

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Validata custom checks (custom_checks in SDGF schemas). An error raised by
// a check has the check's name as its type, as in Validata.

// rowCheck is a custom check over one row.
type rowCheck interface {
	// Name is the check name, used as the error type.
	Name() string
	// fields are the schema field indexes the check reads.
	fields() []int
	// run checks one row; it may append issues through add.
	run(r *rowView, add func(field int, value, message string))
}

// headerChecker is implemented by checks that report a problem with the
// header itself (e.g. both columns of one-of-required absent).
type headerChecker interface {
	headerIssue(present []bool, name func(int) string) (string, bool)
}

var errCheckUnsupported = errors.New("check not supported")

// checkFactories registers the supported checks by name.
var checkFactories = map[string]func(name string, p checkParams, s *Schema) (rowCheck, error){
	"french-siret-value":     newSiretCheck,
	"siret":                  newSiretCheck,
	"french-siren-value":     newSirenCheck,
	"siren":                  newSirenCheck,
	"one-of-required":        newOneOfRequired,
	"cohesive-columns-value": newCohesiveColumns,
	"compare-columns-value":  newCompareColumns,
	"sum-columns-value":      newSumColumns,
	"year-interval-value":    newYearInterval,
	"french_gps_coordinates": newFrenchGPS,
	"french-gps-coordinates": newFrenchGPS,
}

// SupportedChecks lists the custom check names the validator runs.
func SupportedChecks() []string {
	out := make([]string, 0, len(checkFactories))
	for k := range checkFactories {
		out = append(out, k)
	}
	return out
}

func newCheck(cc CustomCheckDescriptor, s *Schema) (rowCheck, error) {
	f, ok := checkFactories[cc.Name]
	if !ok {
		return nil, errCheckUnsupported
	}
	return f(cc.Name, checkParams{cc.Params, s}, s)
}

type checkParams struct {
	m map[string]any
	s *Schema
}

// column resolves a parameter naming one schema field.
func (p checkParams) column(key string) (int, error) {
	name, ok := p.m[key].(string)
	if !ok || name == "" {
		return 0, fmt.Errorf("parameter %q: want a column name", key)
	}
	i, ok := p.s.byName[name]
	if !ok {
		return 0, fmt.Errorf("parameter %q: unknown field %q", key, name)
	}
	return i, nil
}

func (p checkParams) columns(key string) ([]int, error) {
	list, ok := p.m[key].([]any)
	if !ok || len(list) == 0 {
		if one, ok := p.m[key].(string); ok {
			list = []any{one}
		} else {
			return nil, fmt.Errorf("parameter %q: want a list of column names", key)
		}
	}
	out := make([]int, 0, len(list))
	for _, it := range list {
		name, _ := it.(string)
		i, ok := p.s.byName[name]
		if !ok {
			return nil, fmt.Errorf("parameter %q: unknown field %q", key, name)
		}
		out = append(out, i)
	}
	return out, nil
}

type baseCheck struct {
	name string
	cols []int
}

func (c *baseCheck) Name() string  { return c.name }
func (c *baseCheck) fields() []int { return c.cols }

// --- SIRET / SIREN -----------------------------------------------------------

type idCheck struct {
	baseCheck
	siret bool
}

func newSiretCheck(name string, p checkParams, _ *Schema) (rowCheck, error) {
	col, err := p.column("column")
	if err != nil {
		return nil, err
	}
	return &idCheck{baseCheck{name, []int{col}}, true}, nil
}

func newSirenCheck(name string, p checkParams, _ *Schema) (rowCheck, error) {
	col, err := p.column("column")
	if err != nil {
		return nil, err
	}
	return &idCheck{baseCheck{name, []int{col}}, false}, nil
}

func (c *idCheck) run(r *rowView, add func(int, string, string)) {
	col := c.cols[0]
	if r.missing[col] {
		return
	}
	cell := r.cells[col]
	var reason string
	if c.siret {
		reason = siretProblem(cell)
		if reason != "" {
			add(col, cell, fmt.Sprintf("Le SIRET « %s » est invalide (%s)", short(cell), reason))
		}
		return
	}
	if reason = sirenProblem(cell); reason != "" {
		add(col, cell, fmt.Sprintf("Le SIREN « %s » est invalide (%s)", short(cell), reason))
	}
}

// compactID removes the spaces and dots python-stdnum ignores.
func compactID(s string) string {
	if !strings.ContainsAny(s, " .") {
		return strings.TrimSpace(s)
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' {
			return -1
		}
		return r
	}, s)
}

// siretProblem validates a SIRET as python-stdnum does; "" when valid.
func siretProblem(s string) string {
	if len(s) == 14 && digitsPrefix(s) == 14 && s[:9] != "356000000" {
		if luhnValid(s) && luhnValid(s[:9]) {
			return "" // the common case, without compacting
		}
	}
	s = compactID(s)
	if digitsPrefix(s) != len(s) {
		return "il ne doit contenir que des chiffres"
	}
	if len(s) != 14 {
		return fmt.Sprintf("14 chiffres attendus, %d trouvés", len(s))
	}
	// La Poste: SIRETs of its establishments (but the head office) use a
	// digit sum multiple of 5 instead of the Luhn key.
	if strings.HasPrefix(s, "356000000") && s != "35600000000048" {
		sum := 0
		for i := 0; i < len(s); i++ {
			sum += int(s[i] - '0')
		}
		if sum%5 != 0 {
			return "somme des chiffres La Poste"
		}
		return ""
	}
	if !luhnValid(s) || !luhnValid(s[:9]) {
		return "clé de Luhn"
	}
	return ""
}

func sirenProblem(s string) string {
	s = compactID(s)
	if digitsPrefix(s) != len(s) {
		return "il ne doit contenir que des chiffres"
	}
	if len(s) != 9 {
		return fmt.Sprintf("9 chiffres attendus, %d trouvés", len(s))
	}
	if !luhnValid(s) {
		return "clé de Luhn"
	}
	return ""
}

// luhnValid reports whether a digit string passes the Luhn check.
func luhnValid(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i -= 2 {
		sum += int(s[i] - '0')
	}
	for i := len(s) - 2; i >= 0; i -= 2 {
		sum += luhnDoubled[s[i]]
	}
	return sum%10 == 0
}

// luhnDoubled is the Luhn contribution of a doubled digit, by byte.
var luhnDoubled = func() (t [256]int) {
	for b := range t {
		d := int(byte(b)-'0') * 2
		if d > 9 {
			d -= 9
		}
		t[b] = d
	}
	return t
}()

// --- one-of-required ----------------------------------------------------------

type oneOfRequired struct{ baseCheck }

func newOneOfRequired(name string, p checkParams, _ *Schema) (rowCheck, error) {
	a, err := p.column("column1")
	if err != nil {
		return nil, err
	}
	b, err := p.column("column2")
	if err != nil {
		return nil, err
	}
	return &oneOfRequired{baseCheck{name, []int{a, b}}}, nil
}

func (c *oneOfRequired) headerIssue(present []bool, name func(int) string) (string, bool) {
	if !present[c.cols[0]] && !present[c.cols[1]] {
		return fmt.Sprintf("Les colonnes « %s » et « %s » sont toutes deux absentes : l'une des deux est obligatoire",
			name(c.cols[0]), name(c.cols[1])), true
	}
	return "", false
}

func (c *oneOfRequired) run(r *rowView, add func(int, string, string)) {
	a, b := c.cols[0], c.cols[1]
	if !r.present[a] && !r.present[b] {
		return // reported once at the header
	}
	if r.missing[a] && r.missing[b] {
		add(a, "", fmt.Sprintf("Au moins une des colonnes « %s » ou « %s » doit être renseignée", r.name(a), r.name(b)))
	}
}

// --- cohesive-columns-value -----------------------------------------------------

type cohesiveColumns struct{ baseCheck }

func newCohesiveColumns(name string, p checkParams, _ *Schema) (rowCheck, error) {
	a, err := p.column("column")
	if err != nil {
		return nil, err
	}
	others, err := p.columns("othercolumns")
	if err != nil {
		return nil, err
	}
	return &cohesiveColumns{baseCheck{name, append([]int{a}, others...)}}, nil
}

func (c *cohesiveColumns) run(r *rowView, add func(int, string, string)) {
	for _, i := range c.cols {
		if !r.present[i] {
			return
		}
	}
	filled, empty := []string{}, []string{}
	for _, i := range c.cols {
		if r.missing[i] {
			empty = append(empty, r.name(i))
		} else {
			filled = append(filled, r.name(i))
		}
	}
	if len(filled) > 0 && len(empty) > 0 {
		add(c.cols[0], r.cells[c.cols[0]], fmt.Sprintf("Les colonnes %s doivent être toutes renseignées ou toutes vides : %s renseignée(s), %s vide(s)",
			strings.Join(quoteAll(names(r, c.cols)), ", "), strings.Join(quoteAll(filled), ", "), strings.Join(quoteAll(empty), ", ")))
	}
}

func names(r *rowView, cols []int) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = r.name(c)
	}
	return out
}

// --- compare-columns-value ------------------------------------------------------

type compareColumns struct {
	baseCheck
	op string
}

func newCompareColumns(name string, p checkParams, _ *Schema) (rowCheck, error) {
	a, err := p.column("column")
	if err != nil {
		return nil, err
	}
	b, err := p.column("column2")
	if err != nil {
		return nil, err
	}
	op, _ := p.m["op"].(string)
	switch op {
	case "<", "<=", "==", ">=", ">", "!=":
	default:
		return nil, fmt.Errorf("parameter op: unknown operator %q", op)
	}
	return &compareColumns{baseCheck{name, []int{a, b}}, op}, nil
}

var opText = map[string]string{"<": "strictement inférieure à", "<=": "inférieure ou égale à", "==": "égale à",
	">=": "supérieure ou égale à", ">": "strictement supérieure à", "!=": "différente de"}

func (c *compareColumns) run(r *rowView, add func(int, string, string)) {
	a, b := c.cols[0], c.cols[1]
	if !r.present[a] || !r.present[b] || r.missing[a] || r.missing[b] || r.invalid[a] || r.invalid[b] {
		return
	}
	cmp, ok := compareCells(r.values[a], r.cells[a], r.values[b], r.cells[b])
	if !ok {
		return // incomparable values: a type error is already reported
	}
	var pass bool
	switch c.op {
	case "<":
		pass = cmp < 0
	case "<=":
		pass = cmp <= 0
	case "==":
		pass = cmp == 0
	case ">=":
		pass = cmp >= 0
	case ">":
		pass = cmp > 0
	case "!=":
		pass = cmp != 0
	}
	if !pass {
		add(a, r.cells[a], fmt.Sprintf("La valeur de « %s » (%s) doit être %s celle de « %s » (%s)",
			r.name(a), short(r.cells[a]), opText[c.op], r.name(b), short(r.cells[b])))
	}
}

// compareCells orders two cells by their logical values: numbers, dates, then text.
func compareCells(va any, ca string, vb any, cb string) (int, bool) {
	if x, ok := numericOf(va, ca); ok {
		if y, ok := numericOf(vb, cb); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	ta, okA := va.(time.Time)
	tb, okB := vb.(time.Time)
	if !okA {
		ta, okA = parseISODateTime(ca)
	}
	if !okB {
		tb, okB = parseISODateTime(cb)
	}
	if okA && okB {
		return ta.Compare(tb), true
	}
	_, textA := va.(string)
	_, textB := vb.(string)
	if (va == nil || textA) && (vb == nil || textB) {
		return strings.Compare(ca, cb), true
	}
	return 0, false
}

func numericOf(v any, cell string) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case nil, string:
		return parseDecimal(cell)
	}
	return 0, false
}

// --- sum-columns-value ------------------------------------------------------------

type sumColumns struct{ baseCheck }

func newSumColumns(name string, p checkParams, _ *Schema) (rowCheck, error) {
	a, err := p.column("column")
	if err != nil {
		return nil, err
	}
	others, err := p.columns("columns")
	if err != nil {
		return nil, err
	}
	return &sumColumns{baseCheck{name, append([]int{a}, others...)}}, nil
}

func (c *sumColumns) run(r *rowView, add func(int, string, string)) {
	total := 0.0
	var want float64
	for k, i := range c.cols {
		if !r.present[i] || r.missing[i] || r.invalid[i] {
			return
		}
		v, ok := numericOf(r.values[i], r.cells[i])
		if !ok {
			return
		}
		if k == 0 {
			want = v
		} else {
			total += v
		}
	}
	if math.Abs(total-want) > 1e-9*math.Max(1, math.Abs(want)) {
		add(c.cols[0], r.cells[c.cols[0]], fmt.Sprintf("La valeur de « %s » (%s) doit être égale à la somme des colonnes %s (%s)",
			r.name(c.cols[0]), short(r.cells[c.cols[0]]), strings.Join(quoteAll(names(r, c.cols[1:])), ", "), trimFloat(total)))
	}
}

func trimFloat(f float64) string { return fmt.Sprintf("%g", f) }

// --- year-interval-value ------------------------------------------------------------

type yearInterval struct {
	baseCheck
	allowYearOnly bool
}

func newYearInterval(name string, p checkParams, _ *Schema) (rowCheck, error) {
	a, err := p.column("column")
	if err != nil {
		return nil, err
	}
	allow := false
	switch v := p.m["allow-year-only"].(type) {
	case string:
		allow = v == "yes" || v == "true" || v == "oui"
	case bool:
		allow = v
	}
	return &yearInterval{baseCheck{name, []int{a}}, allow}, nil
}

func (c *yearInterval) run(r *rowView, add func(int, string, string)) {
	col := c.cols[0]
	if !r.present[col] || r.missing[col] {
		return
	}
	s := r.cells[col]
	if len(s) == 4 && digitsPrefix(s) == 4 {
		if !c.allowYearOnly {
			add(col, s, fmt.Sprintf("La valeur « %s » n'est pas un intervalle d'années : la forme attendue est aaaa/aaaa", short(s)))
		}
		return
	}
	if len(s) != 9 || s[4] != '/' || digitsPrefix(s) != 4 || digitsPrefix(s[5:]) != 4 {
		want := "aaaa/aaaa"
		if c.allowYearOnly {
			want = "aaaa ou aaaa/aaaa"
		}
		add(col, s, fmt.Sprintf("La valeur « %s » n'est pas un intervalle d'années valide : la forme attendue est %s", short(s), want))
		return
	}
	y1, y2 := atoiDigits(s[:4]), atoiDigits(s[5:])
	if y1 >= y2 {
		add(col, s, fmt.Sprintf("L'intervalle d'années « %s » est invalide : la seconde année doit être postérieure à la première", s))
	}
}

// --- french_gps_coordinates -------------------------------------------------------------

type frenchGPS struct{ baseCheck }

func newFrenchGPS(name string, p checkParams, _ *Schema) (rowCheck, error) {
	a, err := p.column("column")
	if err != nil {
		return nil, err
	}
	return &frenchGPS{baseCheck{name, []int{a}}}, nil
}

// franceBoxes are lon/lat boxes of metropolitan and overseas France.
var franceBoxes = [][4]float64{
	{-5.8, 41.2, 10.0, 51.2},       // métropole + Corse
	{-61.9, 15.8, -60.9, 16.6},     // Guadeloupe
	{-61.3, 14.3, -60.7, 14.95},    // Martinique
	{-54.7, 2.0, -51.5, 5.9},       // Guyane
	{55.1, -21.5, 55.9, -20.8},     // La Réunion
	{44.9, -13.1, 45.4, -12.5},     // Mayotte
	{-56.5, 46.7, -56.1, 47.2},     // Saint-Pierre-et-Miquelon
	{-63.2, 17.8, -62.7, 18.2},     // Saint-Martin, Saint-Barthélemy
	{-155.0, -28.0, -134.0, -7.0},  // Polynésie française
	{163.0, -23.0, 169.0, -19.0},   // Nouvelle-Calédonie
	{-178.3, -14.4, -176.0, -13.1}, // Wallis-et-Futuna
}

func inFrance(lon, lat float64) bool {
	for _, b := range franceBoxes {
		if lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3] {
			return true
		}
	}
	return false
}

func (c *frenchGPS) run(r *rowView, add func(int, string, string)) {
	col := c.cols[0]
	if !r.present[col] || r.missing[col] {
		return
	}
	p, ok := r.values[col].(GeoPoint)
	if !ok {
		return // not a point: the type error is already reported
	}
	if inFrance(p.Lon, p.Lat) {
		return
	}
	cell := r.cells[col]
	if inFrance(p.Lat, p.Lon) {
		add(col, cell, fmt.Sprintf("Les coordonnées « %s » semblent inversées : la longitude doit précéder la latitude", short(cell)))
		return
	}
	add(col, cell, fmt.Sprintf("Les coordonnées « %s » ne sont pas situées en France", short(cell)))
}
