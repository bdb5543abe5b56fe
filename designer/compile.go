package designer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// KnownActivities are the activity names the product registers. Service tasks
// naming anything else are refused unless Options say otherwise.
var KnownActivities = []string{
	"civicflow.ingest", "civicflow.validate", "civicflow.harmonise", "civicflow.deduplicate",
	"civicflow.anonymise", "civicflow.release", "civicflow.publish", "civicflow.expose",
	"civicflow.notify", "civicflow.http", "civicflow.noop", "civicflow.collect",
	"civicflow.datagouv", "civicflow.withdraw",
}

// Options tune Compile.
type Options struct {
	// Activities are the accepted activity names; nil means KnownActivities.
	Activities []string
	// AnyActivity accepts any activity name (to check a foreign file's shape).
	AnyActivity bool
	// ProcessID picks the process to compile in a file holding several.
	ProcessID string
}

// Document is a parsed BPMN file, ready to compile.
type Document struct {
	root     *element
	checksum string
}

// Processes returns the ids of the processes in the file, in document order.
func (d *Document) Processes() []string {
	var ids []string
	for _, p := range d.root.children(NSBPMN, "process") {
		ids = append(ids, p.battr("id"))
	}
	return ids
}

// Parse reads BPMN 2.0 XML safely: size, depth and token limits, no DTD and
// no entities. It fails on anything that is not well-formed BPMN XML.
func Parse(xml []byte) (*Document, error) {
	root, err := parseXML(xml)
	if err != nil {
		return nil, err
	}
	return &Document{root: root, checksum: Checksum(xml)}, nil
}

// Compile parses, validates and compiles a BPMN file. The error is for files
// that are not BPMN XML at all; problems list every element-level reason to
// refuse the flow, in which case the graph is nil.
func Compile(xml []byte, opts Options) (*Graph, []Problem, error) {
	doc, err := Parse(xml)
	if err != nil {
		return nil, nil, err
	}
	g, problems := doc.Compile(opts)
	return g, problems, nil
}

// Validate returns the problems of a BPMN file (nil when it compiles).
func Validate(xml []byte, opts Options) ([]Problem, error) {
	_, problems, err := Compile(xml, opts)
	return problems, err
}

