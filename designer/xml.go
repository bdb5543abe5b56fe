package designer

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// Limits applied while reading BPMN XML. They are far above what a real
// diagram needs (the largest Camunda sample is under 40 KiB, 10 levels deep).
const (
	MaxXMLSize   = 5 << 20 // bytes
	MaxXMLDepth  = 200     // element nesting
	MaxXMLTokens = 300_000 // elements, comments and non-blank text
)

// Namespaces read by the compiler.
const (
	NSBPMN      = "http://www.omg.org/spec/BPMN/20100524/MODEL"
	NSZeebe     = "http://camunda.org/schema/zeebe/1.0"
	NSCamunda7  = "http://camunda.org/schema/1.0/bpmn"
	NSCivicflow = "https://civicflow.fr/schema/bpmn/1.0"
	NSXSI       = "http://www.w3.org/2001/XMLSchema-instance"
)

// ErrTooLarge is returned (wrapped) when the XML exceeds MaxXMLSize.
var ErrTooLarge = errors.New("designer: BPMN file larger than 5 MiB")

// ReadLimited reads at most MaxXMLSize bytes from r and fails with ErrTooLarge
// beyond, without reading the rest: use it on request bodies and uploads.
func ReadLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxXMLSize+1))
	if err != nil {
		return nil, fmt.Errorf("designer: read BPMN: %w", err)
	}
	if len(data) > MaxXMLSize {
		return nil, ErrTooLarge
	}
	return data, nil
}

// element is one node of the generic XML tree the compiler walks.
type element struct {
	Space, Local string
	Attrs        []xml.Attr
	Children     []*element
	Text         string
}

func (e *element) attr(space, local string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == local && a.Name.Space == space {
			return a.Value
		}
	}
	return ""
}

// battr reads an attribute with no namespace (BPMN attributes are unqualified).
func (e *element) battr(local string) string { return e.attr("", local) }

func (e *element) hasAttr(space, local string) bool {
	for _, a := range e.Attrs {
		if a.Name.Local == local && a.Name.Space == space {
			return true
		}
	}
	return false
}

func (e *element) is(space, local string) bool { return e.Space == space && e.Local == local }

// child returns the first child with that name, or nil.
func (e *element) child(space, local string) *element {
	for _, c := range e.Children {
		if c.is(space, local) {
			return c
		}
	}
	return nil
}

func (e *element) children(space, local string) []*element {
	var out []*element
	for _, c := range e.Children {
		if c.is(space, local) {
			out = append(out, c)
		}
	}
	return out
}

// ext returns the children of extensionElements with that name.
func (e *element) ext(space, local string) []*element {
	var out []*element
	for _, x := range e.children(NSBPMN, "extensionElements") {
		out = append(out, x.children(space, local)...)
	}
	return out
}

func (e *element) ext1(space, local string) *element {
	if l := e.ext(space, local); len(l) > 0 {
		return l[0]
	}
	return nil
}

// parseXML reads data into a tree, enforcing the limits and refusing DTDs.
func parseXML(data []byte) (*element, error) {
	if len(data) > MaxXMLSize {
		return nil, ErrTooLarge
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("designer: empty file, expected BPMN 2.0 XML")
	}
	// Cheap pre-check: every token but text starts with '<'; a legitimate
	// diagram has about two per element, far below the limit.
	if bytes.Count(data, []byte("<")) > MaxXMLTokens {
		return nil, fmt.Errorf("designer: XML has more than %d tokens", MaxXMLTokens)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	var (
		root   *element
		stack  []*element
		tokens int
		text   strings.Builder
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
				return nil, fmt.Errorf("designer: truncated XML at line %d", line)
			}
			return nil, fmt.Errorf("designer: not well-formed XML at line %d: %v", line, unwrapXMLError(err))
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			if _, end := tok.(xml.EndElement); !end {
				tokens++
			}
		}
		if tokens > MaxXMLTokens {
			return nil, fmt.Errorf("designer: XML has more than %d tokens", MaxXMLTokens)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("designer: several root elements")
			}
			if len(stack) >= MaxXMLDepth {
				return nil, fmt.Errorf("designer: XML nested deeper than %d elements", MaxXMLDepth)
			}
			if len(stack) > 0 {
				stack[len(stack)-1].Text += text.String()
			}
			text.Reset()
			el := &element{Space: t.Name.Space, Local: t.Name.Local, Attrs: t.Copy().Attr}
			if root == nil {
				if !el.is(NSBPMN, "definitions") {
					return nil, fmt.Errorf("designer: root element is {%s}%s, expected BPMN 2.0 definitions (%s)", el.Space, el.Local, NSBPMN)
				}
				root = el
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, el)
			}
			stack = append(stack, el)
		case xml.EndElement:
			el := stack[len(stack)-1]
			el.Text += text.String()
			text.Reset()
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("designer: text outside the root element: not BPMN XML")
			}
		case xml.Directive:
			s := strings.ToUpper(string(t))
			if strings.Contains(s, "ENTITY") {
				return nil, errors.New("designer: XML entity declarations are not allowed")
			}
			return nil, errors.New("designer: DOCTYPE declarations are not allowed in BPMN files")
		}
	}
	if root == nil {
		return nil, errors.New("designer: no XML element found, expected BPMN 2.0 XML")
	}
	if len(stack) > 0 {
		return nil, errors.New("designer: truncated XML")
	}
	if !root.is(NSBPMN, "definitions") {
		return nil, fmt.Errorf("designer: root element is {%s}%s, expected BPMN 2.0 definitions (%s)", root.Space, root.Local, NSBPMN)
	}
	return root, nil
}

func unwrapXMLError(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		return charmap.ISO8859_1.NewDecoder().Reader(input), nil
	case "iso-8859-15", "latin9":
		return charmap.ISO8859_15.NewDecoder().Reader(input), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Reader(input), nil
	case "us-ascii", "ascii":
		return input, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", label)
}
