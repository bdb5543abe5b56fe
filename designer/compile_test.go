package designer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func doc(body string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="` + NSBPMN + `" xmlns:zeebe="` + NSZeebe + `" xmlns:civicflow="` + NSCivicflow + `" id="defs">
<bpmn:process id="p" isExecutable="true">` + body + `</bpmn:process></bpmn:definitions>`)
}

func TestPublicationCompiles(t *testing.T) {
	g, problems, err := Compile(PublicationBPMN, Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, "publication", g.ID)
	require.Equal(t, Checksum(PublicationBPMN), g.Checksum)
	for _, id := range []string{"correction", "review", "approval"} {
		require.Equal(t, KindUserTask, g.Nodes[id].Kind, id)
		require.NotNil(t, g.Nodes[id].User.Form, id)
	}
	ap := g.Nodes["approval"]
	require.Equal(t, []Candidate{{Role: "approver"}}, ap.User.Candidates)
	require.Equal(t, []string{"initiator", "correction"}, ap.User.FourEyes)
	require.Equal(t, "P3D", ap.User.Due)
	require.Equal(t, []string{"approvalOverdue"}, ap.Boundaries)
	b := g.Nodes["approvalOverdue"]
	require.False(t, b.Interrupting)
	require.Equal(t, &Timer{Type: TimerDuration, Value: "P3D"}, b.Timer)
	require.Equal(t, map[string]string{"template": "approval-overdue", "to": "approver"}, g.Nodes["remind"].Service.Params)
	rv := g.Nodes["review"].User.Form
	require.Equal(t, FormField{Key: "decision", Type: "radio", Label: "Décision", ValueType: "string", Required: true,
		Enum: []string{"approve", "changes", "reject"}}, rv.Fields[0])
	require.Equal(t, []Flow{{ID: "f_valid", Target: "review", Name: "oui", Condition: "valid == true"},
		{ID: "f_invalid", Target: "correction", Name: "non", Default: true}}, g.Nodes["isValid"].Outgoing)
	data, err := json.Marshal(g)
	require.NoError(t, err)
	require.Less(t, len(data), 32<<10, "compact graph")
	var back Graph
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, g, &back)
	// DI: one shape per node, one edge per flow, each naming a real element.
	ids := map[string]bool{"publication": true}
	flows := 0
	for id, n := range g.Nodes {
		ids[id] = true
		for _, f := range n.Outgoing {
			ids[f.ID] = true
			flows++
		}
	}
	refs := regexp.MustCompile(`bpmnElement="([^"]+)"`).FindAllStringSubmatch(string(PublicationBPMN), -1)
	require.Len(t, refs, 1+len(g.Nodes)+flows)
	for _, r := range refs {
		require.True(t, ids[r[1]], r[1])
	}
}

