package service

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/store"
)

// FormDeployment is a deployed form version and the fields it declares.
type FormDeployment struct {
	Form    store.Form
	Created bool
	Fields  []designer.FormField
}

// DeployForm stores a form-js document (a Camunda Modeler .form file, or
// what the designer's form editor saves) as the next immutable version of
// its form; the same document again gives back its version (Created
// false). The id is the document's "id", or id when given (to name a
// document that has none, or to rename it). It needs the right to deploy
// flows: forms are part of flow design. The JSON API (POST /api/v1/forms)
// and the form editor page (POST /designer/forms/{id}) both call it.
func (s *Service) DeployForm(ctx context.Context, c Caller, body []byte, id string) (FormDeployment, error) {
	if s.auth != nil && len(s.auth.Departments(ctx, c.Principal, "flows", "deploy")) == 0 {
		return FormDeployment{}, Errorf(Forbidden, "you are not allowed to deploy forms").
			French("Vous n'avez pas le droit de déployer des formulaires.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return FormDeployment{}, Errorf(BadRequest, "the request body is empty: send the form-js JSON (a .form file)").
			French("Le formulaire est vide.")
	}
	var doc struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		VersionTag string          `json:"versionTag"`
		Components json.RawMessage `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return FormDeployment{}, Errorf(Invalid, "the form is not a form-js JSON object: %v", err).
			French("Le formulaire n'est pas un document form-js lisible.")
	}
	if len(doc.Components) == 0 || doc.Components[0] != '[' {
		e := Errorf(Invalid, "the form has no components: a form-js document has a \"components\" list").
			French("Le formulaire n'a pas de composants.")
		e.Problems = []Problem{{Field: "components", Message: "a list of form-js components is expected", Fr: "une liste de composants form-js est attendue"}}
		return FormDeployment{}, e
	}
	f, err := designer.ParseForm(body)
	if err != nil {
		return FormDeployment{}, Errorf(Invalid, "%v", err).French("Le formulaire est refusé : %v", err)
	}
	if id == "" {
		id = doc.ID
	}
	if id == "" {
		e := Errorf(Invalid, `the form has no "id": add one to the file or give ?id=`).
			French("Le formulaire n'a pas d'identifiant.")
		e.Problems = []Problem{{Field: "id", Message: "required", Fr: "obligatoire"}}
		return FormDeployment{}, e
	}
	if !designer.FormIDPattern.MatchString(id) {
		e := Errorf(Invalid, "form id %s is not valid", strconv.Quote(id)).
			French("L'identifiant %s n'est pas valide : une lettre ou _, puis lettres, chiffres, _ . ou -, 128 caractères au plus.", strconv.Quote(id))
		e.Problems = []Problem{{Field: "id", Message: "a letter or _, then letters, digits, _ . or -, at most 128 characters"}}
		return FormDeployment{}, e
	}
	v, created, err := s.store.DeployForm(ctx, store.Form{ID: id, Checksum: designer.Checksum(f.Schema),
		Name: doc.Name, VersionTag: doc.VersionTag, Schema: store.JSONText(f.Schema), DeployedBy: c.Principal.Name()})
	if err != nil {
		return FormDeployment{}, err
	}
	s.audit(ctx, c, audit.Entry{Action: "form.deploy", ObjectType: "form", ObjectID: v.ID + "@" + strconv.Itoa(v.Version),
		Detail: audit.Detail(map[string]any{"checksum": v.Checksum, "new": created})})
	return FormDeployment{Form: v, Created: created, Fields: f.Fields}, nil
}
