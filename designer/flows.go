package designer

import _ "embed"

// PublicationBPMN is the default "publication" flow deployed by --demo:
// ingest → validate → (correction ↺) → review (steward) → approval (approver,
// four-eyes against the initiator and the correction's completer, reminder
// after 3 days) → publish → expose. A rejection at review or approval ends in
// "rejected"; "changes" sends the file back to correction.
//
//go:embed flows/publication.bpmn
var PublicationBPMN []byte

// PublicationKey is the flow key of PublicationBPMN.
const PublicationKey = "publication"