func TestProblems(t *testing.T) {
	start := `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="a"/>`
	svc := `<bpmn:serviceTask id="a" civicflow:activity="civicflow.noop"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`
	for _, tc := range []struct {
		name, body, id, msg string
	}{
		{"missing start", svc, "p", "missing start event"},
		{"several none starts", start + svc + `<bpmn:startEvent id="s2"/><bpmn:sequenceFlow id="fx" sourceRef="s2" targetRef="a"/>`, "p", "several none start events"},
		{"unreachable", start + svc + `<bpmn:serviceTask id="lost" civicflow:activity="civicflow.noop"/><bpmn:sequenceFlow id="fl" sourceRef="lost" targetRef="e"/>`, "lost", "unreachable"},
		{"dead end", start + `<bpmn:serviceTask id="a" civicflow:activity="civicflow.noop"/>`, "a", "dead end"},
		{"gateway without outgoing", start + svc + `<bpmn:exclusiveGateway id="g"/><bpmn:sequenceFlow id="fg" sourceRef="a" targetRef="g"/>`, "g", "gateway without outgoing"},
		{"xor without conditions", `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/><bpmn:exclusiveGateway id="g"/>
			<bpmn:sequenceFlow id="x1" sourceRef="g" targetRef="e"/><bpmn:sequenceFlow id="x2" sourceRef="g" targetRef="e"/><bpmn:endEvent id="e"/>`, "g", "x1, x2 have no condition"},
		{"unknown activity", start + `<bpmn:serviceTask id="a" civicflow:activity="civicflow.magic"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`, "a", `unknown activity "civicflow.magic"`},
		{"no activity", start + `<bpmn:serviceTask id="a"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`, "a", "without activity"},
		{"invalid expression", `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/><bpmn:exclusiveGateway id="g" default="x2"/>
			<bpmn:sequenceFlow id="x1" sourceRef="g" targetRef="e"><bpmn:conditionExpression>a &gt;&gt; ((</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:sequenceFlow id="x2" sourceRef="g" targetRef="e"/><bpmn:endEvent id="e"/>`, "x1", "invalid expression"},
		{"unsupported FEEL", `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/><bpmn:exclusiveGateway id="g" default="x2"/>
			<bpmn:sequenceFlow id="x1" sourceRef="g" targetRef="e"><bpmn:conditionExpression>= some x in items satisfies x &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:sequenceFlow id="x2" sourceRef="g" targetRef="e"/><bpmn:endEvent id="e"/>`, "x1", "quantified expressions"},
		{"FEEL function", `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/><bpmn:exclusiveGateway id="g" default="x2"/>
			<bpmn:sequenceFlow id="x1" sourceRef="g" targetRef="e"><bpmn:conditionExpression>=date(d) &gt; today()</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:sequenceFlow id="x2" sourceRef="g" targetRef="e"/><bpmn:endEvent id="e"/>`, "x1", "function call date"},
		{"bad duration", start + `<bpmn:serviceTask id="a" civicflow:activity="civicflow.noop"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="w"/>
			<bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>5 days</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f2" sourceRef="w" targetRef="e"/><bpmn:endEvent id="e"/>`, "w", "not an ISO 8601 duration"},
		{"bad date", `<bpmn:startEvent id="s"><bpmn:timerEventDefinition><bpmn:timeDate>2026-13-01</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:startEvent><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="a"/>` + svc, "s", "not an ISO 8601 date-time"},
		{"bad cycle", `<bpmn:startEvent id="s"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="a"/>` + svc, "s", "interval"},
		{"user task without assignment", start + `<bpmn:userTask id="a"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`, "a", "without assignment"},
		{"bad civicflow:due", start + `<bpmn:userTask id="a" civicflow:role="agent" civicflow:due="3 days"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`, "a", "civicflow:due"},
		{"fourEyes unknown", start + `<bpmn:userTask id="a" civicflow:role="agent" civicflow:fourEyes="ghost"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`, "a", `"ghost"`},
		{"boundary on service task", start + svc + `<bpmn:boundaryEvent id="b" attachedToRef="a"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="e"/>`, "b", "user tasks only"},
		{"message event", start + svc + `<bpmn:intermediateCatchEvent id="m"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>`, "m", "message intermediate"},
		{"condition after task", start + `<bpmn:serviceTask id="a" civicflow:activity="civicflow.noop"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"><bpmn:conditionExpression>=x</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:endEvent id="e"/>`, "f1", "only supported on flows leaving an exclusive gateway"},
		{"missing form", start + `<bpmn:userTask id="a" civicflow:role="agent"><bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:nope"/></bpmn:extensionElements></bpmn:userTask><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`, "a", "refers to no zeebe:userTaskForm"},
		{"duplicate id", start + svc + `<bpmn:endEvent id="e"/>`, "e", "duplicate"},
		{"dynamic assignee", start + `<bpmn:userTask id="a"><bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="=groups"/></bpmn:extensionElements></bpmn:userTask><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`, "a", "only static lists"},
		{"bad mapping", start + `<bpmn:serviceTask id="a" civicflow:activity="civicflow.noop"><bpmn:extensionElements><zeebe:ioMapping><zeebe:output source="=x" target="1bad"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/><bpmn:endEvent id="e"/>`, "a", "mapping target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, problems, err := Compile(doc(tc.body), Options{})
			require.NoError(t, err)
			require.Nil(t, g)
			found := false
			for _, p := range problems {
				found = found || (p.ElementID == tc.id && strings.Contains(p.Message, tc.msg))
			}
			require.True(t, found, "want %s: %q among %v", tc.id, tc.msg, problems)
		})
	}
}

func TestAllProblemsReported(t *testing.T) {
	body := `<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="a"/>
<bpmn:serviceTask id="a" civicflow:activity="nope"/><bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="u"/>
<bpmn:userTask id="u"/><bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="x"/><bpmn:scriptTask id="x"/>`
	problems, err := Validate(doc(body), Options{})
	require.NoError(t, err)
	var ids []string
	for _, p := range problems {
		ids = append(ids, p.ElementID)
	}
	require.Equal(t, []string{"a", "u", "x"}, ids, "document order: %v", problems)
}

func TestTranslateFEEL(t *testing.T) {
	for _, tc := range []struct{ in, out, err string }{
		{`=valid = true`, `valid == true`, ""},
		{`=(automaticProcessing=false)`, `(automaticProcessing==false)`, ""},
		{`= a >= 1 and b <= 2 or c != "x"`, `a >= 1 && b <= 2 || c != "x"`, ""},
		{`=not(blocked)`, `!(blocked)`, ""},
		{`=order.total > 10.5`, `order.total > 10.5`, ""},
		{`=x = null`, `x == nil`, ""},
		{`=s = "a = b"`, `s == "a = b"`, ""},
		{`= loopAmount + 1`, `loopAmount + 1`, ""},
		{`= for i in l return i`, ``, "for … return"},
		{`=list contains(courses, "pasta")`, ``, "function call contains"},
		{`=[1,2]`, ``, "lists"},
		{`=if a then b else c`, ``, "if … then"},
		{`=x in [1..3]`, ``, "in operator"},
	} {
		out, err := TranslateFEEL(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.out, out, tc.in)
		_, err = CompileExpr(out, false)
		require.NoError(t, err, tc.in)
	}
	_, err := ToExpr("now() > x")
	require.ErrorContains(t, err, "now()")
	_, err = ToExpr("${a}")
	require.ErrorContains(t, err, "JUEL")
}

