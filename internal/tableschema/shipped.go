package tableschema

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
)

// The national schemas shipped with the product (see schemas/SOURCES.md).
//
//go:embed schemas/*.schema.json schemas/SOURCES.md
var shippedFS embed.FS

// ErrUnknownSchema is returned by LoadShipped for a name not shipped.
var ErrUnknownSchema = errors.New("unknown schema")

// Info describes a shipped schema.
type Info struct {
	Name        string `json:"name"` // file name without .schema.json, e.g. "scdl-subventions"
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
	SchemaName  string `json:"schemaName"` // the descriptor's own "name"
	Fields      int    `json:"fields"`
}

const shippedSuffix = ".schema.json"

var shipped = sync.OnceValues(func() (map[string]*Schema, error) {
	entries, err := fs.Glob(shippedFS, "schemas/*"+shippedSuffix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Schema, len(entries))
	for _, e := range entries {
		data, err := shippedFS.ReadFile(e)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", e, err)
		}
		s, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("shipped schema %s: %w", e, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(e, "schemas/"), shippedSuffix)] = s
	}
	return out, nil
})

// Shipped lists the shipped schemas, sorted by name.
func Shipped() []Info {
	all, err := shipped()
	if err != nil {
		return nil // cannot happen: TestShippedSchemasParse guards it
	}
	out := make([]Info, 0, len(all))
	for name, s := range all {
		out = append(out, Info{Name: name, Title: s.Title, Version: s.Version, Description: s.Description, SchemaName: s.Name, Fields: len(s.Fields)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LoadShipped returns the shipped schema of that name ("scdl-subventions").
// Schemas are immutable once parsed and may be shared.
func LoadShipped(name string) (*Schema, error) {
	all, err := shipped()
	if err != nil {
		return nil, err
	}
	s, ok := all[name]
	if !ok {
		return nil, fmt.Errorf("load schema %q: %w", name, ErrUnknownSchema)
	}
	return s, nil
}

// ShippedDescriptor returns the raw JSON descriptor of a shipped schema.
func ShippedDescriptor(name string) ([]byte, error) {
	data, err := shippedFS.ReadFile("schemas/" + name + shippedSuffix)
	if err != nil {
		return nil, fmt.Errorf("load schema %q: %w", name, ErrUnknownSchema)
	}
	return data, nil
}
