package tableschema

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

func init() {
	Fields["string"] = func() Field { return &StringField{} }
	Fields["any"] = func() Field { return &AnyField{} }
}

var (
	_ Field = (*StringField)(nil)
	_ Field = (*AnyField)(nil)
)

// StringField is a "string" column; formats default, email, uri, binary, uuid.
type StringField struct {
	baseField
	format string
}

var (
	emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s.]+$`)
	uuidRe  = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
)

// Configure implements Field.
func (f *StringField) Configure(d *FieldDescriptor) error {
	switch d.Format {
	case "default", "email", "uri", "binary", "uuid":
		f.format = d.Format
	default:
		// Unknown string formats are common in the wild (e.g. "text"); treat as default.
		f.format = "default"
	}
	return f.setup(d, f)
}

// Cast implements Field.
func (f *StringField) Cast(cell string) (any, error) {
	if err := f.checkFormat(cell); err != nil {
		return nil, err
	}
	return cell, nil
}

// checkText implements textChecker: cast and check without boxing the value.
func (f *StringField) checkText(cell string) (*ConstraintViolation, error) {
	if f.plain && f.format == "default" {
		return nil, nil
	}
	if err := f.checkFormat(cell); err != nil {
		return nil, err
	}
	return f.check(f.textValue(cell), cell, f), nil
}

func (f *StringField) checkFormat(cell string) error {
	switch f.format {
	case "email":
		if !emailRe.MatchString(cell) {
			return fmt.Errorf("La valeur « %s » n'est pas une adresse e-mail valide", short(cell))
		}
	case "uri":
		if !validURI(cell) {
			return fmt.Errorf("La valeur « %s » n'est pas une URI valide (exemple : https://www.exemple.fr/page)", short(cell))
		}
	case "binary":
		if _, err := base64.StdEncoding.DecodeString(cell); err != nil {
			return fmt.Errorf("La valeur « %s » n'est pas un contenu binaire encodé en base64 valide", short(cell))
		}
	case "uuid":
		if !uuidRe.MatchString(cell) {
			return fmt.Errorf("La valeur « %s » n'est pas un UUID valide", short(cell))
		}
	}
	return nil
}

func validURI(s string) bool {
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	return u.Host != "" || u.Opaque != "" || u.Path != ""
}

// CheckValue implements Field.
func (f *StringField) CheckValue(v any, cell string) *ConstraintViolation {
	return f.check(v, cell, f)
}

func (f *StringField) compare(a, b any) int { return strings.Compare(a.(string), b.(string)) }

// SQLType implements Field.
func (f *StringField) SQLType() string { return "TEXT" }

// AnyField is an "any" column (also a field without type): every value is valid.
type AnyField struct{ baseField }

// Configure implements Field.
func (f *AnyField) Configure(d *FieldDescriptor) error { return f.setup(d, f) }

// Cast implements Field.
func (f *AnyField) Cast(cell string) (any, error) { return cell, nil }

// checkText implements textChecker.
func (f *AnyField) checkText(cell string) (*ConstraintViolation, error) {
	return f.check(f.textValue(cell), cell, f), nil
}

func (f *AnyField) compare(a, b any) int { return strings.Compare(a.(string), b.(string)) }

// CheckValue implements Field.
func (f *AnyField) CheckValue(v any, cell string) *ConstraintViolation { return f.check(v, cell, f) }

// SQLType implements Field.
func (f *AnyField) SQLType() string { return "TEXT" }
