package designer

import (
	"fmt"
	"sort"
	"strings"
)

// Lint severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Lint rule ids: the bpmnlint "recommended" rules re-implemented, and
// civicflow's own (prefixed "civicflow/").
const (
	RuleStartEventRequired = "start-event-required"
	RuleEndEventRequired   = "end-event-required"
	RuleNoDisconnected     = "no-disconnected"
	RuleNoImplicitSplit    = "no-implicit-split"
	RuleFakeJoin           = "fake-join"
	RuleNoDuplicateFlows   = "no-duplicate-sequence-flows"
	RuleSingleBlankStart   = "single-blank-start-event"
	RuleSuperfluousGateway = "superfluous-gateway"
	RuleConditionalFlows   = "conditional-flows"
	RuleLabelRequired      = "label-required"
	RuleNoGatewayJoinFork  = "no-gateway-join-fork"
	RuleSubset             = "civicflow/subset"
	RuleUnknownActivity    = "civicflow/unknown-activity"
	RuleCandidateGroups    = "civicflow/candidate-groups"
	RuleConditionVariables = "civicflow/condition-variables"
	RuleFormDeployed       = "civicflow/form-deployed"
	RuleUnreachable        = "civicflow/unreachable"
	RuleDeadEnd            = "civicflow/dead-end"
	RuleCompile            = "civicflow/compile"
	RuleNotBPMN            = "civicflow/not-bpmn"
)

// LintProblem is one finding of Lint, tied to a BPMN element (empty for the
// whole file). Message is French (shown to designers), MessageEN English
// (logs, CI, the API).
type LintProblem struct {
	ElementID string `json:"elementId"`
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Message   string `json:"message"`
	MessageEN string `json:"messageEn"`
}

func (p LintProblem) String() string {
	id := p.ElementID
	if id == "" {
		id = "-"
	}
	return fmt.Sprintf("%s: %s [%s] %s", p.Severity, id, p.Rule, p.MessageEN)
}

// LintOptions tune Lint.
type LintOptions struct {
	// Compile are the compiler options (activities accepted…).
	Compile Options
	// Form returns the deployed form with that id, or nil, nil when none is
	// deployed. nil: forms linked by id are not checked, and their fields are
	// unknown (the condition-variables rule then stays silent on them).
	Form func(id string) (*Form, error)
}

// LintErrors returns the problems of severity error.
func LintErrors(ps []LintProblem) []LintProblem {
	var out []LintProblem
	for _, p := range ps {
		if p.Severity == SeverityError {
			out = append(out, p)
		}
	}
	return out
}

// LintWarnings returns the problems of severity warning.
func LintWarnings(ps []LintProblem) []LintProblem {
	var out []LintProblem
	for _, p := range ps {
		if p.Severity == SeverityWarning {
			out = append(out, p)
		}
	}
	return out
}

// ActivityOutputs are the variables each registered activity returns (and
// merges into the instance when the task has no output mapping). The
// condition-variables rule reads it; keep it in step with package activities.
var ActivityOutputs = map[string][]string{
	"civicflow.ingest":      {"normalized", "ingest"},
	"civicflow.validate":    {"valid", "report"},
	"civicflow.harmonise":   {"normalized", "harmonise"},
	"civicflow.deduplicate": {"normalized", "deduplicate"},
	"civicflow.anonymise":   {"normalized", "anonymisation"},
	"civicflow.release":     {"release", "releaseInfo"},
	"civicflow.publish":     {"release", "releaseInfo"},
	"civicflow.expose":      {"exposed"},
	"civicflow.notify":      {"mail"},
	"civicflow.http":        {"httpStatus", "response"},
	"civicflow.noop":        {},
	"civicflow.collect":     {"file", "unchanged", "collect"},
}

