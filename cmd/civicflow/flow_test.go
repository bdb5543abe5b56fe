package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// flow validate prints the lint problems, one a line, and fails on errors.
func TestFlowValidateLint(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, runFlow(context.Background(), []string{"validate", "../../designer/flows/publication.bpmn"}, &out, &errOut))
	require.Contains(t, out.String(), "valid")

	bad := filepath.Join(t.TempDir(), "bad.bpmn")
	require.NoError(t, os.WriteFile(bad, []byte(`<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:civicflow="https://civicflow.fr/schema/bpmn/1.0" id="d">
<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="s" name="Début"/>
  <bpmn:parallelGateway id="g"/>
  <bpmn:serviceTask id="a" name="A" civicflow:activity="civicflow.noop"/>
  <bpmn:serviceTask id="b" name="B" civicflow:activity="civicflow.noop"/>
  <bpmn:parallelGateway id="j"/>
  <bpmn:scriptTask id="x" name="X"/>
  <bpmn:endEvent id="e" name="Fin"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
  <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="a"/>
  <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="b"/>
  <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="j"/>
  <bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="j"/>
  <bpmn:sequenceFlow id="f6" sourceRef="j" targetRef="x"/>
  <bpmn:sequenceFlow id="f7" sourceRef="x" targetRef="e"/>
</bpmn:process></bpmn:definitions>`), 0o600))
	out.Reset()
	errOut.Reset()
	err := runFlow(context.Background(), []string{"validate", bad}, &out, &errOut)
	require.Equal(t, exitCode(1), err)
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Contains(t, lines, bad+": x: error [civicflow/subset]: script tasks are not supported: run the logic in an activity (service task)")
}