// Compile compiles the document.
func (d *Document) Compile(opts Options) (*Graph, []Problem) {
	c := &compiler{opts: opts, known: map[string]bool{}, ids: map[string]bool{},
		userTasks: map[string]bool{}, forms: map[string]*element{}}
	acts := opts.Activities
	if acts == nil {
		acts = KnownActivities
	}
	for _, a := range acts {
		c.known[a] = true
	}
	proc := c.pickProcess(d.root)
	if proc == nil {
		return nil, c.problems
	}
	for _, f := range proc.ext(NSZeebe, "userTaskForm") {
		c.forms[f.battr("id")] = f
	}
	g := c.scope(proc, false)
	for _, fe := range c.fourEyes {
		for _, p := range fe.partners {
			if p != "initiator" && !c.userTasks[p] {
				c.add(fe.task, "civicflow:fourEyes names %q, which is neither \"initiator\" nor a user task id", p)
			}
		}
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	g.Checksum = d.checksum
	return g, nil
}

type compiler struct {
	opts      Options
	known     map[string]bool
	problems  []Problem
	ids       map[string]bool
	userTasks map[string]bool
	forms     map[string]*element
	fourEyes  []struct {
		task     string
		partners []string
	}
}

func (c *compiler) add(id, format string, args ...any) {
	c.problems = append(c.problems, Problem{ElementID: id, Message: fmt.Sprintf(format, args...)})
}

func (c *compiler) pickProcess(root *element) *element {
	procs := root.children(NSBPMN, "process")
	defID := root.battr("id")
	if len(procs) == 0 {
		c.add(defID, "no process in the file")
		return nil
	}
	if c.opts.ProcessID != "" {
		for _, p := range procs {
			if p.battr("id") == c.opts.ProcessID {
				return p
			}
		}
		c.add(defID, "no process with id %q", c.opts.ProcessID)
		return nil
	}
	if len(procs) == 1 {
		return procs[0]
	}
	var exec []*element
	var ids []string
	for _, p := range procs {
		ids = append(ids, p.battr("id"))
		if p.battr("isExecutable") == "true" {
			exec = append(exec, p)
		}
	}
	if len(exec) == 1 {
		return exec[0]
	}
	c.add(defID, "the file holds %d processes (%s): mark exactly one isExecutable=\"true\"", len(procs), strings.Join(ids, ", "))
	return nil
}

// ignored BPMN elements inside a process: diagram information, data, docs.
var ignored = map[string]bool{
	"laneSet": true, "textAnnotation": true, "association": true, "dataObject": true,
	"dataObjectReference": true, "dataStoreReference": true, "group": true, "documentation": true,
	"extensionElements": true, "ioSpecification": true, "property": true, "category": true,
	"incoming": true, "outgoing": true, "auditing": true, "monitoring": true,
	"multiInstanceLoopCharacteristics": true, "standardLoopCharacteristics": true,
	"dataInputAssociation": true, "dataOutputAssociation": true, "performer": true,
	"humanPerformer": true, "potentialOwner": true, "resourceRole": true,
}

// refusedReason explains elements outside the subset.
var refusedReason = map[string]string{
	"task":                   "untyped task: make it a service task (activity civicflow.noop for a placeholder) or a user task",
	"scriptTask":             "script tasks are not supported: run the logic in an activity (service task)",
	"sendTask":               "send tasks are not supported: use a service task with civicflow.notify",
	"receiveTask":            "receive tasks (messages) are not supported",
	"businessRuleTask":       "business rule tasks (DMN) are not supported",
	"manualTask":             "manual tasks are not supported: use a user task",
	"callActivity":           "call activities are not supported: embed the steps in a sub-process",
	"inclusiveGateway":       "inclusive gateways are not supported: use exclusive or parallel gateways",
	"eventBasedGateway":      "event-based gateways are not supported",
	"complexGateway":         "complex gateways are not supported",
	"intermediateThrowEvent": "intermediate throw events are not supported",
	"transaction":            "transaction sub-processes are not supported",
	"adHocSubProcess":        "ad-hoc sub-processes are not supported",
	"eventSubProcess":        "event sub-processes are not supported",
}

func (c *compiler) scope(el *element, isSub bool) *Graph {
	g := &Graph{ID: el.battr("id"), Name: el.battr("name"), Nodes: map[string]*Node{}}
	var (
		order      []string
		refused    = map[string]bool{}
		pseudo     = map[string][]string{} // adjacency through refused elements
		skipFlow   = map[string]bool{}     // flows already reported or touching refused elements
		flows      []*element
		boundaries []*Node
		noneStarts []string
	)
	for _, ch := range el.Children {
		if ch.Space != NSBPMN || ignored[ch.Local] {
			continue
		}
		id := ch.battr("id")
		if ch.Local == "sequenceFlow" {
			c.checkID(ch, id)
			flows = append(flows, ch)
			continue
		}
		if reason, bad := refusedReason[ch.Local]; bad {
			c.checkID(ch, id)
			c.add(id, "%s", reason)
			refused[id] = true
			continue
		}
		if ch.Local == "subProcess" && ch.battr("triggeredByEvent") == "true" {
			c.checkID(ch, id)
			c.add(id, "%s", refusedReason["eventSubProcess"])
			refused[id] = true
			continue
		}
		n := &Node{ID: id, Name: ch.battr("name")}
		if !c.checkID(ch, id) {
			continue
		}
		c.checkLoop(ch, id)
		switch ch.Local {
		case "startEvent":
			n.Kind = KindStart
			def, kind := eventDefinition(ch)
			switch kind {
			case "":
				noneStarts = append(noneStarts, id)
			case "timer":
				if isSub {
					c.add(id, "a sub-process starts with a none start event, not a timer")
				}
				n.Timer = c.timer(id, def, true)
				g.TimerStarts = append(g.TimerStarts, id)
			default:
				c.add(id, "%s start events are not supported (none or timer only)", kind)
				refused[id] = true
				continue
			}
		case "endEvent":
			n.Kind = KindEnd
			_, kind := eventDefinition(ch)
			switch kind {
			case "":
			case "terminate":
				n.Terminate = true
			default:
				c.add(id, "%s end events are not supported (none or terminate only)", kind)
				refused[id] = true
				continue
			}
		case "userTask":
			n.Kind = KindUserTask
			n.User = c.userTask(ch, id)
			c.userTasks[id] = true
		case "serviceTask":
			n.Kind = KindService
			n.Service = c.serviceTask(ch, id)
		case "exclusiveGateway":
			n.Kind = KindExclusive
		case "parallelGateway":
			n.Kind = KindParallel
		case "intermediateCatchEvent":
			n.Kind = KindTimer
			def, kind := eventDefinition(ch)
			if kind != "timer" {
				if kind == "" {
					kind = "untyped"
				}
				c.add(id, "%s intermediate catch events are not supported (timer only)", kind)
				refused[id] = true
				continue
			}
			n.Timer = c.timer(id, def, false)
		case "boundaryEvent":
			n.Kind = KindBoundary
			n.AttachedTo = ch.battr("attachedToRef")
			n.Interrupting = ch.battr("cancelActivity") != "false"
			def, kind := eventDefinition(ch)
			if kind != "timer" {
				if kind == "" {
					kind = "untyped"
				}
				c.add(id, "%s boundary events are not supported (timer on a user task only)", kind)
				refused[id] = true
				pseudo[n.AttachedTo] = append(pseudo[n.AttachedTo], id)
				continue
			}
			n.Timer = c.timer(id, def, true)
			boundaries = append(boundaries, n)
		case "subProcess":
			n.Kind = KindSub
			n.Sub = c.scope(ch, true)
		default:
			c.add(id, "element %s is not supported", ch.Local)
			refused[id] = true
			continue
		}
		g.Nodes[id] = n
		order = append(order, id)
	}

	for _, b := range boundaries {
		host := g.Nodes[b.AttachedTo]
		switch {
		case b.AttachedTo == "":
			c.add(b.ID, "boundary event without attachedToRef")
		case refused[b.AttachedTo]:
			pseudo[b.AttachedTo] = append(pseudo[b.AttachedTo], b.ID)
		case host == nil:
			c.add(b.ID, "boundary event attached to %q, which is not a supported element of this (sub-)process", b.AttachedTo)
		case host.Kind != KindUserTask:
			refused[b.ID] = true
			pseudo[b.AttachedTo] = append(pseudo[b.AttachedTo], b.ID)
			delete(g.Nodes, b.ID)
			c.add(b.ID, "timer boundary events are supported on user tasks only (attached to %s %q)", host.Kind, host.ID)
		default:
			host.Boundaries = append(host.Boundaries, b.ID)
		}
	}

	// Sequence flows.
	defaults := map[string]string{} // gateway id → default flow id
	for _, id := range order {
		if d := nodeDefault(el, id); d != "" {
			defaults[id] = d
		}
	}
	for _, f := range flows {
		id, src, dst := f.battr("id"), f.battr("sourceRef"), f.battr("targetRef")
		sn, tn := g.Nodes[src], g.Nodes[dst]
		if refused[src] || refused[dst] {
			pseudo[src] = append(pseudo[src], dst)
			skipFlow[id] = true
			continue
		}
		if sn == nil || tn == nil {
			missing := src
			if sn != nil {
				missing = dst
			}
			if c.ids[missing] {
				c.add(id, "sequence flow from %q to %q crosses a sub-process boundary or touches an unsupported element", src, dst)
			} else {
				c.add(id, "sequence flow refers to unknown element %q", missing)
			}
			continue
		}
		fl := Flow{ID: id, Target: dst, Name: f.battr("name")}
		if defaults[src] == id {
			fl.Default = true
		}
		if ce := f.child(NSBPMN, "conditionExpression"); ce != nil && !fl.Default {
			text := strings.TrimSpace(ce.Text)
			if sn.Kind != KindExclusive {
				c.add(id, "conditions are only supported on flows leaving an exclusive gateway (this one leaves %s %q)", sn.Kind, src)
			} else if code, err := ToExpr(text); err != nil {
				c.add(id, "condition: %v", err)
				skipFlow[id] = true
			} else if _, err := CompileExpr(code, true); err != nil {
				c.add(id, "condition: %v", err)
				skipFlow[id] = true
			} else {
				fl.Condition = code
			}
			if text == "" {
				c.add(id, "empty condition")
			}
		}
		sn.Outgoing = append(sn.Outgoing, fl)
		tn.Incoming++
	}
	for _, gw := range order {
		d, ok := defaults[gw]
		if !ok || g.Nodes[gw] == nil || skipFlow[d] {
			continue
		}
		found := false
		for _, f := range g.Nodes[gw].Outgoing {
			found = found || f.ID == d
		}
		if !found {
			c.add(gw, "default flow %q is not an outgoing flow of this element", d)
		}
	}

	// Starts.
	if len(noneStarts) > 1 {
		c.add(g.ID, "several none start events (%s): keep one", strings.Join(noneStarts, ", "))
	}
	if len(noneStarts) > 0 {
		g.Start = noneStarts[0]
	}
	if g.Start == "" && (isSub || len(g.TimerStarts) == 0) {
		c.add(g.ID, "missing start event")
	}

	// Per-node checks, in document order.
	for _, id := range order {
		n := g.Nodes[id]
		if n == nil {
			continue
		}
		if n.Kind == KindStart && n.Incoming > 0 {
			c.add(id, "a start event cannot have incoming flows")
		}
		if n.Kind == KindBoundary && n.Incoming > 0 {
			c.add(id, "a boundary event cannot have incoming flows")
		}
		if n.Kind == KindEnd {
			if len(n.Outgoing) > 0 {
				c.add(id, "an end event cannot have outgoing flows")
			}
			continue
		}
		if len(n.Outgoing) == 0 && len(pseudo[id]) == 0 {
			if n.Kind == KindExclusive || n.Kind == KindParallel {
				c.add(id, "gateway without outgoing flows")
			} else {
				c.add(id, "dead end: %s without outgoing flow (end the path with an end event)", n.Kind)
			}
		}
		if n.Kind == KindExclusive && len(n.Outgoing) > 1 {
			var bare []string
			hasDefault := false
			for _, f := range n.Outgoing {
				if f.Default {
					hasDefault = true
				} else if f.Condition == "" && !skipFlow[f.ID] {
					bare = append(bare, f.ID)
				}
			}
			if len(bare) > 0 {
				msg := "no default flow"
				if hasDefault {
					msg = "one default flow already"
				}
				c.add(id, "exclusive gateway with %d outgoing flows: flows %s have no condition and there is %s", len(n.Outgoing), strings.Join(bare, ", "), msg)
			}
		}
		if n.Kind == KindParallel {
			for _, f := range n.Outgoing {
				if f.Default {
					c.add(id, "a parallel gateway has no default flow")
				}
			}
		}
	}

	// Reachability.
	reached := map[string]bool{}
	var queue []string
	if g.Start != "" {
		queue = append(queue, g.Start)
	}
	queue = append(queue, g.TimerStarts...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if reached[id] {
			continue
		}
		reached[id] = true
		queue = append(queue, pseudo[id]...)
		n := g.Nodes[id]
		if n == nil {
			continue
		}
		for _, f := range n.Outgoing {
			queue = append(queue, f.Target)
		}
		queue = append(queue, n.Boundaries...)
	}
	if g.Start != "" || len(g.TimerStarts) > 0 {
		for _, id := range order {
			if !reached[id] && g.Nodes[id] != nil {
				c.add(id, "unreachable from the start event")
			}
		}
	}
	return g
}

func nodeDefault(scope *element, id string) string {
	for _, ch := range scope.Children {
		if ch.battr("id") == id {
			return ch.battr("default")
		}
	}
	return ""
}

func (c *compiler) checkID(el *element, id string) bool {
	if id == "" {
		c.add("", "%s without id", el.Local)
		return false
	}
	if c.ids[id] {
		c.add(id, "duplicate element id")
		return false
	}
	c.ids[id] = true
	return true
}

func (c *compiler) checkLoop(el *element, id string) {
	for _, ch := range el.Children {
		if ch.Space != NSBPMN {
			continue
		}
		switch ch.Local {
		case "multiInstanceLoopCharacteristics":
			c.add(id, "multi-instance activities are not supported")
		case "standardLoopCharacteristics":
			c.add(id, "loop activities are not supported: model the loop with an exclusive gateway")
		}
	}
	if el.battr("isForCompensation") == "true" {
		c.add(id, "compensation activities are not supported")
	}
}

// eventDefinition returns the event definition child and its kind ("" none).
func eventDefinition(el *element) (*element, string) {
	var found *element
	kind := ""
	for _, ch := range el.Children {
		if ch.Space == NSBPMN && strings.HasSuffix(ch.Local, "EventDefinition") {
			if found != nil {
				return ch, "multiple"
			}
			found = ch
			kind = strings.TrimSuffix(ch.Local, "EventDefinition")
		}
		if ch.Space == NSBPMN && ch.Local == "eventDefinitionRef" {
			return ch, "referenced"
		}
	}
	return found, kind
}

// literal accepts a static value or a FEEL string literal ="…".
func literal(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "=") {
		return s, true
	}
	v := strings.TrimSpace(s[1:])
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && !strings.Contains(v[1:len(v)-1], `"`) {
		return v[1 : len(v)-1], true
	}
	if _, err := strconv.Atoi(v); err == nil {
		return v, true
	}
	return "", false
}

