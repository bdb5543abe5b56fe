package tableschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrSchema marks every error returned by Parse for a bad descriptor.
var ErrSchema = errors.New("invalid table schema")

// Schema is a parsed Table Schema descriptor. It is safe for concurrent use
// and must be treated as read-only (shipped schemas are shared).
type Schema struct {
	Name        string
	Title       string
	Description string
	Version     string
	Fields      []Field
	// MissingValues are the cells that mean "no value" (default [""]).
	MissingValues []string
	PrimaryKey    []string
	UniqueKeys    [][]string
	ForeignKeys   []ForeignKey
	// CustomChecks are the Validata custom_checks, as given.
	CustomChecks []CustomCheckDescriptor
	// Warnings are the quirks tolerated while parsing (typos, unsupported
	// custom checks…), in English for logs; the validator repeats them as
	// report warnings.
	Warnings []string

	checks      []rowCheck
	unsupported []string // custom check names not supported
	notes       []string // warnings other than unsupported checks
	byName      map[string]int
}

// ForeignKey is a foreignKeys entry; an empty Resource is a self-reference.
type ForeignKey struct {
	Fields          []string
	Resource        string
	ReferenceFields []string
}

// CustomCheckDescriptor is one Validata custom_checks entry.
type CustomCheckDescriptor struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params"`
}

// Field returns the field named name.
func (s *Schema) Field(name string) (Field, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	return s.Fields[i], true
}

// FieldNames returns the field names in schema order.
func (s *Schema) FieldNames() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name()
	}
	return out
}

// Parse parses a Table Schema descriptor (JSON). Unknown keys are ignored;
// likely typos are reported in Schema.Warnings. A bad descriptor returns an
// error wrapping ErrSchema that names the faulty field.
func Parse(data []byte) (*Schema, error) {
	s, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	return s, nil
}

func parse(data []byte) (*Schema, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("descriptor is not a JSON object: %w", err)
	}
	s := &Schema{MissingValues: []string{""}, byName: map[string]int{}}
	warn := func(w string) { s.Warnings = append(s.Warnings, w) }
	for _, k := range []struct {
		key string
		dst *string
	}{{"name", &s.Name}, {"title", &s.Title}, {"description", &s.Description}, {"version", &s.Version}} {
		if err := getString(top, k.key, k.dst); err != nil {
			warn(fmt.Sprintf("top-level %v ignored", err))
		}
	}
	rawFields, ok := top["fields"]
	if !ok {
		return nil, errors.New(`missing "fields"`)
	}
	var fields []json.RawMessage
	if err := json.Unmarshal(rawFields, &fields); err != nil {
		return nil, fmt.Errorf(`"fields" is not an array: %w`, err)
	}
	if len(fields) == 0 {
		return nil, errors.New(`"fields" is empty`)
	}
	descs := make([]*FieldDescriptor, 0, len(fields))
	for i, raw := range fields {
		d, err := parseFieldDescriptor(raw, i, warn)
		if err != nil {
			return nil, err
		}
		if _, dup := s.byName[d.Name]; dup {
			return nil, fmt.Errorf("field %q: duplicate field name", d.Name)
		}
		s.byName[d.Name] = i
		descs = append(descs, d)
	}
	if raw, ok := top["missingValues"]; ok {
		mv, err := parseMissingValues(raw)
		if err != nil {
			return nil, fmt.Errorf("missingValues: %w", err)
		}
		s.MissingValues = mv
	}
	if raw, ok := top["primaryKey"]; ok {
		pk, err := stringOrList(raw)
		if err != nil {
			return nil, fmt.Errorf("primaryKey: %w", err)
		}
		if err := s.checkNames("primaryKey", pk); err != nil {
			return nil, err
		}
		s.PrimaryKey = pk
		for _, n := range pk { // a primary key implies required
			descs[s.byName[n]].Constraints.Required = true
		}
	}
	if raw, ok := top["uniqueKeys"]; ok {
		var uks []json.RawMessage
		if err := json.Unmarshal(raw, &uks); err != nil {
			return nil, fmt.Errorf("uniqueKeys: want an array: %w", err)
		}
		for _, u := range uks {
			names, err := stringOrList(u)
			if err != nil {
				return nil, fmt.Errorf("uniqueKeys: %w", err)
			}
			if err := s.checkNames("uniqueKeys", names); err != nil {
				return nil, err
			}
			s.UniqueKeys = append(s.UniqueKeys, names)
		}
	}
	if raw, ok := top["foreignKeys"]; ok {
		if err := s.parseForeignKeys(raw, warn); err != nil {
			return nil, err
		}
	}
	for _, d := range descs {
		f, err := newField(d)
		if err != nil {
			return nil, err
		}
		s.Fields = append(s.Fields, f)
	}
	if raw, ok := top["custom_checks"]; ok {
		if err := json.Unmarshal(raw, &s.CustomChecks); err != nil {
			warn(fmt.Sprintf("custom_checks ignored: %v", err))
			s.CustomChecks = nil
		}
	}
	for _, cc := range s.CustomChecks {
		c, err := newCheck(cc, s)
		switch {
		case errors.Is(err, errCheckUnsupported):
			s.unsupported = append(s.unsupported, cc.Name)
		case err != nil:
			warn(fmt.Sprintf("custom check %q ignored: %v", cc.Name, err))
		default:
			s.checks = append(s.checks, c)
		}
	}
	s.notes = s.Warnings
	for _, name := range s.unsupported {
		s.Warnings = append(s.Warnings, fmt.Sprintf("custom check %q is not supported, ignored", name))
	}
	return s, nil
}

func (s *Schema) parseForeignKeys(raw json.RawMessage, warn func(string)) error {
	var fks []struct {
		Fields    json.RawMessage `json:"fields"`
		Reference struct {
			Resource string          `json:"resource"`
			Fields   json.RawMessage `json:"fields"`
		} `json:"reference"`
	}
	if err := json.Unmarshal(raw, &fks); err != nil {
		return fmt.Errorf("foreignKeys: %w", err)
	}
	for i, fk := range fks {
		from, err := stringOrList(fk.Fields)
		if err != nil {
			return fmt.Errorf("foreignKeys[%d].fields: %w", i, err)
		}
		to, err := stringOrList(fk.Reference.Fields)
		if err != nil {
			return fmt.Errorf("foreignKeys[%d].reference.fields: %w", i, err)
		}
		if len(from) != len(to) {
			return fmt.Errorf("foreignKeys[%d]: %d fields reference %d fields", i, len(from), len(to))
		}
		if err := s.checkNames("foreignKeys", from); err != nil {
			return err
		}
		if fk.Reference.Resource != "" {
			warn(fmt.Sprintf("foreignKeys[%d]: reference to resource %q cannot be checked on a single file, ignored", i, fk.Reference.Resource))
			continue
		}
		if err := s.checkNames("foreignKeys reference", to); err != nil {
			return err
		}
		s.ForeignKeys = append(s.ForeignKeys, ForeignKey{Fields: from, ReferenceFields: to})
	}
	return nil
}

func (s *Schema) checkNames(what string, names []string) error {
	for _, n := range names {
		if _, ok := s.byName[n]; !ok {
			return fmt.Errorf("%s: unknown field %q", what, n)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("%s: empty", what)
	}
	return nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want a field name or an array of field names, got %s", strings.TrimSpace(string(raw)))
	}
	return many, nil
}
