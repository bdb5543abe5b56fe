package activities

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"

	cfmail "github.com/civicflow/civicflow/internal/mail"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/workflows"
)

// notifyKey identifies one notification: the workflow (instance), its run,
// the node and the occurrence (the activity id, stable across retries and
// new for every firing of a boundary timer).
func notifyKey(ctx context.Context, in workflows.ActivityInput) string {
	run, occurrence := "", ""
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		run, occurrence = info.WorkflowExecution.RunID, info.ActivityID
	}
	return strings.Join([]string{in.InstanceID, run, in.NodeID, "notify", occurrence}, "/")
}

// enqueueMail renders the notification for its recipients and puts it in
// the outbox (status skipped when nobody has an address).
func (d *Data) enqueueMail(ctx context.Context, in workflows.ActivityInput, n *store.Notification, key string) (store.MailMessage, error) {
	task, err := d.taskOf(ctx, in)
	if err != nil {
		return store.MailMessage{}, err
	}
	to, err := d.recipients(ctx, in, n.Recipient, task)
	if err != nil {
		return store.MailMessage{}, err
	}
	data, err := d.mailData(ctx, in, task)
	if err != nil {
		return store.MailMessage{}, err
	}
	subject, body, err := cfmail.Render(n.Template, data)
	if err != nil {
		return store.MailMessage{}, badInput("civicflow.notify: %v", err)
	}
	id := n.ID
	m := store.MailMessage{Key: key, NotificationID: &id, MessageID: cfmail.MessageID(key, d.Mail.Sender.Config().From),
		Subject: subject, Body: body}
	if len(to) == 0 {
		m.Status = store.MailSkipped
		m.LastError = fmt.Sprintf("nobody concerned by %q has an e-mail address", n.Recipient)
		d.log().Warn("e-mail not sent: no recipient with an address", "to", n.Recipient, "instance", in.InstanceID, "node", in.NodeID)
	}
	return d.Store.EnqueueMail(ctx, m, to)
}

// taskOf returns the open task a reminder is about: the one named by param
// task (a user task id), else the instance's open task whose candidates
// the param to names, else its only (or newest) open task; nil if none.
func (d *Data) taskOf(ctx context.Context, in workflows.ActivityInput) (*store.Task, error) {
	tasks, err := d.Store.OpenTasksOfInstance(ctx, in.InstanceID)
	if err != nil || len(tasks) == 0 {
		return nil, err
	}
	if node := in.Params["task"]; node != "" {
		for i := range tasks {
			if tasks[i].Node == node {
				return &tasks[i], nil
			}
		}
		return nil, nil
	}
	role, _, _ := strings.Cut(in.Params["to"], "@")
	for i := range tasks {
		for _, c := range tasks[i].Candidates() {
			if r, _, _ := strings.Cut(c, "@"); r == role {
				return &tasks[i], nil
			}
		}
	}
	return &tasks[0], nil
}

// recipients resolves the param to into e-mail addresses:
//   - an address (name@domain.tld) is used as is;
//   - "candidates", or a role that the task offers itself to: the task's
//     assignee if it is claimed, else its candidate users and the members
//     of its candidate groups;
//   - a user name: that user;
//   - a role, or role@department: its members in the task's (else the
//     instance's) department, or in every department.
//
// Users without an address or disabled are left out.
func (d *Data) recipients(ctx context.Context, in workflows.ActivityInput, to string, task *store.Task) ([]string, error) {
	if addr, ok := literalAddress(to); ok {
		return []string{addr}, nil
	}
	var people []store.Addressee
	add := func(as []store.Addressee, err error) error {
		people = append(people, as...)
		return err
	}
	role, dept, fixed := strings.Cut(to, "@")
	if task != nil && !fixed && (to == "candidates" || offersTo(*task, role)) {
		if task.Assignee != "" {
			if err := add(d.Store.UsersWithEmail(ctx, []string{task.Assignee})); err != nil {
				return nil, err
			}
		} else {
			if err := add(d.Store.UsersWithEmail(ctx, task.CandidateUsers())); err != nil {
				return nil, err
			}
			for _, c := range task.Candidates() {
				r, cd, _ := strings.Cut(c, "@")
				if err := add(d.Store.MembersWithEmail(ctx, r, cd)); err != nil {
					return nil, err
				}
			}
		}
		return addresses(people), nil
	}
	if !fixed {
		u, err := d.Store.UsersWithEmail(ctx, []string{to})
		if err != nil {
			return nil, err
		}
		if len(u) > 0 {
			return addresses(u), nil
		}
		if _, err := d.Store.UserByUsername(ctx, to); err == nil {
			return nil, nil // a user without an address
		}
		dept = in.Department
		if task != nil {
			dept = task.Department
		}
	}
	if err := add(d.Store.MembersWithEmail(ctx, role, dept)); err != nil {
		return nil, err
	}
	return addresses(people), nil
}

func offersTo(t store.Task, role string) bool {
	for _, c := range t.Candidates() {
		if r, _, _ := strings.Cut(c, "@"); r == role {
			return true
		}
	}
	return false
}

// literalAddress accepts name@domain.tld (a dot in the domain tells it
// from role@department).
func literalAddress(s string) (string, bool) {
	_, domain, ok := strings.Cut(s, "@")
	if !ok || !strings.Contains(domain, ".") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", false
	}
	return a.Address, true
}

func addresses(as []store.Addressee) []string {
	var out []string
	for _, a := range as {
		addr := strings.ToLower(strings.TrimSpace(a.Email))
		if addr != "" && !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return out
}

// mailData gathers what the templates name: the task, the flow and
// department names, the dataset's title, the due date and the link.
func (d *Data) mailData(ctx context.Context, in workflows.ActivityInput, task *store.Task) (cfmail.Data, error) {
	data := cfmail.Data{Flow: in.Flow, Department: in.Department, Instance: in.InstanceID}
	base := strings.TrimSuffix(d.BaseURL, "/")
	data.Link = base + "/requests/" + url.PathEscape(in.InstanceID)
	flowKey := in.Flow
	if task != nil {
		data.Task = task.Name
		if data.Task == "" {
			data.Task = task.Node
		}
		data.Department = task.Department
		data.Link = base + "/tasks/" + url.PathEscape(task.ID)
		if task.Due != nil {
			data.Due = cfmail.DateFR(*task.Due)
		}
		if flowKey == "" {
			flowKey = task.FlowKey
		}
	} else {
		data.Task = in.NodeID
	}
	if flowKey != "" {
		data.Flow = flowKey
		if f, err := d.Store.Flow(ctx, flowKey); err == nil && f.Name != "" {
			data.Flow = f.Name
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return data, err
		}
	}
	if data.Department != "" {
		if dep, err := d.Store.Department(ctx, data.Department); err == nil && dep.Name != "" {
			data.Department = dep.Name
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return data, err
		}
	}
	if id := stringVar(in, "dataset"); id != "" {
		if ds, err := d.Store.Dataset(ctx, id); err == nil {
			data.Dataset = ds.Title
		} else if !errors.Is(err, store.ErrNotFound) {
			return data, err
		}
	}
	return data, nil
}
