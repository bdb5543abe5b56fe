package designer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Form describes a user task form: a reference (ID / Key) and, when the
// form-js schema is known at compile time, its input fields and the schema
// itself so the task page can render it.
type Form struct {
	ID     string          `json:"id,omitempty"`
	Key    string          `json:"key,omitempty"`
	Fields []FormField     `json:"fields,omitempty"`
	Schema json.RawMessage `json:"schema,omitempty"`

	// Version is the deployed form version a linked form (formId) resolved
	// to when the flow was deployed; 0 for embedded forms.
	Version int `json:"version,omitempty"`
}

// FormField is one input of a form-js form.
type FormField struct {
	Key   string `json:"key"`
	Type  string `json:"type"` // form-js component type
	Label string `json:"label,omitempty"`
	// ValueType is string, number, boolean, array or any.
	ValueType string   `json:"valueType"`
	Required  bool     `json:"required,omitempty"`
	Enum      []string `json:"enum,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	MinLength *int     `json:"minLength,omitempty"`
	MaxLength *int     `json:"maxLength,omitempty"`
	// Disabled/read-only fields are shown, not submitted.
	ReadOnly bool `json:"readOnly,omitempty"`
}

type formJSComponent struct {
	Key        string            `json:"key"`
	Type       string            `json:"type"`
	Label      string            `json:"label"`
	Path       string            `json:"path"`
	Disabled   bool              `json:"disabled"`
	ReadOnly   json.RawMessage   `json:"readonly"`
	Values     []formJSValue     `json:"values"`
	Components []formJSComponent `json:"components"`
	Validate   struct {
		Required  bool     `json:"required"`
		Min       *float64 `json:"min"`
		Max       *float64 `json:"max"`
		MinLength *int     `json:"minLength"`
		MaxLength *int     `json:"maxLength"`
	} `json:"validate"`
}

type formJSValue struct {
	Value json.RawMessage `json:"value"`
	Label string          `json:"label"`
}

var formValueTypes = map[string]string{
	"textfield": "string", "textarea": "string", "datetime": "string", "radio": "string",
	"select": "string", "number": "number", "checkbox": "boolean", "checklist": "array",
	"taglist": "array", "filepicker": "any", "dynamiclist": "array",
}

// ParseForm reads a form-js (Camunda Forms) JSON schema. An empty object is
// a form without fields.
func ParseForm(data []byte) (*Form, error) {
	var doc struct {
		ID         string            `json:"id"`
		Components []formJSComponent `json:"components"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("form is not valid form-js JSON: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return nil, fmt.Errorf("form is not valid JSON: %v", err)
	}
	f := &Form{ID: doc.ID, Schema: json.RawMessage(compact.Bytes())}
	seen := map[string]bool{}
	var walk func([]formJSComponent) error
	walk = func(cs []formJSComponent) error {
		for _, c := range cs {
			if c.Type == "group" && c.Path == "" {
				if err := walk(c.Components); err != nil {
					return err
				}
				continue
			}
			key := c.Key
			if c.Type == "group" || c.Type == "dynamiclist" {
				key = c.Path
			}
			vt, input := formValueTypes[c.Type]
			if c.Type == "group" {
				vt, input = "any", true
			}
			if !input || key == "" {
				continue
			}
			if seen[key] {
				return fmt.Errorf("form field key %q is used twice", key)
			}
			seen[key] = true
			ff := FormField{Key: key, Type: c.Type, Label: c.Label, ValueType: vt,
				Required: c.Validate.Required, Min: c.Validate.Min, Max: c.Validate.Max,
				MinLength: c.Validate.MinLength, MaxLength: c.Validate.MaxLength,
				ReadOnly: c.Disabled || string(c.ReadOnly) == "true"}
			for _, v := range c.Values {
				var s string
				if json.Unmarshal(v.Value, &s) == nil {
					ff.Enum = append(ff.Enum, s)
				} else {
					ff.Enum = append(ff.Enum, string(v.Value))
				}
			}
			f.Fields = append(f.Fields, ff)
		}
		return nil
	}
	if err := walk(doc.Components); err != nil {
		return nil, err
	}
	return f, nil
}

// CheckData validates submitted data against the form: required keys, value
// types and enum values. It returns one message per problem, sorted. Keys
// that the form does not declare are not its business: UserTask.CheckCompletion
// refuses them.
func (f *Form) CheckData(data map[string]any) []string {
	if f == nil {
		return nil
	}
	var msgs []string
	for _, fl := range f.Fields {
		if fl.ReadOnly {
			continue
		}
		v, ok := data[fl.Key]
		if !ok || v == nil || v == "" {
			if fl.Required {
				msgs = append(msgs, fmt.Sprintf("%s: required", fl.Key))
			}
			continue
		}
		if m := fl.check(v); m != "" {
			msgs = append(msgs, fl.Key+": "+m)
		}
	}
	sort.Strings(msgs)
	return msgs
}

func (fl FormField) check(v any) string {
	switch fl.ValueType {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("expected a string, got %T", v)
		}
		if fl.MinLength != nil && len([]rune(s)) < *fl.MinLength {
			return fmt.Sprintf("shorter than %d characters", *fl.MinLength)
		}
		if fl.MaxLength != nil && len([]rune(s)) > *fl.MaxLength {
			return fmt.Sprintf("longer than %d characters", *fl.MaxLength)
		}
		if len(fl.Enum) > 0 && !contains(fl.Enum, s) {
			return fmt.Sprintf("%q is not one of %v", s, fl.Enum)
		}
	case "number":
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case int:
			n = float64(x)
		case int64:
			n = float64(x)
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return "expected a number"
			}
			n = f
		default:
			return fmt.Sprintf("expected a number, got %T", v)
		}
		if fl.Min != nil && n < *fl.Min {
			return fmt.Sprintf("less than %v", *fl.Min)
		}
		if fl.Max != nil && n > *fl.Max {
			return fmt.Sprintf("more than %v", *fl.Max)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("expected true or false, got %T", v)
		}
	case "array":
		items, ok := v.([]any)
		if !ok {
			if ss, ok2 := v.([]string); ok2 {
				for _, s := range ss {
					items = append(items, s)
				}
			} else {
				return fmt.Sprintf("expected a list, got %T", v)
			}
		}
		if len(fl.Enum) > 0 {
			for _, it := range items {
				s, ok := it.(string)
				if !ok || !contains(fl.Enum, s) {
					return fmt.Sprintf("%v is not one of %v", it, fl.Enum)
				}
			}
		}
	}
	return ""
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