func TestISO(t *testing.T) {
	base := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	d, err := ParseDuration("P1M2DT3H4M5.5S")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 5, 13, 4, 5, 5e8, time.UTC), d.AddTo(base))
	for _, bad := range []string{"", "P", "PT", "1D", "P1H", "PT1D", "P-1D", "P0D"} {
		_, err := ParseDuration(bad)
		require.Error(t, err, bad)
	}
	_, err = ParseDate("2026-01-01T00:00:00")
	require.ErrorContains(t, err, "no time zone")
	c, err := ParseCycle("R3/PT1H")
	require.NoError(t, err)
	require.Equal(t, 3, c.Repeat)
	tm := Timer{Type: TimerCycle, Value: "R2/PT1H"}
	first, err := tm.Fire(base, time.Time{}, 0)
	require.NoError(t, err)
	require.Equal(t, base.Add(time.Hour), first)
	second, err := tm.Fire(base, first, 1)
	require.NoError(t, err)
	require.Equal(t, base.Add(2*time.Hour), second)
	_, err = tm.Fire(base, second, 2)
	require.ErrorIs(t, err, ErrTimerDone)
	c, err = ParseCycle("R/2026-02-01T08:00:00Z/P1D")
	require.NoError(t, err)
	require.Equal(t, -1, c.Repeat)
}

func TestFormCheckData(t *testing.T) {
	g, _, err := Compile(PublicationBPMN, Options{})
	require.NoError(t, err)
	f := g.Nodes["review"].User.Form
	require.Empty(t, f.CheckData(map[string]any{"decision": "approve", "extra": 1}))
	require.Equal(t, []string{"decision: required"}, f.CheckData(nil))
	require.Len(t, f.CheckData(map[string]any{"decision": "maybe"}), 1)
	require.Len(t, f.CheckData(map[string]any{"decision": "approve", "comment": 3}), 1)
}

// generatedFlow builds a valid flow of about n elements: a chain of service
// tasks, exclusive gateways and parallel blocks, with DI-less BPMN.
func generatedFlow(n int) []byte {
	var b strings.Builder
	b.WriteString(`<bpmn:startEvent id="n0"/>`)
	prev, flow := "n0", 0
	link := func(from, to, cond string) {
		flow++
		if cond == "" {
			fmt.Fprintf(&b, `<bpmn:sequenceFlow id="f%d" sourceRef="%s" targetRef="%s"/>`, flow, from, to)
			return
		}
		fmt.Fprintf(&b, `<bpmn:sequenceFlow id="f%d" sourceRef="%s" targetRef="%s"><bpmn:conditionExpression>%s</bpmn:conditionExpression></bpmn:sequenceFlow>`, flow, from, to, cond)
	}
	for i := 1; i < n/4; i++ {
		t, g, a, j := fmt.Sprintf("t%d", i), fmt.Sprintf("g%d", i), fmt.Sprintf("a%d", i), fmt.Sprintf("j%d", i)
		fmt.Fprintf(&b, `<bpmn:serviceTask id="%s" civicflow:activity="civicflow.noop"/><bpmn:exclusiveGateway id="%s" default="f%d"/>`, t, g, flow+4)
		fmt.Fprintf(&b, `<bpmn:userTask id="%s" civicflow:role="agent" civicflow:due="P1D"/><bpmn:exclusiveGateway id="%s"/>`, a, j)
		link(prev, t, "")
		link(t, g, "")
		link(g, a, fmt.Sprintf(`=score &gt; %d and kind = "k%d"`, i, i))
		link(g, j, "")
		link(a, j, "")
		prev = j
	}
	b.WriteString(`<bpmn:endEvent id="end"/>`)
	link(prev, "end", "")
	return doc(b.String())
}

func TestGeneratedFlowCompiles(t *testing.T) {
	g, problems, err := Compile(generatedFlow(200), Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	require.GreaterOrEqual(t, len(g.Nodes), 198)
	data, _ := json.Marshal(g)
	require.Less(t, len(data), 2<<20/10, "graph far under Temporal's 2 MiB payload limit")
}

func BenchmarkCompile200(b *testing.B) {
	xml := generatedFlow(200)
	b.SetBytes(int64(len(xml)))
	b.ReportAllocs()
	for b.Loop() {
		if _, problems, err := Compile(xml, Options{}); err != nil || len(problems) > 0 {
			b.Fatal(err, problems)
		}
	}
}

func BenchmarkCompilePublication(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Compile(PublicationBPMN, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseOnly200 is the baseline: the XML tree alone, same input.
func BenchmarkParseOnly200(b *testing.B) {
	xml := generatedFlow(200)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(xml); err != nil {
			b.Fatal(err)
		}
	}
}