// literalList accepts "a, b", or FEEL ["a","b"] / ="a".
func literalList(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "=") {
		v := strings.TrimSpace(s[1:])
		if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
			var out []string
			for _, p := range strings.Split(v[1:len(v)-1], ",") {
				p = strings.TrimSpace(p)
				if len(p) < 2 || p[0] != '"' || p[len(p)-1] != '"' {
					return nil, false
				}
				out = append(out, p[1:len(p)-1])
			}
			return out, true
		}
		one, ok := literal(s)
		if !ok {
			return nil, false
		}
		s = one
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, true
}

func (c *compiler) timer(id string, def *element, cycleOK bool) *Timer {
	var t *Timer
	for _, ch := range def.Children {
		if ch.Space != NSBPMN {
			continue
		}
		var typ string
		switch ch.Local {
		case "timeDate":
			typ = TimerDate
		case "timeDuration":
			typ = TimerDuration
		case "timeCycle":
			typ = TimerCycle
		default:
			continue
		}
		if t != nil {
			c.add(id, "timer with several definitions")
			return nil
		}
		v, ok := literal(ch.Text)
		if !ok {
			c.add(id, "timer expression %q: only literal ISO 8601 values are supported", strings.TrimSpace(ch.Text))
			return nil
		}
		t = &Timer{Type: typ, Value: v}
	}
	if t == nil || t.Value == "" {
		c.add(id, "timer without a value (timeDate, timeDuration or timeCycle)")
		return nil
	}
	if t.Type == TimerCycle && !cycleOK {
		c.add(id, "an intermediate timer waits once: use timeDuration or timeDate, not timeCycle")
		return nil
	}
	if err := t.Validate(); err != nil {
		c.add(id, "timer: %v", err)
		return nil
	}
	return t
}

