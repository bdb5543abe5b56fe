package auth

import (
	"slices"
	"strings"

	"github.com/civicflow/civicflow/internal/store"
)

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

// MayActOnTask is who may act on a task (claim, complete), and so whose
// inbox shows it: its assignee, a candidate user, or anyone holding one of
// its candidate groups (CanActOnTask), in their own right first, else
// through a delegation (onBehalfOf names the delegator).
//
// Inboxes apply the same rule in SQL: store.Tasks with OfferedTo(p) keeps
// exactly the tasks for which this returns ok (task_test.go checks that the
// two agree).
func MayActOnTask(p Principal, assignee string, candidateUsers, candidates []string, department string) (onBehalfOf string, ok bool) {
	if p.Anonymous() {
		return "", false
	}
	if (assignee != "" && assignee == p.Username) || slices.Contains(candidateUsers, p.Username) {
		return "", true
	}
	for _, c := range candidates {
		if who, ok := CanActOnTask(p, c, department); ok {
			if who == "" {
				return "", true
			}
			if onBehalfOf == "" {
				onBehalfOf = who
			}
		}
	}
	return onBehalfOf, onBehalfOf != ""
}

// OfferedTo is p as the inbox query sees it: the username, and the groups
// held in p's own right or through a delegation ("role@department", "*"
// for every department), that MayActOnTask matches against a task.
func OfferedTo(p Principal) store.Offeree {
	if p.Anonymous() {
		return store.Offeree{}
	}
	return store.Offeree{Username: p.Username, Groups: p.Groups()}
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
