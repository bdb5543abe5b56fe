// Package designer turns BPMN 2.0 XML, as drawn in the browser designer or in
// Camunda Modeler, into the compact Graph that the workflows interpreter runs.
//
// Compile parses the XML defensively (size, depth and token limits, no DTD or
// entities), keeps the executable subset described in DESIGN.md § Flows, and
// reports every problem it finds with the BPMN element id, so that a designer
// fixes all of them in one go.
//
// Decisions worth knowing:
//   - An untyped bpmn:task is refused: say what it does with a service task
//     (activity civicflow.noop for a placeholder) or a user task.
//   - Timer start events are compiled (Graph.TimerStarts) but not scheduled
//     here: the deploy layer creates the Temporal schedule, and the instance it
//     starts begins at that start event without waiting again.
//   - Conditions and mappings are expr-lang/expr expressions. A leading "="
//     marks the FEEL subset Camunda users write (=, and, or, not(), literals,
//     dotted paths, null), which is translated to expr.
//   - With several processes (a collaboration), the one marked
//     isExecutable="true" is compiled; if that does not single one out, the
//     file is refused.
package designer