func (c *compiler) mappings(el *element, id string) (in, out []Mapping) {
	for _, io := range el.ext(NSZeebe, "ioMapping") {
		for _, ch := range io.Children {
			if ch.Space != NSZeebe || (ch.Local != "input" && ch.Local != "output") {
				continue
			}
			src, tgt := strings.TrimSpace(ch.battr("source")), strings.TrimSpace(ch.battr("target"))
			if tgt == "" || !validPath(tgt) {
				c.add(id, "%s mapping target %q is not a variable name or dotted path", ch.Local, tgt)
				continue
			}
			if Bound(tgt) {
				c.add(id, "%s mapping target %q: the variables dataset, file and initiator bind the instance to its objects; they are set at start and no mapping may change them", ch.Local, tgt)
				continue
			}
			code, err := ToExpr(src)
			if err == nil {
				_, err = CompileExpr(code, false)
			}
			if err != nil {
				c.add(id, "%s mapping %s: %v", ch.Local, tgt, err)
				continue
			}
			m := Mapping{Source: code, Target: tgt}
			if ch.Local == "input" {
				in = append(in, m)
			} else {
				out = append(out, m)
			}
		}
	}
	return in, out
}

func validPath(p string) bool {
	for _, part := range strings.Split(p, ".") {
		if part == "" || !identStart(part[0]) {
			return false
		}
		for i := 1; i < len(part); i++ {
			if !identPart(part[i]) {
				return false
			}
		}
	}
	return true
}

