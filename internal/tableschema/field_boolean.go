package tableschema

import (
	"encoding/json"
	"fmt"
	"strings"
)

func init() {
	Fields["boolean"] = func() Field { return &BooleanField{} }
}

var _ Field = (*BooleanField)(nil)

// BooleanField is a "boolean" column with trueValues/falseValues (French
// schemas give oui/non, vrai/faux…).
type BooleanField struct {
	baseField
	trueValues, falseValues []string
	values                  map[string]bool
	accepted                string
}

// Configure implements Field.
func (f *BooleanField) Configure(d *FieldDescriptor) error {
	f.trueValues = []string{"true", "True", "TRUE", "1"}
	f.falseValues = []string{"false", "False", "FALSE", "0"}
	for _, k := range []struct {
		key string
		dst *[]string
	}{{"trueValues", &f.trueValues}, {"falseValues", &f.falseValues}} {
		if raw, ok := d.Extra[k.key]; ok {
			var vs []string
			if err := json.Unmarshal(raw, &vs); err != nil {
				return fmt.Errorf("%s: want an array of strings", k.key)
			}
			*k.dst = vs
		}
	}
	f.values = map[string]bool{}
	for _, v := range f.trueValues {
		f.values[v] = true
	}
	for _, v := range f.falseValues {
		if f.values[v] {
			return fmt.Errorf("value %q is in both trueValues and falseValues", v)
		}
		f.values[v] = false
	}
	f.accepted = strings.Join(quoteAll(append(append([]string{}, f.trueValues...), f.falseValues...)), ", ")
	return f.setup(d, f)
}

// Cast implements Field.
func (f *BooleanField) Cast(cell string) (any, error) {
	if v, ok := f.values[cell]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("La valeur « %s » n'est pas un booléen valide (valeurs acceptées : %s)", short(cell), f.accepted)
}

// CheckValue implements Field.
func (f *BooleanField) CheckValue(v any, cell string) *ConstraintViolation {
	return f.check(v, cell, f)
}

// SQLType implements Field.
func (f *BooleanField) SQLType() string { return "BOOLEAN" }
