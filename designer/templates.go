package designer

import "strings"

// Element templates (Camunda 8 / zeebe format) generated from the
// catalogue, for the browser designer (camunda-bpmn-js's properties
// panel). A service task template binds the activity to
// zeebe:taskDefinition type and each param to a zeebe:taskHeader, both of
// which the compiler reads; the user task template binds the candidate
// group to zeebe:assignmentDefinition, the form to zeebe:formDefinition
// formId and the civicflow attributes to properties.

// ElementTemplateSchema is the JSON schema the templates follow.
const ElementTemplateSchema = "https://unpkg.com/@camunda/zeebe-element-templates-json-schema/resources/schema.json"

// TemplateOptions are the choices offered in the templates: the real
// candidate groups, forms and mail templates of the installation.
type TemplateOptions struct {
	Roles         []string // role names
	Departments   []string // department ids: role@department groups are offered too
	Forms         []Choice // deployed forms (value = form id)
	MailTemplates []string // civicflow.notify's templates
}

// Choice is a dropdown entry.
type Choice struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ElementTemplate is one template (the subset of the format we use).
type ElementTemplate struct {
	Schema      string           `json:"$schema"`
	Name        string           `json:"name"`
	ID          string           `json:"id"`
	Version     int              `json:"version"`
	Description string           `json:"description,omitempty"`
	Category    *TemplateGroup   `json:"category,omitempty"`
	AppliesTo   []string         `json:"appliesTo"`
	ElementType *TemplateElType  `json:"elementType,omitempty"`
	Groups      []TemplateGroup  `json:"groups,omitempty"`
	Properties  []TemplateProp   `json:"properties"`
	Keywords    []string         `json:"keywords,omitempty"`
	Metadata    *TemplateMetadat `json:"metadata,omitempty"`
}

// TemplateMetadat carries civicflow's own data (ignored by the modeler).
type TemplateMetadat struct {
	Activity string   `json:"activity,omitempty"`
	Kind     string   `json:"kind,omitempty"`
	Required []string `json:"required,omitempty"`
}

// TemplateGroup is a group (or the category) of a template.
type TemplateGroup struct {
	ID    string `json:"id"`
	Label string `json:"label,omitempty"`
	Name  string `json:"name,omitempty"`
}

// TemplateElType is the element a template creates.
type TemplateElType struct {
	Value string `json:"value"`
}

// TemplateProp is a property of a template.
type TemplateProp struct {
	ID          string           `json:"id,omitempty"`
	Label       string           `json:"label,omitempty"`
	Description string           `json:"description,omitempty"`
	Type        string           `json:"type"`
	Value       string           `json:"value,omitempty"`
	Group       string           `json:"group,omitempty"`
	Editable    *bool            `json:"editable,omitempty"`
	Choices     []Choice         `json:"choices,omitempty"`
	Binding     TemplateBinding  `json:"binding"`
	Constraints *TemplateConstrs `json:"constraints,omitempty"`
}

// TemplateBinding says where a property's value goes in the XML.
type TemplateBinding struct {
	Type     string `json:"type"`
	Name     string `json:"name,omitempty"`
	Property string `json:"property,omitempty"`
	Key      string `json:"key,omitempty"`
}

// TemplateConstrs are a property's constraints.
type TemplateConstrs struct {
	NotEmpty bool             `json:"notEmpty,omitempty"`
	Pattern  *TemplatePattern `json:"pattern,omitempty"`
}

// TemplatePattern is a regular expression constraint with its message.
type TemplatePattern struct {
	Value   string `json:"value"`
	Message string `json:"message"`
}

// TemplateID is the element template id of an activity or task kind.
func TemplateID(name string) string { return "fr.civicflow." + strings.TrimPrefix(name, "civicflow.") }

var category = &TemplateGroup{ID: "civicflow", Name: "civicflow"}

