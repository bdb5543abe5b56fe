package tableschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Field is one column of a schema. Each field kind (string, number, date…)
// is its own type, registered by type name in Fields.
type Field interface {
	// Name is the column name the field matches in a header.
	Name() string
	// Type is the Table Schema type name ("string", "number"…).
	Type() string
	// Format is the field format, "default" when the descriptor has none.
	Format() string
	// Descriptor is the parsed descriptor the field was built from.
	Descriptor() *FieldDescriptor
	// Configure reads the kind-specific settings of d (formats, trueValues,
	// decimalChar…) and reports those that are invalid. Parse calls it once.
	Configure(d *FieldDescriptor) error
	// Cast converts a physical, non-missing cell into the field's logical value
	// (string, float64, int64, bool, time.Time, Duration, GeoPoint, map, slice…).
	// The error message is in French and names the value.
	Cast(cell string) (any, error)
	// CheckValue checks v, a value returned by Cast, against the field's value
	// constraints (all but required and unique, which need the row or the table).
	CheckValue(v any, cell string) *ConstraintViolation
	// SQLType is a portable column type hint for storing typed rows.
	SQLType() string
}

// Fields is the registry of field kinds by Table Schema type name.
var Fields = map[string]func() Field{}

// ConstraintViolation is a constraint a value does not satisfy.
type ConstraintViolation struct {
	Constraint string // "pattern", "enum", "minimum"…
	Message    string // French, specific
}

// FieldDescriptor is the JSON descriptor of a field. Unknown keys are kept in
// Extra so that kinds may read extensions.
type FieldDescriptor struct {
	Name          string
	Type          string
	Format        string
	Title         string
	Description   string
	Example       any
	Constraints   Constraints
	MissingValues []string // per-field missing values (v2), nil when absent
	Extra         map[string]json.RawMessage
}

// Constraints are the constraints of a field descriptor, as given.
type Constraints struct {
	Required         bool
	Unique           bool
	MinLength        *int
	MaxLength        *int
	Minimum          any // JSON value (float64, string…) or nil
	Maximum          any
	ExclusiveMinimum any
	ExclusiveMaximum any
	Pattern          string
	Enum             []any
}

// knownFieldKeys are the field keys of the spec and of SDGF; others are
// ignored, with a warning when they look like a typo of one of them.
var knownFieldKeys = []string{"name", "type", "format", "title", "description", "example", "examples",
	"constraints", "missingValues", "trueValues", "falseValues", "decimalChar", "groupChar",
	"bareNumber", "floatNumber", "arrayItem", "rdfType", "categories", "categoriesOrdered",
	"delimiter", "itemType", "itemFormat"}

var knownConstraintKeys = []string{"required", "unique", "minLength", "maxLength", "minimum",
	"maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern", "enum", "jsonSchema"}

// parseFieldDescriptor decodes a field descriptor; warn collects schema warnings.
func parseFieldDescriptor(raw json.RawMessage, index int, warn func(string)) (*FieldDescriptor, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("field #%d: not a JSON object: %w", index+1, err)
	}
	d := &FieldDescriptor{Extra: map[string]json.RawMessage{}}
	if err := getString(m, "name", &d.Name); err != nil || d.Name == "" {
		if err == nil {
			err = fmt.Errorf("missing name")
		}
		return nil, fmt.Errorf("field #%d: %w", index+1, err)
	}
	ctx := fmt.Sprintf("field %q", d.Name)
	for _, k := range []struct {
		key string
		dst *string
	}{{"type", &d.Type}, {"format", &d.Format}, {"title", &d.Title}, {"description", &d.Description}} {
		if err := getString(m, k.key, k.dst); err != nil {
			return nil, fmt.Errorf("%s: %w", ctx, err)
		}
	}
	if d.Type == "" {
		d.Type = "any"
	}
	d.Format = strings.TrimPrefix(d.Format, "fmt:")
	if d.Format == "" {
		d.Format = "default"
	}
	if v, ok := m["example"]; ok {
		_ = json.Unmarshal(v, &d.Example)
	}
	if v, ok := m["missingValues"]; ok {
		mv, err := parseMissingValues(v)
		if err != nil {
			return nil, fmt.Errorf("%s: missingValues: %w", ctx, err)
		}
		d.MissingValues = mv
	}
	if v, ok := m["constraints"]; ok {
		if err := parseConstraints(v, &d.Constraints, ctx, warn); err != nil {
			return nil, fmt.Errorf("%s: %w", ctx, err)
		}
	}
	for k, v := range m {
		if contains(knownFieldKeys, k) {
			if k != "name" && k != "type" && k != "format" && k != "title" && k != "description" && k != "constraints" {
				d.Extra[k] = v
			}
			continue
		}
		d.Extra[k] = v
		if near := nearest(k, knownFieldKeys); near != "" {
			warn(fmt.Sprintf("%s: unknown key %q ignored (did you mean %q?)", ctx, k, near))
		}
	}
	return d, nil
}

