// Package activities holds every side effect of civicflow's flows: each
// area is a struct holding its dependencies, whose methods are registered
// under stable names ("civicflow.ingest", "civicflow.task.open"…) that
// BPMN service tasks and the interpreter call.
package activities
