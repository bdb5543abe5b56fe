package workflows

import "time"

// ServiceHeartbeatTimeout is the heartbeat timeout of service tasks: every
// service-task activity heartbeats (activities.Data does it for all of
// them, every second), so a worker that dies in the middle of one — even
// with kill -9, even with its whole process — is noticed within this delay
// and the activity is retried, where its last checkpoint lets it resume,
// instead of waiting for the one-hour start-to-close timeout.
const ServiceHeartbeatTimeout = 15 * time.Second

// Progress is the heartbeat detail of a running service-task activity: the
// node, the step it is in and how far it went. GET /api/v1/instances/{id}
// shows it for the activities in flight.
type Progress struct {
	Node string `json:"node"`
	// Step names what the activity does now (read, validate, load, index…).
	Step  string `json:"step,omitempty"`
	Done  int64  `json:"done"`
	Total int64  `json:"total,omitempty"` // 0: not known
	// Unit of Done and Total: "rows" (default) or "bytes".
	Unit string `json:"unit,omitempty"`
	// Resumed is what an earlier attempt had done and this one kept.
	Resumed int64 `json:"resumed,omitempty"`
}