func parseConstraints(raw json.RawMessage, c *Constraints, ctx string, warn func(string)) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("constraints: not a JSON object: %w", err)
	}
	for k, v := range m {
		var err error
		switch k {
		case "required":
			c.Required, err = looseBool(v)
		case "unique":
			c.Unique, err = looseBool(v)
		case "minLength":
			c.MinLength, err = looseInt(v)
		case "maxLength":
			c.MaxLength, err = looseInt(v)
		case "minimum":
			err = json.Unmarshal(v, &c.Minimum)
		case "maximum":
			err = json.Unmarshal(v, &c.Maximum)
		case "exclusiveMinimum":
			err = json.Unmarshal(v, &c.ExclusiveMinimum)
		case "exclusiveMaximum":
			err = json.Unmarshal(v, &c.ExclusiveMaximum)
		case "pattern":
			err = json.Unmarshal(v, &c.Pattern)
		case "enum":
			err = json.Unmarshal(v, &c.Enum)
			if err == nil && len(c.Enum) == 0 {
				warn(fmt.Sprintf("%s: empty enum constraint ignored", ctx))
				c.Enum = nil
			}
		case "jsonSchema":
			warn(fmt.Sprintf("%s: constraint jsonSchema is not supported, ignored", ctx))
		default:
			near := nearest(k, knownConstraintKeys)
			if near != "" {
				warn(fmt.Sprintf("%s: unknown constraint %q ignored (did you mean %q?)", ctx, k, near))
			} else {
				warn(fmt.Sprintf("%s: unknown constraint %q ignored", ctx, k))
			}
		}
		if err != nil {
			return fmt.Errorf("constraint %q: %w", k, err)
		}
	}
	return nil
}

// looseBool accepts true/false and, as found in the wild, "true"/"false".
func looseBool(v json.RawMessage) (bool, error) {
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if b, err := strconv.ParseBool(s); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("want a boolean, got %s", bytes.TrimSpace(v))
}

func looseInt(v json.RawMessage) (*int, error) {
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		var s string
		if err2 := json.Unmarshal(v, &s); err2 != nil {
			return nil, fmt.Errorf("want an integer, got %s", bytes.TrimSpace(v))
		}
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return nil, fmt.Errorf("want an integer, got %q", s)
		}
	}
	if f != float64(int(f)) || f < 0 {
		return nil, fmt.Errorf("want a non-negative integer, got %v", f)
	}
	n := int(f)
	return &n, nil
}

func getString(m map[string]json.RawMessage, key string, dst *string) error {
	v, ok := m[key]
	if !ok || string(v) == "null" {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("%s: want a string, got %s", key, bytes.TrimSpace(v))
	}
	return nil
}