func (c *compiler) userTask(el *element, id string) *UserTask {
	u := &UserTask{Department: el.attr(NSCivicflow, "department")}
	var groups []string
	if r := el.attr(NSCivicflow, "role"); r != "" {
		l, _ := literalList(r)
		groups = append(groups, l...)
	}
	if ad := el.ext1(NSZeebe, "assignmentDefinition"); ad != nil {
		if s := ad.battr("candidateGroups"); s != "" {
			l, ok := literalList(s)
			if !ok {
				c.add(id, "candidateGroups %q: only static lists are supported", s)
			}
			groups = append(groups, l...)
		}
		if s := ad.battr("candidateUsers"); s != "" {
			l, ok := literalList(s)
			if !ok {
				c.add(id, "candidateUsers %q: only static lists are supported", s)
			}
			u.CandidateUsers = l
		}
		if s := ad.battr("assignee"); s != "" {
			v, ok := literal(s)
			if !ok {
				c.add(id, "assignee %q: only a static user name is supported", s)
			}
			u.Assignee = v
		}
	}
	if s := el.attr(NSCamunda7, "candidateGroups"); s != "" {
		if strings.Contains(s, "${") {
			c.add(id, "camunda:candidateGroups %q: expressions are not supported", s)
		} else {
			l, _ := literalList(s)
			groups = append(groups, l...)
		}
	}
	if s := el.attr(NSCamunda7, "assignee"); s != "" && u.Assignee == "" {
		if strings.Contains(s, "${") {
			c.add(id, "camunda:assignee %q: expressions are not supported", s)
		} else {
			u.Assignee = s
		}
	}
	for _, g := range groups {
		role, dept, _ := strings.Cut(g, "@")
		if role == "" || strings.ContainsAny(role, " /") {
			c.add(id, "candidate group %q is not a role name or role@department", g)
			continue
		}
		u.Candidates = append(u.Candidates, Candidate{Role: role, Department: dept})
	}
	if len(u.Candidates) == 0 && len(u.CandidateUsers) == 0 && u.Assignee == "" {
		c.add(id, "user task without assignment: set civicflow:role or zeebe candidateGroups")
	}

	// Form.
	formKey, formID := "", ""
	if fd := el.ext1(NSZeebe, "formDefinition"); fd != nil {
		formKey, formID = fd.battr("formKey"), fd.battr("formId")
	}
	if k := el.attr(NSCamunda7, "formKey"); k != "" && formKey == "" {
		formKey = k
	}
	if f := strings.TrimSpace(el.attr(NSCivicflow, "form")); f != "" {
		if strings.HasPrefix(f, "{") {
			form, err := ParseForm([]byte(f))
			if err != nil {
				c.add(id, "civicflow:form: %v", err)
			}
			u.Form = form
		} else {
			formID, formKey = "", ""
			if emb := c.forms[f]; emb != nil {
				u.Form = c.embedded(id, emb)
			} else {
				u.Form = &Form{ID: f}
			}
		}
	}
	if u.Form == nil {
		if ref, ok := strings.CutPrefix(formKey, "camunda-forms:bpmn:"); ok {
			emb := c.forms[ref]
			if emb == nil {
				c.add(id, "formKey %q refers to no zeebe:userTaskForm of the process", formKey)
			} else {
				u.Form = c.embedded(id, emb)
				if u.Form != nil {
					u.Form.Key = formKey
				}
			}
		} else if formKey != "" || formID != "" {
			u.Form = &Form{ID: formID, Key: formKey}
		}
	}

	// Due dates.
	if d := el.attr(NSCivicflow, "due"); d != "" {
		if _, err := ParseDuration(d); err != nil {
			c.add(id, "civicflow:due: %v", err)
		} else {
			u.Due = d
		}
	}
	if ts := el.ext1(NSZeebe, "taskSchedule"); ts != nil {
		for _, a := range []struct {
			name string
			dst  *string
		}{{"dueDate", &u.DueDate}, {"followUpDate", &u.FollowUp}} {
			s := ts.battr(a.name)
			if s == "" {
				continue
			}
			v, ok := literal(s)
			if !ok {
				c.add(id, "%s %q: only literal ISO 8601 dates or durations are supported", a.name, s)
				continue
			}
			if _, err := ParseDate(v); err == nil {
				*a.dst = v
			} else if _, err2 := ParseDuration(v); err2 == nil {
				if a.name == "dueDate" && u.Due == "" {
					u.Due = v
				} else if a.name == "followUpDate" {
					*a.dst = v
				}
			} else {
				c.add(id, "%s: %v", a.name, err)
			}
		}
	}
	if fe := el.attr(NSCivicflow, "fourEyes"); fe != "" {
		parts := strings.FieldsFunc(fe, func(r rune) bool { return r == ',' || r == ' ' })
		for _, p := range parts {
			if p == id {
				c.add(id, "civicflow:fourEyes cannot name the task itself")
			}
		}
		u.FourEyes = parts
		c.fourEyes = append(c.fourEyes, struct {
			task     string
			partners []string
		}{id, parts})
	}
	if u.Form != nil {
		for _, f := range u.Form.Fields {
			if Bound(f.Key) && !formRebinds(f.Key) {
				c.add(id, "form field %q: the variable %s binds the instance to its objects; it is set at start and no task may change it", f.Key, f.Key)
			}
		}
	}
	u.Inputs, u.Outputs = c.mappings(el, id)
	return u
}

