package service

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/audit"
	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
)

// Deploying flows: the one path a BPMN file takes to become a version,
// whether it comes from POST /api/v1/flows, the browser designer or the
// demo seed. Compile (refusals name their element), embed the linked
// forms, store as a new immutable version (same checksum: the existing
// version), audit.

// CompileFlow compiles BPMN XML; a refusal is an Invalid error with one
// Problem per offending element (English Message, French Fr).
func CompileFlow(xml []byte) (*designer.Graph, error) {
	g, problems, err := designer.Compile(xml, designer.Options{})
	if err != nil {
		return nil, Errorf(Invalid, "the file is not a BPMN 2.0 process: %v", err).
			French("Le fichier n'est pas un processus BPMN 2.0 lisible : %v", err)
	}
	if len(problems) > 0 {
		e := Errorf(Invalid, "the flow cannot be deployed: %d problem(s)", len(problems)).
			French("Le processus ne peut pas être déployé : %s.", plural(len(problems), "problème", "problèmes"))
		for _, p := range problems {
			e.Problems = append(e.Problems, Problem{Element: p.ElementID, Message: p.Message, Fr: designer.ProblemFR(p.Message)})
		}
		return nil, e
	}
	return g, nil
}

func plural(n int, one, many string) string {
	if n <= 1 {
		return strconv.Itoa(n) + " " + one
	}
	return strconv.Itoa(n) + " " + many
}

// ResolveForms embeds in g the latest deployed version of every form its
// user tasks link by id; a form that is not deployed is Invalid, naming
// the tasks.
func ResolveForms(ctx context.Context, st *store.Store, g *designer.Graph) error {
	problems, err := g.ResolveForms(latestForm(ctx, st))
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		e := Errorf(Invalid, "the flow links forms that are not deployed: %d problem(s)", len(problems)).
			French("Le processus utilise des formulaires qui ne sont pas déployés : %s.", plural(len(problems), "problème", "problèmes"))
		for _, p := range problems {
			e.Problems = append(e.Problems, Problem{Element: p.ElementID, Message: p.Message, Fr: designer.ProblemFR(p.Message)})
		}
		return e
	}
	return nil
}

// StoreFlow stores a compiled flow as a new immutable version (or returns
// the existing version with the same checksum). The graph gets its key and
// version.
func StoreFlow(ctx context.Context, st *store.Store, xml []byte, g *designer.Graph, by string) (store.FlowVersion, bool, error) {
	graph, err := json.Marshal(g)
	if err != nil {
		return store.FlowVersion{}, false, err
	}
	v, created, err := st.DeployFlow(ctx, g.ID, g.Name, store.FlowVersion{Checksum: designer.DeployChecksum(xml, g), BPMN: string(xml), Graph: string(graph), DeployedBy: by})
	if err == nil {
		g.Key, g.Version = v.FlowKey, v.Version
	}
	return v, created, err
}

// DeployFlowInput is a flow to deploy.
type DeployFlowInput struct {
	XML []byte
	// Comment says what changed (recorded in the audit entry).
	Comment string
	// BeforeStore, when set, runs on the compiled graph before it is
	// stored (the API checks the schedule parameters of timer-started
	// flows there); its error stops the deployment.
	BeforeStore func(*designer.Graph) error
	// Source names the face ("api", "designer") in the audit entry.
	Source string
}

// DeployedFlow is the outcome of DeployFlow.
type DeployedFlow struct {
	Version store.FlowVersion
	// Created is false when the same flow was already deployed (same checksum).
	Created bool
	Graph   *designer.Graph
	// Warnings are the lint rules' warnings (errors refuse the deployment).
	Warnings []LintWarning
}

// MaxCommentLen bounds a deployment comment.
const MaxCommentLen = 500

// DeployFlow compiles, checks and stores a flow as its next version. The
// route table has already checked the caller's right (flows deploy).
func (s *Service) DeployFlow(ctx context.Context, c Caller, in DeployFlowInput) (DeployedFlow, error) {
	if len(in.XML) == 0 {
		return DeployedFlow{}, Errorf(BadRequest, "the request body is empty: send the BPMN XML").French("Le schéma est vide.")
	}
	if len(in.XML) > designer.MaxXMLSize {
		return DeployedFlow{}, Errorf(TooLarge, "the BPMN file is too large (at most 5 MiB)").French("Le fichier BPMN est trop gros (5 Mio au plus).")
	}
	comment := strings.TrimSpace(in.Comment)
	if len([]rune(comment)) > MaxCommentLen {
		return DeployedFlow{}, Errorf(Invalid, "the comment is longer than %d characters", MaxCommentLen).
			French("Le commentaire dépasse %d caractères.", MaxCommentLen)
	}
	g, err := CompileFlow(in.XML)
	if err != nil {
		return DeployedFlow{}, err
	}
	if err := ResolveForms(ctx, s.store, g); err != nil {
		return DeployedFlow{}, err
	}
	// The designer's lint rules, the same in the browser and in
	// `civicflow flow validate`: errors refuse, warnings are returned.
	lint, err := LintFlow(ctx, s.store, in.XML)
	if err != nil {
		return DeployedFlow{}, err
	}
	if err := LintRefusal(lint); err != nil {
		return DeployedFlow{}, err
	}
	if in.BeforeStore != nil {
		if err := in.BeforeStore(g); err != nil {
			return DeployedFlow{}, err
		}
	}
	v, created, err := StoreFlow(ctx, s.store, in.XML, g, c.Principal.Name())
	if err != nil {
		return DeployedFlow{}, err
	}
	detail := map[string]any{"checksum": v.Checksum, "new": created}
	if comment != "" {
		detail["comment"] = comment
	}
	if in.Source != "" {
		detail["source"] = in.Source
	}
	s.audit(ctx, c, audit.Entry{Action: "flow.deploy", ObjectType: "flow", ObjectID: v.FlowKey + "@" + strconv.Itoa(v.Version), Detail: audit.Detail(detail)})
	return DeployedFlow{Version: v, Created: created, Graph: g, Warnings: LintWarnings(lint)}, nil
}