// Lint checks a BPMN file against the bpmnlint recommended rules and
// civicflow's: everything the compiler refuses is an error, style problems
// (labels, superfluous gateways, variables no step produces) are warnings.
// A file that is not BPMN XML at all gives one problem (rule
// civicflow/not-bpmn) and the parse error. The order is stable: errors
// first, then warnings, each in document order.
func Lint(xml []byte, opts LintOptions) ([]LintProblem, error) {
	doc, err := Parse(xml)
	if err != nil {
		return []LintProblem{{Rule: RuleNotBPMN, Severity: SeverityError,
			Message:   "Ce fichier n'est pas un processus BPMN 2.0 lisible : " + err.Error(),
			MessageEN: "the file is not a BPMN 2.0 process: " + err.Error()}}, err
	}
	return doc.Lint(opts), nil
}

// Lint lints a parsed document.
func (d *Document) Lint(opts LintOptions) []LintProblem {
	l := &linter{opts: opts, kinds: map[string]string{}, seen: map[string]bool{},
		produced: map[string]bool{VarDataset: true, VarFile: true, VarInitiator: true}}
	proc := l.pickProcess(d.root)
	if proc != nil {
		l.forms = map[string]*element{}
		for _, f := range proc.ext(NSZeebe, "userTaskForm") {
			l.forms[f.battr("id")] = f
		}
		l.scope(proc, false)
		l.conditionVariables()
	}
	_, compiled := d.Compile(opts.Compile)
	for _, p := range compiled {
		l.fromCompiler(p)
	}
	l.dedupe()
	sort.SliceStable(l.out, func(i, j int) bool {
		return l.out[i].Severity == SeverityError && l.out[j].Severity != SeverityError
	})
	return l.out
}

type linter struct {
	opts  LintOptions
	out   []LintProblem
	kinds map[string]string // element id → BPMN local name
	seen  map[string]bool   // elementID|rule already reported
	forms map[string]*element
	// condition-variables rule
	produced      map[string]bool
	fieldsUnknown bool
	conditions    []struct{ flow, code string }
}

func (l *linter) add(id, rule, sev, fr, en string) {
	key := id + "|" + rule
	if l.seen[key] {
		return
	}
	l.seen[key] = true
	l.out = append(l.out, LintProblem{ElementID: id, Rule: rule, Severity: sev, Message: fr, MessageEN: en})
}

func (l *linter) pickProcess(root *element) *element {
	procs := root.children(NSBPMN, "process")
	if len(procs) == 1 {
		return procs[0]
	}
	if l.opts.Compile.ProcessID != "" {
		for _, p := range procs {
			if p.battr("id") == l.opts.Compile.ProcessID {
				return p
			}
		}
		return nil
	}
	var exec []*element
	for _, p := range procs {
		if p.battr("isExecutable") == "true" {
			exec = append(exec, p)
		}
	}
	if len(exec) == 1 {
		return exec[0]
	}
	return nil // the compiler reports it
}

// French names of BPMN elements, for messages.
var elementFR = map[string]string{
	"task": "tâche non typée", "scriptTask": "tâche de script", "sendTask": "tâche d'envoi",
	"receiveTask": "tâche de réception", "businessRuleTask": "tâche de règle métier",
	"manualTask": "tâche manuelle", "callActivity": "activité d'appel", "inclusiveGateway": "passerelle inclusive",
	"eventBasedGateway": "passerelle basée sur les événements", "complexGateway": "passerelle complexe",
	"intermediateThrowEvent": "événement intermédiaire émis", "transaction": "transaction",
	"adHocSubProcess": "sous-processus ad hoc", "eventSubProcess": "sous-processus d'événement",
	"subProcess": "sous-processus", "userTask": "tâche utilisateur", "serviceTask": "tâche de service",
	"startEvent": "événement de début", "endEvent": "événement de fin", "exclusiveGateway": "passerelle exclusive",
	"parallelGateway": "passerelle parallèle", "intermediateCatchEvent": "événement intermédiaire",
	"boundaryEvent": "événement attaché", "process": "processus", "sequenceFlow": "flux de séquence",
}

func frName(local string) string {
	if n, ok := elementFR[local]; ok {
		return n
	}
	return local
}