func parseMissingValues(v json.RawMessage) ([]string, error) {
	var items []any
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, fmt.Errorf("want an array: %w", err)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		switch x := it.(type) {
		case string:
			out = append(out, x)
		case map[string]any: // v2 {value,label}
			if s, ok := x["value"].(string); ok {
				out = append(out, s)
			}
		case float64:
			out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
		default:
			return nil, fmt.Errorf("unsupported missing value %v", it)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nearest returns the known key at edit distance 1 or 2 of k ("contraints"),
// or "" when none is that close.
func nearest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := levenshtein(strings.ToLower(k), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// baseField holds what every kind shares: descriptor and compiled constraints.
// Kinds embed it and call check from their CheckValue with themselves as the
// comparer, so that minimum/maximum/enum use the kind's own ordering.
type baseField struct {
	desc    *FieldDescriptor
	pattern *regexp.Regexp
	fast    *fastPattern // same as pattern as a DFA, when compileFast covers it
	// compiled bounds and enum, cast with the kind's own rules
	min, max, exclMin, exclMax any
	enum                       []any
	enumSet                    map[string]struct{} // fast path when values are strings
	enumText                   string
	plain                      bool // no value constraint at all: check has nothing to do
}

func (b *baseField) Name() string                 { return b.desc.Name }
func (b *baseField) Type() string                 { return b.desc.Type }
func (b *baseField) Format() string               { return b.desc.Format }
func (b *baseField) Descriptor() *FieldDescriptor { return b.desc }

// textChecker is implemented by kinds that can cast and check a cell without
// boxing its value (string, any, number, integer, date); the validator uses
// it when no custom check or key needs the logical value.
type textChecker interface {
	checkText(cell string) (*ConstraintViolation, error)
}

// textValue is the value check needs for a text cell: nil unless an ordered
// bound must compare it.
func (b *baseField) textValue(cell string) any {
	if b.min != nil || b.max != nil || b.exclMin != nil || b.exclMax != nil || (b.enum != nil && b.enumSet == nil) {
		return cell
	}
	return nil
}

// comparer orders two logical values of one kind; kinds without an order
// (boolean, object…) do not implement it and refuse minimum/maximum.
type comparer interface {
	compare(a, b any) int
}

// constraintCaster converts a JSON constraint value into a logical value.
type constraintCaster interface {
	Cast(cell string) (any, error)
}

// setup compiles the value constraints of the descriptor with the kind's rules.
func (b *baseField) setup(d *FieldDescriptor, self Field) error {
	b.desc = d
	c := &d.Constraints
	if c.Pattern != "" {
		re, err := compilePattern(c.Pattern)
		if err != nil {
			return fmt.Errorf("constraint pattern: %w", err)
		}
		b.pattern = re
		b.fast = compileFast(c.Pattern)
	}
	_, ordered := self.(comparer)
	for _, bound := range []struct {
		name string
		raw  any
		dst  *any
	}{{"minimum", c.Minimum, &b.min}, {"maximum", c.Maximum, &b.max},
		{"exclusiveMinimum", c.ExclusiveMinimum, &b.exclMin}, {"exclusiveMaximum", c.ExclusiveMaximum, &b.exclMax}} {
		if bound.raw == nil {
			continue
		}
		if !ordered {
			return fmt.Errorf("constraint %s: not applicable to type %s", bound.name, d.Type)
		}
		v, err := castJSONValue(self, bound.raw)
		if err != nil {
			return fmt.Errorf("constraint %s: %w", bound.name, err)
		}
		*bound.dst = v
	}
	if len(c.Enum) > 0 {
		texts := make([]string, 0, len(c.Enum))
		allStrings := true
		for _, raw := range c.Enum {
			v, err := castJSONValue(self, raw)
			if err != nil {
				return fmt.Errorf("constraint enum: %w", err)
			}
			b.enum = append(b.enum, v)
			texts = append(texts, jsonText(raw))
			if _, ok := v.(string); !ok {
				allStrings = false
			}
		}
		if allStrings {
			b.enumSet = make(map[string]struct{}, len(b.enum))
			for _, v := range b.enum {
				b.enumSet[v.(string)] = struct{}{}
			}
		}
		b.enumText = strings.Join(quoteAll(texts), ", ")
	}
	if (c.MinLength != nil || c.MaxLength != nil) && !lengthApplies(d.Type) {
		return fmt.Errorf("constraints minLength/maxLength: not applicable to type %s", d.Type)
	}
	b.plain = c.MinLength == nil && c.MaxLength == nil && b.pattern == nil && b.enum == nil && !b.hasBounds()
	return nil
}

func lengthApplies(t string) bool {
	switch t {
	case "string", "array", "object", "list", "any", "geojson":
		return true
	}
	return false
}

// castJSONValue casts a decoded JSON constraint value with the field's rules.
func castJSONValue(f constraintCaster, raw any) (any, error) {
	switch x := raw.(type) {
	case string:
		v, err := f.Cast(x)
		if err != nil {
			return nil, fmt.Errorf("value %q does not match the field type: %s", x, err)
		}
		return v, nil
	case float64:
		if nc, ok := f.(interface{ fromNumber(float64) (any, bool) }); ok {
			if v, ok := nc.fromNumber(x); ok {
				return v, nil
			}
		}
		s := strconv.FormatFloat(x, 'f', -1, 64)
		v, err := f.Cast(s)
		if err != nil {
			return nil, fmt.Errorf("value %s does not match the field type: %s", s, err)
		}
		return v, nil
	case bool:
		if _, ok := f.(*BooleanField); ok {
			return x, nil
		}
		return f.Cast(strconv.FormatBool(x))
	default:
		if jc, ok := f.(interface{ fromJSON(any) (any, error) }); ok {
			return jc.fromJSON(raw)
		}
		b, _ := json.Marshal(raw)
		return f.Cast(string(b))
	}
}

func jsonText(raw any) string {
	if s, ok := raw.(string); ok {
		return s
	}
	b, _ := json.Marshal(raw)
	return string(b)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "« " + s + " »"
	}
	return out
}

// check verifies the value constraints shared by every kind.
func (b *baseField) check(v any, cell string, self any) *ConstraintViolation {
	if b.plain {
		return nil
	}
	if cv := b.checkCommon(v, cell, self); cv != nil {
		return cv
	}
	if cmp, ok := self.(comparer); ok && v != nil {
		return b.checkBounds(func(bound any) int { return cmp.compare(v, bound) }, cell)
	}
	return nil
}

// checkCommon verifies length, pattern and enum.
func (b *baseField) checkCommon(v any, cell string, self any) *ConstraintViolation {
	c := &b.desc.Constraints
	if (c.MinLength != nil || c.MaxLength != nil) && !(v == nil && c.MinLength == nil && len(cell) <= *c.MaxLength) {
		// (a text cell has at most as many characters as bytes)
		n := valueLength(v, cell)
		if c.MinLength != nil && n < *c.MinLength {
			return &ConstraintViolation{"minLength", fmt.Sprintf("La valeur « %s » fait %d caractère(s), moins que le minimum autorisé (%d)", short(cell), n, *c.MinLength)}
		}
		if c.MaxLength != nil && n > *c.MaxLength {
			return &ConstraintViolation{"maxLength", fmt.Sprintf("La valeur « %s » fait %d caractères, plus que le maximum autorisé (%d)", short(cell), n, *c.MaxLength)}
		}
	}
	if b.pattern != nil && !b.matchPattern(cell) {
		return &ConstraintViolation{"pattern", fmt.Sprintf("La valeur « %s » ne respecte pas le motif attendu (%s)", short(cell), c.Pattern)}
	}
	if b.enum != nil && !b.inEnum(v, cell, self) {
		return &ConstraintViolation{"enum", fmt.Sprintf("La valeur « %s » ne fait pas partie des valeurs autorisées : %s", short(cell), b.enumText)}
	}
	return nil
}

// hasBounds reports whether a minimum or maximum constraint is set.
func (b *baseField) hasBounds() bool {
	return b.min != nil || b.max != nil || b.exclMin != nil || b.exclMax != nil
}

// checkBounds verifies minimum, maximum and their exclusive forms; cmp
// compares the value to a bound.
func (b *baseField) checkBounds(cmp func(bound any) int, cell string) *ConstraintViolation {
	c := &b.desc.Constraints
	if b.min != nil && cmp(b.min) < 0 {
		return &ConstraintViolation{"minimum", fmt.Sprintf("La valeur « %s » est inférieure au minimum autorisé (%s)", short(cell), jsonText(c.Minimum))}
	}
	if b.max != nil && cmp(b.max) > 0 {
		return &ConstraintViolation{"maximum", fmt.Sprintf("La valeur « %s » est supérieure au maximum autorisé (%s)", short(cell), jsonText(c.Maximum))}
	}
	if b.exclMin != nil && cmp(b.exclMin) <= 0 {
		return &ConstraintViolation{"exclusiveMinimum", fmt.Sprintf("La valeur « %s » doit être strictement supérieure à %s", short(cell), jsonText(c.ExclusiveMinimum))}
	}
	if b.exclMax != nil && cmp(b.exclMax) >= 0 {
		return &ConstraintViolation{"exclusiveMaximum", fmt.Sprintf("La valeur « %s » doit être strictement inférieure à %s", short(cell), jsonText(c.ExclusiveMaximum))}
	}
	return nil
}

func (b *baseField) matchPattern(cell string) bool {
	if b.fast != nil && (!b.fast.needValid || utf8.ValidString(cell)) {
		return b.fast.MatchString(cell)
	}
	return b.pattern.MatchString(cell)
}

func (b *baseField) inEnum(v any, cell string, self any) bool {
	if b.enumSet != nil {
		s, ok := v.(string)
		if !ok {
			if v != nil {
				return false
			}
			s = cell
		}
		_, ok = b.enumSet[s]
		return ok
	}
	cmp, ordered := self.(comparer)
	for _, e := range b.enum {
		if ordered {
			if cmp.compare(v, e) == 0 {
				return true
			}
		} else if reflect.DeepEqual(v, e) {
			return true
		}
	}
	return false
}

func valueLength(v any, cell string) int {
	switch x := v.(type) {
	case string:
		return utf8.RuneCountInString(x)
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return utf8.RuneCountInString(cell)
}

// short truncates a value quoted in a message.
func short(s string) string {
	const max = 80
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

// FieldTypes lists the registered type names, sorted.
func FieldTypes() []string {
	out := make([]string, 0, len(Fields))
	for k := range Fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// newField builds and configures the field of descriptor d.
func newField(d *FieldDescriptor) (Field, error) {
	ctor, ok := Fields[d.Type]
	if !ok {
		return nil, fmt.Errorf("field %q: unknown type %q (known: %s)", d.Name, d.Type, strings.Join(FieldTypes(), ", "))
	}
	f := ctor()
	if err := f.Configure(d); err != nil {
		return nil, fmt.Errorf("field %q (%s): %w", d.Name, d.Type, err)
	}
	return f, nil
}