func (c *compiler) embedded(id string, emb *element) *Form {
	f, err := ParseForm([]byte(strings.TrimSpace(emb.Text)))
	if err != nil {
		c.add(id, "embedded form %s: %v", emb.battr("id"), err)
		return nil
	}
	if f.ID == "" {
		f.ID = emb.battr("id")
	}
	return f
}

func (c *compiler) serviceTask(el *element, id string) *ServiceTask {
	s := &ServiceTask{}
	act := el.attr(NSCivicflow, "activity")
	retries := el.attr(NSCivicflow, "retries")
	if td := el.ext1(NSZeebe, "taskDefinition"); td != nil {
		if act == "" {
			v, ok := literal(td.battr("type"))
			if !ok {
				c.add(id, "taskDefinition type %q: only a static activity name is supported", td.battr("type"))
			}
			act = v
		}
		if retries == "" {
			retries = td.battr("retries")
		}
	}
	switch {
	case act != "":
	case el.hasAttr(NSCamunda7, "expression") || el.hasAttr(NSCamunda7, "class") ||
		el.hasAttr(NSCamunda7, "delegateExpression") || el.hasAttr(NSCamunda7, "topic"):
		c.add(id, "service task without activity: Camunda 7 expressions, classes and external topics are not supported; set civicflow:activity")
	default:
		c.add(id, "service task without activity: set civicflow:activity or zeebe:taskDefinition type")
	}
	if act != "" && !c.opts.AnyActivity && !c.known[act] {
		names := make([]string, 0, len(c.known))
		for k := range c.known {
			names = append(names, k)
		}
		sort.Strings(names)
		c.add(id, "unknown activity %q (known: %s)", act, strings.Join(names, ", "))
	}
	s.Activity = act
	if retries != "" {
		v, ok := literal(retries)
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 || n > 100 {
			c.add(id, "retries %q: expected a number from 1 to 100", retries)
		} else {
			s.Retries = n
		}
	}
	params := map[string]string{}
	for _, th := range el.ext(NSZeebe, "taskHeaders") {
		for _, h := range th.children(NSZeebe, "header") {
			params[h.battr("key")] = h.battr("value")
		}
	}
	for _, p := range el.ext(NSCivicflow, "param") {
		name := p.battr("name")
		if name == "" {
			c.add(id, "civicflow:param without name")
			continue
		}
		params[name] = p.battr("value")
	}
	if len(params) > 0 {
		s.Params = params
	}
	s.Inputs, s.Outputs = c.mappings(el, id)
	return s
}