// refusedReasonFR is refusedReason in French.
var refusedReasonFR = map[string]string{
	"task":                   "tâche non typée : faites-en une tâche de service (activité civicflow.noop pour une étape vide) ou une tâche utilisateur",
	"scriptTask":             "les tâches de script ne sont pas prises en charge : placez la logique dans une activité (tâche de service)",
	"sendTask":               "les tâches d'envoi ne sont pas prises en charge : utilisez une tâche de service avec civicflow.notify",
	"receiveTask":            "les tâches de réception (messages) ne sont pas prises en charge",
	"businessRuleTask":       "les tâches de règle métier (DMN) ne sont pas prises en charge",
	"manualTask":             "les tâches manuelles ne sont pas prises en charge : utilisez une tâche utilisateur",
	"callActivity":           "les activités d'appel ne sont pas prises en charge : intégrez les étapes dans un sous-processus",
	"inclusiveGateway":       "les passerelles inclusives ne sont pas prises en charge : utilisez des passerelles exclusives ou parallèles",
	"eventBasedGateway":      "les passerelles basées sur les événements ne sont pas prises en charge",
	"complexGateway":         "les passerelles complexes ne sont pas prises en charge",
	"intermediateThrowEvent": "les événements intermédiaires émis ne sont pas pris en charge",
	"transaction":            "les sous-processus de transaction ne sont pas pris en charge",
	"adHocSubProcess":        "les sous-processus ad hoc ne sont pas pris en charge",
	"eventSubProcess":        "les sous-processus d'événement ne sont pas pris en charge",
}

type lintNode struct {
	el       *element
	id       string
	local    string
	in, out  []*element // sequence flows
	def      string     // default flow id
	boundary bool
}

func isGateway(local string) bool { return strings.HasSuffix(local, "Gateway") }

func isActivity(local string) bool {
	return strings.HasSuffix(local, "Task") || local == "task" || local == "subProcess" ||
		local == "callActivity" || local == "transaction" || local == "adHocSubProcess"
}

