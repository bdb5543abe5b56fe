package service

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// Diagram is a request's flow as deployed (BPMN 2.0 XML, for the viewer)
// and where its tokens went: the nodes it completed, those active now and
// those stopped on an incident.
type Diagram struct {
	Flow    string   `json:"flow"`
	Version int      `json:"version"`
	BPMN    string   `json:"-"`
	Done    []string `json:"done"`
	Active  []string `json:"active"`
	Failed  []string `json:"failed"`
	// Names are the nodes' names by id (the timeline shows them).
	Names map[string]string `json:"-"`
}

// Name is the name of node id, or its id when it has none.
func (d Diagram) Name(id string) string {
	if n := d.Names[id]; n != "" {
		return n
	}
	return id
}

// RequestDiagram is the diagram of a request the caller may read, with its
// nodes marked from the request's live state (or the read model's when the
// workflow does not answer).
func (s *Service) RequestDiagram(ctx context.Context, c Caller, id string) (Diagram, error) {
	r, err := s.Request(ctx, c, id)
	if err != nil {
		return Diagram{}, err
	}
	v, err := s.store.FlowVersion(ctx, r.FlowKey, r.Version)
	if err != nil {
		return Diagram{}, err
	}
	d := Diagram{Flow: v.FlowKey, Version: v.Version, BPMN: v.BPMN, Names: map[string]string{}}
	d.Done, d.Active, d.Failed = NodeStates(r)
	var g designer.Graph
	if err := json.Unmarshal([]byte(v.Graph), &g); err == nil {
		for id, n := range g.Nodes {
			d.Names[id] = n.Name
		}
		if g.Start != "" && len(r.History) > 0 && !slices.Contains(d.Done, g.Start) {
			d.Done = append([]string{g.Start}, d.Done...)
		}
	}
	return d, nil
}

// NodeStates sorts a request's nodes: done (completed or fired at least
// once), active (a token is there now) and failed (an open incident). A
// node may be done and active again (a loop).
func NodeStates(r Request) (done, active, failed []string) {
	done, active, failed = []string{}, []string{}, []string{}
	add := func(list *[]string, id string) {
		if id != "" && !slices.Contains(*list, id) {
			*list = append(*list, id)
		}
	}
	for _, h := range r.History {
		switch h.Event {
		case "completed", "fired", "reached":
			add(&done, h.Node)
		}
	}
	for _, inc := range r.Incidents {
		add(&failed, inc.Node)
	}
	for _, n := range r.Current {
		if !slices.Contains(failed, n) {
			add(&active, n)
		}
	}
	if r.Status == workflows.StatusIncident && len(failed) == 0 {
		// The read model knows a step stopped, not which: the current nodes.
		for _, n := range r.Current {
			add(&failed, n)
		}
		active = active[:0]
	}
	return done, active, failed
}

// MayCancel reports whether the caller may cancel the request: who may
// cancel requests in its department, or the person who started it.
func (s *Service) MayCancel(ctx context.Context, c Caller, in store.Instance) bool {
	if c.Principal.Anonymous() {
		return false
	}
	if s.allowedIn(ctx, c, "instances", "cancel", in.Department) {
		return true
	}
	return in.StartedBy != "" && in.StartedBy == c.Principal.Username && s.allowedIn(ctx, c, "instances", "read", in.Department)
}
