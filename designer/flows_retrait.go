package designer

import _ "embed"

// RetraitBPMN is the default "retrait" flow deployed by --demo: the
// withdrawal of a published dataset. Started with the variable dataset, it
// asks the steward for the reason (request), the approver for the
// sign-off (approval, four-eyes against the initiator and the requester),
// then civicflow.withdraw takes the dataset out of the catalog and the
// records API, and makes it private on data.gouv.fr when it was pushed
// there. A refusal ends in "kept".
//
//go:embed flows/retrait.bpmn
var RetraitBPMN []byte

// RetraitKey is the flow key of RetraitBPMN.
const RetraitKey = "retrait"
