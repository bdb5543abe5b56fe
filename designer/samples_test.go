package designer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCamundaSamples pins the outcome for every real file in
// testdata/camunda (see its SOURCES.md). Activity names are foreign there, so
// AnyActivity is set; "refused" lists element ids with a message fragment,
// all of which must be reported.
func TestCamundaSamples(t *testing.T) {
	type want struct{ id, msg string }
	table := map[string][]want{
		"berndruecker-onboarding-ext__customer-onboarding-extended.bpmn": {
			{"Activity_06r19b0", "call activities"}, {"TaskValidateCustomerApplication", "business rule"},
			{"TaskProcessApplicationManually", "without assignment"}},
		"berndruecker-onboarding-ext__customer-scoring.bpmn": {
			{"TaskWaitForScoringResult", "receive tasks"}, {"TaskSendScoringRequest", "send tasks"}},
		"berndruecker-onboarding__customer-onboarding.bpmn": {{"TaskApproveCustomerOrder", "without assignment"}},
		"bpmn-driven-testing__callActivitySubProcess.bpmn": {
			{"messageStartEvent", "message start"}, {"signalStartEvent", "signal start"},
			{"errorEndEvent", "error end"}, {"escalationEndEvent", "escalation end"}, {"signalEndEvent", "signal end"}},
		"bpmn-driven-testing__simpleTimerStartEvent.bpmn": nil,
		"bpmn-driven-testing__simpleUserTask.bpmn": {
			{"userTaskWithLinkedForm", "without assignment"}, {"userTaskWithEmbeddedForm", "without assignment"}},
		"bpmn-driven-testing__userTaskTimer.bpmn": {{"userTask", "without assignment"}},
		"bpmn-js-examples__diagram.bpmn": {
			{"sid-52EB1772-F36E-433E-8F5B-D5DFD26E6F26", "untyped task"}, {"sid-E49425CF-8287-4798-B622-D2A7D78EF00B", "untyped task"}},
		"bpmn-js-examples__nested-subprocesses.bpmn": {
			{"sid-C586DCF2-0B1B-4878-8042-F9869023F21B", "error boundary"},
			{"sid-9E3BA75C-29DD-4DAC-8283-8FDE4E9A6724", "without assignment"}},
		"bpmn-js-examples__pizza-collaboration.bpmn": {{"_1275940932088", "2 processes"}},
		"bpmn-js__kitchen-sink.bpmn": {
			{"Gateway_0lwqw3q", "inclusive"}, {"Gateway_1gp70qr", "event-based"}, {"Activity_1ivfc6a", "call activities"},
			{"Activity_011s9cd", "script tasks"}, {"Activity_0pzvbay", "multi-instance"}, {"Activity_088fmm5", "event sub-process"}},
		"camunda-bpm-examples__camunda-testing-job-announcement-publication.bpmn": {
			{"publish_announcement_website", "Camunda 7"}, {"Flow_0zn9zem", "JUEL"}},
		"camunda-bpm-examples__camunda-testing-job-announcement.bpmn": {
			{"publication", "call activities"}, {"Flow_1gfi885", "JUEL"}},
		"camunda-bpm-examples__loan-granting.bpmn": {
			{"SubProcess_16kr5xn", "multi-instance"}, {"StartEvent_1", "cron"}, {"SequenceFlow_17zmvol", "JUEL"}},
		"lib-bpmn-engine__exclusive-gateway-multiple-tasks.bpmn":         nil,
		"lib-bpmn-engine__inclusive-gateway-multiple-tasks.bpmn":         {{"Gateway_01wr5g0", "inclusive"}},
		"lib-bpmn-engine__ordering-items-workflow.bpmn":                  {{"Gateway_1p6s0kg", "event-based"}, {"payment-received", "message intermediate"}},
		"lib-bpmn-engine__subprocess-fork-controlled-parallel-join.bpmn": nil,
		"lib-bpmn-engine__user-tasks-with-assignments.bpmn":              nil,
		"lib-bpmn-engine__user-tasks-with-parallel-gateways.bpmn":        nil,
		"zeebe-process-test__automated-tests.bpmn":                       {{"", "multi-instance"}},
		"zeebe-process-test__looping-servicetask.bpmn":                   nil,
		"zeebe-process-test__multiple-tasks.bpmn":                        nil,
		"zeebe-process-test__pr-created.bpmn": {
			{"triggerTests", "call activities"}, {"prCreated", "message start"}, {"Gateway_1wymgxc", "event-based"},
			{"requestReview", "without assignment"}},
		"zeebe-process-test__test_timer_events.bpmn": nil,
	}
	files, err := filepath.Glob("testdata/camunda/*.bpmn")
	require.NoError(t, err)
	require.Len(t, files, len(table), "every sample has a row")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			wants, ok := table[name]
			require.True(t, ok, "no expectation for %s", name)
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			g, problems, err := Compile(data, Options{AnyActivity: true})
			require.NoError(t, err)
			if wants == nil {
				require.Empty(t, problems)
				require.NotNil(t, g)
				return
			}
			require.Nil(t, g)
			for _, w := range wants {
				found := false
				for _, p := range problems {
					found = found || ((w.id == "" || p.ElementID == w.id) && strings.Contains(p.Message, w.msg))
				}
				require.True(t, found, "want %s: %q among %v", w.id, w.msg, problems)
			}
		})
	}
}

