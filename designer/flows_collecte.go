package designer

import _ "embed"

// CollecteBPMN is the "collecte" flow: a nightly collection of a URL
// source into a dataset. A timer start event (every night at 2 h) runs
// civicflow.collect, a conditional request: an unchanged source ends the run
// at "unchanged", without any task; new content, staged as a new file of the
// dataset, is ingested, validated and reviewed by the steward, whose
// approval publishes a release of a valid file. It is deployed with
// ?department=D&variables={"dataset":…,"source":…}.
//
//go:embed flows/collecte.bpmn
var CollecteBPMN []byte

// CollecteKey is the flow key of CollecteBPMN.
const CollecteKey = "collecte"