// scope applies the structural rules to a process or sub-process.
func (l *linter) scope(el *element, isSub bool) {
	scopeID := el.battr("id")
	l.kinds[scopeID] = el.Local
	nodes := map[string]*lintNode{}
	var order []*lintNode
	var flows []*element
	for _, ch := range el.Children {
		if ch.Space != NSBPMN || ignored[ch.Local] {
			continue
		}
		id := ch.battr("id")
		if ch.Local == "sequenceFlow" {
			l.kinds[id] = ch.Local
			flows = append(flows, ch)
			continue
		}
		if _, dup := nodes[id]; dup || id == "" {
			continue // the compiler reports it
		}
		n := &lintNode{el: ch, id: id, local: ch.Local, def: ch.battr("default"), boundary: ch.Local == "boundaryEvent"}
		nodes[id] = n
		order = append(order, n)
		l.kinds[id] = ch.Local
		switch ch.Local {
		case "subProcess", "transaction", "adHocSubProcess":
			l.scope(ch, true)
		case "userTask":
			l.userTask(ch, id)
		case "serviceTask":
			l.serviceTask(ch)
		}
	}
	eventSub := isSub && el.battr("triggeredByEvent") == "true"
	for _, f := range flows {
		if s := nodes[f.battr("sourceRef")]; s != nil {
			s.out = append(s.out, f)
		}
		if t := nodes[f.battr("targetRef")]; t != nil {
			t.in = append(t.in, f)
		}
	}

	// start-event-required, end-event-required, single-blank-start-event.
	var starts, blank []string
	ends := 0
	for _, n := range order {
		switch n.local {
		case "startEvent":
			starts = append(starts, n.id)
			if _, kind := eventDefinition(n.el); kind == "" {
				blank = append(blank, n.id)
			}
		case "endEvent":
			ends++
		}
	}
	what, whatEN := "Le processus", "the process"
	if isSub {
		what, whatEN = "Le sous-processus", "the sub-process"
	}
	if len(starts) == 0 && el.Local != "adHocSubProcess" {
		l.add(scopeID, RuleStartEventRequired, SeverityError, what+" n'a pas d'événement de début.", whatEN+" has no start event")
	}
	if ends == 0 && el.Local != "adHocSubProcess" {
		l.add(scopeID, RuleEndEventRequired, SeverityError, what+" n'a pas d'événement de fin.", whatEN+" has no end event")
	}
	if len(blank) > 1 {
		l.add(scopeID, RuleSingleBlankStart, SeverityError,
			fmt.Sprintf("%s a plusieurs événements de début simples (%s) : n'en gardez qu'un.", what, strings.Join(blank, ", ")),
			fmt.Sprintf("%s has several blank start events (%s): keep one", whatEN, strings.Join(blank, ", ")))
	}

	// no-duplicate-sequence-flows.
	pairs := map[string]string{}
	for _, f := range flows {
		cond := ""
		if ce := f.child(NSBPMN, "conditionExpression"); ce != nil {
			cond = strings.TrimSpace(ce.Text)
		}
		k := f.battr("sourceRef") + "\x00" + f.battr("targetRef") + "\x00" + cond
		if first, dup := pairs[k]; dup {
			l.add(f.battr("id"), RuleNoDuplicateFlows, SeverityError,
				fmt.Sprintf("Flux en double : %s relie déjà les mêmes éléments.", first),
				fmt.Sprintf("duplicate sequence flow: %s already links the same elements", first))
			continue
		}
		pairs[k] = f.battr("id")
	}

	for _, n := range order {
		name := strings.TrimSpace(n.el.battr("name"))
		// no-disconnected.
		if len(n.in) == 0 && len(n.out) == 0 && !n.boundary && !eventSub && el.Local != "adHocSubProcess" &&
			n.el.battr("isForCompensation") != "true" && n.el.battr("triggeredByEvent") != "true" {
			l.add(n.id, RuleNoDisconnected, SeverityError,
				fmt.Sprintf("Élément isolé (%s) : il n'est relié à aucun flux.", frName(n.local)),
				fmt.Sprintf("%s is not connected to any sequence flow", n.local))
		}
		conditional := 0
		plain := 0
		for _, f := range n.out {
			if f.child(NSBPMN, "conditionExpression") != nil {
				conditional++
			} else if f.battr("id") != n.def {
				plain++
			}
		}
		gw := isGateway(n.local)
		// no-implicit-split.
		if !gw && len(n.out) > 1 && plain > 0 && n.local != "endEvent" {
			l.add(n.id, RuleNoImplicitSplit, SeverityError,
				fmt.Sprintf("Séparation implicite : %d flux sortants sans condition ; utilisez une passerelle.", len(n.out)),
				fmt.Sprintf("implicit split: %d outgoing flows, use a gateway", len(n.out)))
		}
		if gw {
			// no-gateway-join-fork.
			if len(n.in) > 1 && len(n.out) > 1 {
				l.add(n.id, RuleNoGatewayJoinFork, SeverityError,
					"Cette passerelle rassemble et sépare à la fois : utilisez deux passerelles.",
					"the gateway both joins and forks: use two gateways")
			}
			// superfluous-gateway.
			if len(n.in) == 1 && len(n.out) == 1 {
				l.add(n.id, RuleSuperfluousGateway, SeverityWarning,
					"Passerelle superflue : une seule entrée et une seule sortie.",
					"superfluous gateway: one incoming and one outgoing flow")
			}
		}
		// conditional-flows.
		if n.local == "exclusiveGateway" && len(n.out) > 1 {
			for _, f := range n.out {
				if f.child(NSBPMN, "conditionExpression") == nil && f.battr("id") != n.def {
					l.seen[n.id+"|"+RuleConditionalFlows] = true // the compiler's twin, on the gateway
					l.add(f.battr("id"), RuleConditionalFlows, SeverityError,
						"Ce flux sort d'une passerelle exclusive : donnez-lui une condition ou faites-en le flux par défaut.",
						"flow leaving an exclusive gateway without condition (and not the default flow)")
				}
			}
		}
		for _, f := range n.out {
			if ce := f.child(NSBPMN, "conditionExpression"); ce != nil {
				if code, err := ToExpr(ce.Text); err == nil {
					l.conditions = append(l.conditions, struct{ flow, code string }{f.battr("id"), code})
				}
			}
		}
		// fake-join.
		if n.local == "parallelGateway" && len(n.in) > 1 {
			if split := l.exclusiveOrigin(nodes, n); split != "" {
				label := split
				if nm := strings.TrimSpace(nodes[split].el.battr("name")); nm != "" {
					label = "« " + nm + " » (" + split + ")"
				}
				l.add(n.id, RuleFakeJoin, SeverityError,
					fmt.Sprintf("Blocage : cette passerelle parallèle attend tous ses flux entrants, mais ils viennent de la passerelle exclusive %s qui n'en active qu'un. Rassemblez-les avec une passerelle exclusive.", label),
					fmt.Sprintf("deadlock: this parallel join waits for all its incoming flows, but they come from exclusive split %s, which takes only one; join them with an exclusive gateway", split))
			}
		}
		// label-required.
		needsLabel := isActivity(n.local) || n.local == "startEvent" || n.local == "endEvent" ||
			n.local == "intermediateCatchEvent" || n.local == "intermediateThrowEvent" || n.local == "boundaryEvent" ||
			(n.local == "exclusiveGateway" && len(n.out) > 1) || (n.local == "inclusiveGateway" && len(n.out) > 1)
		if needsLabel && name == "" {
			l.add(n.id, RuleLabelRequired, SeverityWarning,
				fmt.Sprintf("Élément sans nom (%s) : donnez-lui un libellé.", frName(n.local)),
				fmt.Sprintf("%s without a label", n.local))
		}
	}
}