// ElementTemplates returns one template per activity of KnownActivities
// (described by Activities) and per task kind.
func ElementTemplates(o TemplateOptions) []ElementTemplate {
	var out []ElementTemplate
	for _, name := range KnownActivities {
		a, ok := ActivityInfoOf(name)
		if !ok {
			continue // TestEveryActivityHasATemplate fails
		}
		t := ElementTemplate{Schema: ElementTemplateSchema, Name: a.Label, ID: TemplateID(a.Name), Version: 1,
			Description: a.Help, Category: category, AppliesTo: []string{"bpmn:Task", "bpmn:ServiceTask"},
			ElementType: &TemplateElType{Value: "bpmn:ServiceTask"},
			Keywords:    []string{a.Name}, Metadata: &TemplateMetadat{Activity: a.Name}}
		t.Properties = append(t.Properties, TemplateProp{Type: "Hidden", Value: a.Name,
			Binding: TemplateBinding{Type: "zeebe:taskDefinition", Property: "type"}})
		if len(a.Params) > 0 {
			t.Groups = []TemplateGroup{{ID: "params", Label: "Paramètres"}}
		}
		for _, p := range a.Params {
			prop := TemplateProp{ID: p.Name, Label: p.Label, Description: p.Help, Type: "String", Value: p.Default, Group: "params",
				Binding: TemplateBinding{Type: "zeebe:taskHeader", Key: p.Name}}
			var choices []string
			switch p.Type {
			case ParamBoolean:
				choices = []string{"true", "false"}
			case ParamChoice:
				choices = p.Choices
				if p.Name == "template" && a.Name == "civicflow.notify" && len(o.MailTemplates) > 0 {
					choices = o.MailTemplates
				}
			case ParamJSON:
				prop.Type = "Text"
			case ParamURL:
				prop.Constraints = &TemplateConstrs{Pattern: &TemplatePattern{Value: `^(https?://.+)?$`, Message: "Une adresse http:// ou https:// est attendue."}}
			case ParamDuration:
				prop.Constraints = &TemplateConstrs{Pattern: &TemplatePattern{Value: `^([0-9]+(ms|s|m|h))*$`, Message: "Une durée comme 30s ou 2m est attendue."}}
			case ParamNumber:
				prop.Constraints = &TemplateConstrs{Pattern: &TemplatePattern{Value: `^([0-9]+(\.[0-9]+)?)?$`, Message: "Un nombre est attendu (par exemple 0.9)."}}
			}
			if len(choices) > 0 {
				prop.Type = "Dropdown"
				for _, c := range choices {
					prop.Choices = append(prop.Choices, Choice{Name: c, Value: c})
				}
				if prop.Value == "" {
					prop.Value = choices[0]
				}
			}
			if p.Required {
				if prop.Constraints == nil {
					prop.Constraints = &TemplateConstrs{}
				}
				prop.Constraints.NotEmpty = true
				prop.Label += " (obligatoire)"
				t.Metadata.Required = append(t.Metadata.Required, p.Name)
			}
			t.Properties = append(t.Properties, prop)
		}
		out = append(out, t)
	}
	for _, k := range TaskKinds {
		if k.Kind == KindUserTask {
			out = append(out, userTaskTemplate(k, o))
		}
	}
	return out
}

// CandidateGroups are the groups offered: each role, then role@department.
func CandidateGroups(o TemplateOptions) []string {
	var out []string
	out = append(out, o.Roles...)
	for _, r := range o.Roles {
		for _, d := range o.Departments {
			out = append(out, r+"@"+d)
		}
	}
	return out
}

func userTaskTemplate(k TaskKind, o TemplateOptions) ElementTemplate {
	t := ElementTemplate{Schema: ElementTemplateSchema, Name: k.Label, ID: TemplateID("usertask"), Version: 1,
		Description: k.Help, Category: category, AppliesTo: []string{"bpmn:Task", "bpmn:UserTask"},
		ElementType: &TemplateElType{Value: "bpmn:UserTask"}, Metadata: &TemplateMetadat{Kind: k.Kind, Required: []string{"candidateGroups"}},
		Groups: []TemplateGroup{{ID: "assignment", Label: "Attribution"}, {ID: "form", Label: "Formulaire"}, {ID: "rules", Label: "Délai et contrôle"}}}
	var groups []Choice
	for _, g := range CandidateGroups(o) {
		groups = append(groups, Choice{Name: g, Value: g})
	}
	cg := TemplateProp{ID: "candidateGroups", Label: "Groupe candidat (obligatoire)", Group: "assignment",
		Description: "Le rôle (éventuellement rôle@direction) des personnes à qui la tâche est proposée.",
		Type:        "String", Binding: TemplateBinding{Type: "zeebe:assignmentDefinition", Property: "candidateGroups"},
		Constraints: &TemplateConstrs{NotEmpty: true}}
	if len(groups) > 0 {
		cg.Type, cg.Choices, cg.Value = "Dropdown", groups, groups[0].Value
	}
	// The element template schema requires zeebe:userTask beside
	// zeebe:assignmentDefinition (a Camunda 8 user task); the compiler
	// ignores it.
	t.Properties = append(t.Properties, TemplateProp{Type: "Hidden", Binding: TemplateBinding{Type: "zeebe:userTask"}}, cg)
	form := TemplateProp{ID: "formId", Label: "Formulaire déployé", Group: "form",
		Description: "Le formulaire que la personne remplit (déployé depuis le concepteur de formulaires ou POST /api/v1/forms).",
		Type:        "String", Binding: TemplateBinding{Type: "zeebe:formDefinition", Property: "formId"}}
	if len(o.Forms) > 0 {
		form.Type, form.Choices, form.Value = "Dropdown", o.Forms, o.Forms[0].Value
	}
	t.Properties = append(t.Properties, form,
		TemplateProp{ID: "due", Label: "Délai", Group: "rules", Type: "String",
			Description: "Durée ISO 8601 pour traiter la tâche, par exemple P5D (5 jours) ou PT4H (4 heures).",
			Binding:     TemplateBinding{Type: "property", Name: "civicflow:due"},
			Constraints: &TemplateConstrs{Pattern: &TemplatePattern{Value: `^(P[0-9YMWDTHS.]+)?$`, Message: "Une durée ISO 8601 est attendue (P5D, PT4H…)."}}},
		TemplateProp{ID: "fourEyes", Label: "Quatre yeux", Group: "rules", Type: "String",
			Description: "« initiator » et/ou des identifiants de tâches : la personne qui les a faites ne peut pas traiter celle-ci.",
			Binding:     TemplateBinding{Type: "property", Name: "civicflow:fourEyes"}})
	return t
}
