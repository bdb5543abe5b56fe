package designer

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// FormIDPattern is what a deployed form's id looks like (Camunda Modeler
// writes ids such as "Form_0w7r08e" or "invoice-approval").
var FormIDPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)

// linked reports whether a user task's form is linked by id to a deployed
// form (Camunda's zeebe:formDefinition formId, or a civicflow:form naming
// no embedded form) and not yet resolved: an id without a schema.
func (f *Form) linked() bool { return f != nil && f.ID != "" && len(f.Schema) == 0 }

// LinkedForms returns, for each form id that user tasks link to, the ids
// of those tasks (sorted).
func (g *Graph) LinkedForms() map[string][]string {
	out := map[string][]string{}
	for id, loc := range g.Index() {
		if u := loc.Node.User; u != nil && u.Form.linked() {
			out[u.Form.ID] = append(out[u.Form.ID], id)
		}
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}

// ResolveForms replaces every linked form by the deployed form that lookup
// returns (its schema, fields and version), so that the compiled flow
// carries the forms it was deployed with. lookup answers nil, nil for an
// unknown id: each task linking it is then a problem. An error of lookup
// is returned as is.
func (g *Graph) ResolveForms(lookup func(id string) (*Form, error)) ([]Problem, error) {
	linked := g.LinkedForms()
	ids := make([]string, 0, len(linked))
	for id := range linked {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	idx := g.Index()
	var problems []Problem
	for _, id := range ids {
		f, err := lookup(id)
		if err != nil {
			return nil, err
		}
		for _, task := range linked[id] {
			if f == nil {
				problems = append(problems, Problem{ElementID: task,
					Message: fmt.Sprintf("formId %q: no form with this id is deployed (deploy the .form file with POST /api/v1/forms first)", id)})
				continue
			}
			u := idx[task].Node.User
			resolved := *f
			resolved.ID, resolved.Key = id, u.Form.Key
			u.Form = &resolved
		}
	}
	return problems, nil
}

// FormVersions lists the deployed forms the graph embeds, as "id@version",
// sorted and unique: with the XML, they make a deployment's identity.
func (g *Graph) FormVersions() []string {
	seen := map[string]bool{}
	var out []string
	for _, loc := range g.Index() {
		if u := loc.Node.User; u != nil && u.Form != nil && u.Form.Version > 0 {
			v := u.Form.ID + "@" + strconv.Itoa(u.Form.Version)
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// DeployChecksum is the identity of a deployment: the checksum of the XML,
// and of the versions of the deployed forms it links when there are any
// (the same XML deployed after a linked form changed is a new version).
func DeployChecksum(xml []byte, g *Graph) string {
	fv := g.FormVersions()
	if len(fv) == 0 {
		return Checksum(xml)
	}
	return Checksum(append(append([]byte(nil), xml...), "\nforms: "+strings.Join(fv, " ")...))
}