// FlowSummary is a flow in the designer's list.
type FlowSummary struct {
	Flow   store.Flow
	Latest store.FlowVersion // without XML
	// Open is the number of instances not ended, all versions.
	Open int
}

// DesignerFlows lists the deployed flows (latest version, who deployed it
// and when, open instances) and the deployed forms.
func (s *Service) DesignerFlows(ctx context.Context) ([]FlowSummary, []store.Form, error) {
	fs, err := s.store.Flows(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]FlowSummary, 0, len(fs))
	for _, f := range fs {
		sum := FlowSummary{Flow: f}
		vs, err := s.store.FlowVersions(ctx, f.Key)
		if err != nil {
			return nil, nil, err
		}
		if len(vs) > 0 {
			sum.Latest = vs[0]
		}
		open, err := s.store.OpenInstancesPerVersion(ctx, f.Key)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range open {
			sum.Open += n
		}
		out = append(out, sum)
	}
	forms, err := s.store.Forms(ctx)
	if err != nil {
		return nil, nil, err
	}
	return out, forms, nil
}

// VersionSummary is a version in a flow's history.
type VersionSummary struct {
	store.FlowVersion
	Open    int    // instances not ended on this version
	Comment string // given at deployment (audit log)
}

// FlowHistory is a flow and its versions, newest first.
func (s *Service) FlowHistory(ctx context.Context, key string) (store.Flow, []VersionSummary, error) {
	f, err := s.store.Flow(ctx, key)
	if err != nil {
		return f, nil, err
	}
	vs, err := s.store.FlowVersions(ctx, key)
	if err != nil {
		return f, nil, err
	}
	open, err := s.store.OpenInstancesPerVersion(ctx, key)
	if err != nil {
		return f, nil, err
	}
	comments, err := s.store.FlowDeployComments(ctx, key)
	if err != nil {
		return f, nil, err
	}
	out := make([]VersionSummary, 0, len(vs))
	for _, v := range vs {
		out = append(out, VersionSummary{FlowVersion: v, Open: open[v.Version], Comment: comments[v.Version]})
	}
	return f, out, nil
}

// FlowVersionXML is one version with its BPMN (0: the latest).
func (s *Service) FlowVersionXML(ctx context.Context, key string, version int) (store.FlowVersion, error) {
	return s.store.FlowVersion(ctx, key, version)
}

// TemplateOptions are the choices the designer's element templates offer:
// the roles, the departments, the deployed forms and the mail templates.
func (s *Service) TemplateOptions(ctx context.Context, mailTemplates []string) (designer.TemplateOptions, error) {
	o := designer.TemplateOptions{Roles: []string{auth.RoleAgent, auth.RoleSteward, auth.RoleApprover}, MailTemplates: mailTemplates}
	ds, err := s.store.Departments(ctx)
	if err != nil {
		return o, err
	}
	for _, d := range ds {
		o.Departments = append(o.Departments, d.Slug)
	}
	forms, err := s.store.Forms(ctx)
	if err != nil {
		return o, err
	}
	for _, f := range forms {
		name := f.ID
		if f.Name != "" {
			name = f.Name + " (" + f.ID + ")"
		}
		o.Forms = append(o.Forms, designer.Choice{Name: name, Value: f.ID})
	}
	return o, nil
}

// latestForm reads the latest deployed version of a form by id (nil when
// it is not deployed), for the compiler and the lint rules.
func latestForm(ctx context.Context, st *store.Store) func(id string) (*designer.Form, error) {
	return func(id string) (*designer.Form, error) {
		v, err := st.FormVersion(ctx, id, 0)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		f, err := designer.ParseForm(v.Schema)
		if err != nil {
			return nil, err
		}
		f.Version = v.Version
		return f, nil
	}
}