// exclusiveOrigin returns the exclusive gateway that two incoming branches
// of the parallel join n come from (walking back along single-path
// chains), or "".
func (l *linter) exclusiveOrigin(nodes map[string]*lintNode, n *lintNode) string {
	count := map[string]int{}
	for _, f := range n.in {
		cur := nodes[f.battr("sourceRef")]
		for steps := 0; cur != nil && steps < 1000; steps++ {
			if len(cur.out) > 1 || isGateway(cur.local) {
				break
			}
			if len(cur.in) != 1 {
				cur = nil
				break
			}
			cur = nodes[cur.in[0].battr("sourceRef")]
		}
		if cur != nil && cur.local == "exclusiveGateway" && len(cur.out) > 1 {
			count[cur.id]++
		}
	}
	var ids []string
	for id, c := range count {
		if c > 1 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// userTask records what the task produces and checks its linked form.
func (l *linter) userTask(el *element, id string) {
	l.outputs(el)
	var fields []FormField
	known := true
	formID := ""
	if fd := el.ext1(NSZeebe, "formDefinition"); fd != nil {
		formID = fd.battr("formId")
		if k := fd.battr("formKey"); k != "" {
			if ref, ok := strings.CutPrefix(k, "camunda-forms:bpmn:"); ok {
				formID = ""
				if emb := l.forms[ref]; emb != nil {
					if f, err := ParseForm([]byte(strings.TrimSpace(emb.Text))); err == nil {
						fields = f.Fields
					}
				}
			} else if formID == "" {
				known = false // a Camunda 7 / external form key: fields unknown
			}
		}
	}
	if k := el.attr(NSCamunda7, "formKey"); k != "" && formID == "" && fields == nil {
		known = false
	}
	if f := strings.TrimSpace(el.attr(NSCivicflow, "form")); f != "" {
		formID = ""
		if strings.HasPrefix(f, "{") {
			if form, err := ParseForm([]byte(f)); err == nil {
				fields = form.Fields
			}
		} else if emb := l.forms[f]; emb != nil {
			if form, err := ParseForm([]byte(strings.TrimSpace(emb.Text))); err == nil {
				fields = form.Fields
			}
		} else {
			formID = f
		}
	}
	if formID != "" {
		switch {
		case l.opts.Form == nil:
			known = false
		default:
			f, err := l.opts.Form(formID)
			switch {
			case err != nil:
				known = false
			case f == nil:
				l.add(id, RuleFormDeployed, SeverityError,
					fmt.Sprintf("Le formulaire « %s » n'est pas déployé : enregistrez-le d'abord dans l'éditeur de formulaires.", formID),
					fmt.Sprintf("formId %q: no form with this id is deployed (deploy the .form file with POST /api/v1/forms first)", formID))
			default:
				fields = f.Fields
			}
		}
	}
	if !known {
		l.fieldsUnknown = true
	}
	for _, f := range fields {
		root, _, _ := strings.Cut(f.Key, ".")
		l.produced[root] = true
	}
}

func (l *linter) serviceTask(el *element) {
	l.outputs(el)
	act := el.attr(NSCivicflow, "activity")
	if td := el.ext1(NSZeebe, "taskDefinition"); td != nil && act == "" {
		act, _ = literal(td.battr("type"))
	}
	outs, ok := ActivityOutputs[act]
	if !ok && act != "" && l.opts.Compile.AnyActivity {
		l.fieldsUnknown = true // a foreign activity: its outputs are unknown
	}
	for _, v := range outs {
		l.produced[v] = true
	}
}

func (l *linter) outputs(el *element) {
	for _, io := range el.ext(NSZeebe, "ioMapping") {
		for _, o := range io.children(NSZeebe, "output") {
			root, _, _ := strings.Cut(strings.TrimSpace(o.battr("target")), ".")
			if root != "" {
				l.produced[root] = true
			}
		}
	}
}

// conditionVariables warns about conditions reading variables that no form
// field, output mapping or activity result produces (only start variables
// could then give them).
func (l *linter) conditionVariables() {
	if l.fieldsUnknown {
		return
	}
	for _, c := range l.conditions {
		var missing []string
		seen := map[string]bool{}
		for _, v := range exprIdentifiers(c.code) {
			if !l.produced[v] && !seen[v] {
				seen[v] = true
				missing = append(missing, v)
			}
		}
		if len(missing) == 0 {
			continue
		}
		list := strings.Join(missing, ", ")
		l.add(c.flow, RuleConditionVariables, SeverityWarning,
			fmt.Sprintf("La condition lit %s, qu'aucun champ de formulaire ni aucune activité ne produit : la valeur devra être donnée au démarrage.", list),
			fmt.Sprintf("the condition reads %s, which no form field nor activity produces: it must be given at start", list))
	}
}

// fromCompiler turns a compiler problem into a lint problem (always an
// error: the compiler refuses the flow).
func (l *linter) fromCompiler(p Problem) {
	id, msg := p.ElementID, p.Message
	local := l.kinds[id]
	switch {
	case strings.HasPrefix(msg, "unknown activity"):
		name, _, _ := strings.Cut(strings.TrimPrefix(msg, "unknown activity "), " (known")
		l.add(id, RuleUnknownActivity, SeverityError, "Activité inconnue "+name+" : choisissez une activité civicflow (modèle d'élément).", msg)
	case strings.HasPrefix(msg, "service task without activity"):
		l.add(id, RuleUnknownActivity, SeverityError, "Tâche de service sans activité : choisissez une activité civicflow (modèle d'élément).", msg)
	case strings.HasPrefix(msg, "user task without assignment"):
		l.add(id, RuleCandidateGroups, SeverityError, "Tâche utilisateur sans groupe candidat : indiquez un rôle (civicflow:role) ou des groupes candidats.", msg)
	case strings.HasPrefix(msg, "missing start event"):
		l.add(id, RuleStartEventRequired, SeverityError, "Il manque un événement de début simple ou à minuterie (les autres ne sont pas pris en charge).", msg)
	case strings.HasPrefix(msg, "several none start events"):
		l.add(id, RuleSingleBlankStart, SeverityError, "Plusieurs événements de début simples : n'en gardez qu'un.", msg)
	case strings.HasPrefix(msg, "exclusive gateway with"):
		l.add(id, RuleConditionalFlows, SeverityError, "Des flux de cette passerelle exclusive n'ont ni condition ni flux par défaut.", msg)
	case strings.HasPrefix(msg, "unreachable from the start event"):
		if l.seen[id+"|"+RuleNoDisconnected] {
			return
		}
		l.add(id, RuleUnreachable, SeverityError, "Inatteignable depuis l'événement de début.", msg)
	case strings.HasPrefix(msg, "dead end") || strings.HasPrefix(msg, "gateway without outgoing flows"):
		if l.seen[id+"|"+RuleNoDisconnected] {
			return
		}
		l.add(id, RuleDeadEnd, SeverityError, "Impasse : aucun flux ne sort de cet élément ; terminez le chemin par un événement de fin.", msg)
	case strings.HasPrefix(msg, "formId ") && strings.Contains(msg, "no form with this id is deployed"):
		l.add(id, RuleFormDeployed, SeverityError, "Ce formulaire n'est pas déployé.", msg)
	case refusedReasonFR[local] != "" && refusedReason[local] == msg:
		l.add(id, RuleSubset, SeverityError, fmt.Sprintf("Hors du sous-ensemble exécuté par civicflow (%s) : %s.", frName(local), refusedReasonFR[local]), msg)
	case local == "subProcess" && msg == refusedReason["eventSubProcess"]:
		l.add(id, RuleSubset, SeverityError, "Hors du sous-ensemble exécuté par civicflow : "+refusedReasonFR["eventSubProcess"]+".", msg)
	case strings.Contains(msg, "not supported"):
		l.add(id, RuleSubset, SeverityError, fmt.Sprintf("Hors du sous-ensemble exécuté par civicflow (%s) : %s.", frName(local), subsetFR(msg)), msg)
	default:
		l.add(id, RuleCompile+"#"+msg, SeverityError, "Refusé par le compilateur : "+msg+".", msg)
	}
}

// dedupe drops compiler duplicates and restores rule ids of generic compiler
// problems (kept apart by message until now).
func (l *linter) dedupe() {
	for i := range l.out {
		if strings.HasPrefix(l.out[i].Rule, RuleCompile+"#") {
			l.out[i].Rule = RuleCompile
		}
	}
}

var eventKindFR = map[string]string{
	"message": "message", "signal": "signal", "error": "erreur", "escalation": "escalade",
	"conditional": "condition", "compensate": "compensation", "link": "lien", "cancel": "annulation",
	"terminate": "terminaison", "untyped": "sans type", "multiple": "multiple", "referenced": "référencé",
	"timer": "minuterie",
}

var subsetPatterns = []struct {
	suffix, fr string
}{
	{" start events are not supported (none or timer only)", "les événements de début de type %s ne sont pas pris en charge (simple ou minuterie seulement)"},
	{" end events are not supported (none or terminate only)", "les événements de fin de type %s ne sont pas pris en charge (simple ou terminaison seulement)"},
	{" boundary events are not supported (timer on a user task only)", "les événements attachés de type %s ne sont pas pris en charge (minuterie sur une tâche utilisateur seulement)"},
	{" intermediate catch events are not supported (timer only)", "les événements intermédiaires de type %s ne sont pas pris en charge (minuterie seulement)"},
}

// subsetFR translates the compiler's "not supported" messages.
func subsetFR(msg string) string {
	for _, p := range subsetPatterns {
		if kind, ok := strings.CutSuffix(msg, p.suffix); ok {
			k := eventKindFR[kind]
			if k == "" {
				k = kind
			}
			return fmt.Sprintf(p.fr, "« "+k+" »")
		}
	}
	switch {
	case msg == "multi-instance activities are not supported":
		return "les activités multi-instances ne sont pas prises en charge"
	case strings.HasPrefix(msg, "loop activities are not supported"):
		return "les activités en boucle ne sont pas prises en charge : modélisez la boucle avec une passerelle exclusive"
	case msg == "compensation activities are not supported":
		return "les activités de compensation ne sont pas prises en charge"
	case strings.Contains(msg, "JUEL expression"):
		return "expression JUEL (Camunda 7) non prise en charge : écrivez la condition en FEEL (=…) ou en expr"
	case strings.HasPrefix(msg, "condition: FEEL"), strings.HasPrefix(msg, "condition: "):
		return "condition non prise en charge (" + strings.TrimPrefix(msg, "condition: ") + ")"
	}
	return "élément non pris en charge (" + msg + ")"
}
