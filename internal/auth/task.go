package auth

import "strings"

// CanActOnTask is the task-level rule the flow engine applies before a
// claim or a completion: may p act on a task whose candidate group is
// candidate? candidate is "role@department" for a fixed department, or a
// bare "role" meaning that role in department (the instance's). A role
// held in "*" matches every department (the DGS as approver). When the
// right comes from a délégation de signature, onBehalfOf names the
// delegator, to be recorded beside the actor.
func CanActOnTask(p Principal, candidate, department string) (onBehalfOf string, ok bool) {
	if p.Anonymous() {
		return "", false
	}
	role, dept, fixed := strings.Cut(strings.TrimSpace(candidate), "@")
	if !fixed {
		dept = department
	}
	return p.HasRole(role, dept)
}

// FourEyesOK is the four-eyes rule: the person acting (actor, and the
// delegator they act for, if any) must not be partner, e.g. the approver
// is not the submitter. An empty partner (nobody recorded) passes.
// Usernames compare case-insensitively.
func FourEyesOK(actorUsername, onBehalfOf, partnerUsername string) bool {
	if partnerUsername == "" {
		return true
	}
	if strings.EqualFold(actorUsername, partnerUsername) {
		return false
	}
	return onBehalfOf == "" || !strings.EqualFold(onBehalfOf, partnerUsername)
}