// With the product's activity list, foreign task types are named.
func TestUnknownActivities(t *testing.T) {
	data, err := os.ReadFile("testdata/camunda/zeebe-process-test__multiple-tasks.bpmn")
	require.NoError(t, err)
	_, problems, err := Compile(data, Options{})
	require.NoError(t, err)
	require.Len(t, problems, 3)
	require.Contains(t, problems[0].Message, "unknown activity")
}

func TestCompiledSamplesDetails(t *testing.T) {
	compile := func(name string) *Graph {
		data, err := os.ReadFile("testdata/camunda/" + name)
		require.NoError(t, err)
		g, problems, err := Compile(data, Options{AnyActivity: true})
		require.NoError(t, err)
		require.Empty(t, problems)
		return g
	}
	g := compile("lib-bpmn-engine__user-tasks-with-assignments.bpmn")
	var groups []Candidate
	for _, id := range g.NodeIDs() {
		if u := g.Nodes[id].User; u != nil {
			groups = append(groups, u.Candidates...)
		}
	}
	require.Equal(t, []Candidate{{Role: "sales"}, {Role: "marketing"}, {Role: "support"}}, groups)

	g = compile("zeebe-process-test__looping-servicetask.bpmn")
	var outs []Mapping
	for _, id := range g.NodeIDs() {
		if s := g.Nodes[id].Service; s != nil {
			outs = append(outs, s.Outputs...)
		}
	}
	require.Contains(t, outs, Mapping{Source: "loopAmount + 1", Target: "loopAmount"})

	g = compile("zeebe-process-test__test_timer_events.bpmn")
	var timers []string
	terminate := 0
	for _, id := range g.NodeIDs() {
		n := g.Nodes[id]
		if n.Timer != nil {
			timers = append(timers, n.Timer.Value)
		}
		if n.Terminate {
			terminate++
		}
	}
	require.ElementsMatch(t, []string{"PT1S", "P30D"}, timers)
	require.Equal(t, 2, terminate)

	g = compile("bpmn-driven-testing__simpleTimerStartEvent.bpmn")
	require.Len(t, g.TimerStarts, 1)

	g = compile("lib-bpmn-engine__subprocess-fork-controlled-parallel-join.bpmn")
	subs := 0
	for _, l := range g.Index() {
		if l.Node.Sub != nil {
			subs++
			require.NotEmpty(t, l.Node.Sub.Start)
		}
	}
	require.Equal(t, 2, subs)
}

func TestFormSamples(t *testing.T) {
	for name, keys := range map[string][]string{
		"camunda-8-js-sdk__test-basic-form.form": nil, "camunda-bpm-examples__task-form.form": nil, "zeebe-process-test__test-form-v2.form": nil,
	} {
		_ = keys
		data, err := os.ReadFile("testdata/camunda/" + name)
		require.NoError(t, err)
		f, err := ParseForm(data)
		require.NoError(t, err, name)
		require.NotEmpty(t, f.Fields, name)
		for _, fl := range f.Fields {
			require.NotEmpty(t, fl.Key)
			require.NotEmpty(t, fl.ValueType)
		}
	}
}
