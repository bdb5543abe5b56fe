package designer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
)

// Node kinds of a compiled Graph.
const (
	KindStart     = "startEvent"
	KindEnd       = "endEvent"
	KindUserTask  = "userTask"
	KindService   = "serviceTask"
	KindExclusive = "exclusiveGateway"
	KindParallel  = "parallelGateway"
	KindTimer     = "intermediateTimer"
	KindBoundary  = "boundaryTimer"
	KindSub       = "subProcess"
)

// Timer kinds, after BPMN's timeDate / timeDuration / timeCycle.
const (
	TimerDate     = "date"
	TimerDuration = "duration"
	TimerCycle    = "cycle"
)

// Graph is a compiled flow: what the interpreter workflow receives as input.
// Node ids are the BPMN element ids, unique across the whole graph, nested
// sub-processes included. It is plain data: JSON-serialisable, stable tags.
type Graph struct {
	// ID is the BPMN process id; Name its name.
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Key and Version are left to the caller (deploy); Checksum is the sha256
	// of the XML the graph was compiled from.
	Key      string `json:"key,omitempty"`
	Version  int    `json:"version,omitempty"`
	Checksum string `json:"checksum,omitempty"`
	// Start is the none start event ("" when only timer starts exist).
	Start string `json:"start,omitempty"`
	// TimerStarts lists timer start events, in document order.
	TimerStarts []string `json:"timerStarts,omitempty"`
	// Nodes by id.
	Nodes map[string]*Node `json:"nodes"`
}

// Node is one flow element.
type Node struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	// Outgoing flows in document order.
	Outgoing []Flow `json:"outgoing,omitempty"`
	// Incoming is the number of incoming sequence flows (joins wait for all of
	// them on a parallel gateway).
	Incoming int `json:"incoming,omitempty"`
	// Terminate marks a terminate end event.
	Terminate bool `json:"terminate,omitempty"`
	// Timer for timer start, intermediate and boundary events.
	Timer *Timer `json:"timer,omitempty"`
	// Boundary timer events attached to this user task, by id.
	Boundaries []string `json:"boundaries,omitempty"`
	// For a boundary event: the task it is attached to and whether it cancels it.
	AttachedTo   string       `json:"attachedTo,omitempty"`
	Interrupting bool         `json:"interrupting,omitempty"`
	User         *UserTask    `json:"user,omitempty"`
	Service      *ServiceTask `json:"service,omitempty"`
	Sub          *Graph       `json:"sub,omitempty"`
}

// Flow is a sequence flow leaving a node.
type Flow struct {
	ID     string `json:"id"`
	Target string `json:"target"`
	Name   string `json:"name,omitempty"`
	// Condition is an expr-lang expression (FEEL already translated).
	Condition string `json:"condition,omitempty"`
	Default   bool   `json:"default,omitempty"`
}

// Timer is an ISO 8601 timer definition, already validated.
type Timer struct {
	Type  string `json:"type"`  // date, duration or cycle
	Value string `json:"value"` // e.g. "P5D", "R3/PT1H", "2026-01-01T00:00:00Z"
}

// Candidate is a candidate group: Role in Department. An empty Department
// means the instance's department; "*" means every department.
type Candidate struct {
	Role       string `json:"role"`
	Department string `json:"department,omitempty"`
}

// UserTask configures a human task.
type UserTask struct {
	Candidates     []Candidate `json:"candidates,omitempty"`
	CandidateUsers []string    `json:"candidateUsers,omitempty"`
	Assignee       string      `json:"assignee,omitempty"`
	// Department overrides the instance's department for role candidates.
	Department string `json:"department,omitempty"`
	Form       *Form  `json:"form,omitempty"`
	// Due is an ISO 8601 duration from activation; DueDate a fixed date.
	Due      string `json:"due,omitempty"`
	DueDate  string `json:"dueDate,omitempty"`
	FollowUp string `json:"followUp,omitempty"`
	// FourEyes lists partners whose completer must differ from this task's:
	// "initiator" (the instance starter) or user task ids (their last completer).
	FourEyes []string  `json:"fourEyes,omitempty"`
	Inputs   []Mapping `json:"inputs,omitempty"`
	Outputs  []Mapping `json:"outputs,omitempty"`
}

// ServiceTask configures an activity call.
type ServiceTask struct {
	Activity string            `json:"activity"`
	Params   map[string]string `json:"params,omitempty"`
	Retries  int               `json:"retries,omitempty"` // 0 = default
	Inputs   []Mapping         `json:"inputs,omitempty"`
	Outputs  []Mapping         `json:"outputs,omitempty"`
}

// Mapping copies the value of Source (an expr expression) into Target (a
// variable name or dotted path).
type Mapping struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// Problem is one reason a flow is refused, tied to a BPMN element.
type Problem struct {
	ElementID string `json:"elementId"`
	Message   string `json:"message"`
}

func (p Problem) String() string {
	if p.ElementID == "" {
		return p.Message
	}
	return p.ElementID + ": " + p.Message
}

// Checksum returns the hex sha256 of a BPMN document.
func Checksum(xml []byte) string {
	s := sha256.Sum256(xml)
	return hex.EncodeToString(s[:])
}

// NodeIDs returns the node ids of g (not nested), sorted.
func (g *Graph) NodeIDs() []string {
	ids := make([]string, 0, len(g.Nodes))
	for id := range g.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Index returns every node of g and of its nested sub-processes by id, with
// the graph that holds it.
func (g *Graph) Index() map[string]Located {
	idx := map[string]Located{}
	var walk func(*Graph)
	walk = func(gr *Graph) {
		for _, id := range gr.NodeIDs() {
			n := gr.Nodes[id]
			idx[id] = Located{Node: n, Graph: gr}
			if n.Sub != nil {
				walk(n.Sub)
			}
		}
	}
	walk(g)
	return idx
}

// Located is a node with the graph (scope) holding it.
type Located struct {
	Node  *Node
	Graph *Graph
}

// JSON returns the compact JSON encoding of g.
func (g *Graph) JSON() ([]byte, error) { return json.Marshal(g) }
