package service

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/tableschema"
	"github.com/civicflow/civicflow/workflows"
)

// Dashboard is what the home page shows a person: what waits for them,
// what they started, where the datasets they can see stand and, for those
// who see every department, where the collectivité stands on its open-data
// obligations.
type Dashboard struct {
	// MyTasks are the first open tasks offered to the person (the oldest
	// due first); OpenTasks and OverdueTasks count them all.
	MyTasks      []TaskView
	OpenTasks    int
	OverdueTasks int
	// ForSignature are the open approval tasks offered to the person (the
	// DGS's parapheur); Signatures counts them.
	ForSignature []TaskView
	Signatures   int
	// Queue is, for a steward, the open tasks of their departments by
	// department and role (who has what to do).
	Queue []QueueLine
	// MyRequests are the requests the person started and that still run.
	MyRequests []store.Instance
	// Datasets counts the datasets the person can see by state.
	Datasets DatasetCounts
	// Obligations is set for those who may read every department's datasets.
	Obligations []Obligation
}

// QueueLine is a number of open tasks of a department for a role.
type QueueLine struct {
	Department string
	Role       string
	Open       int
	Overdue    int
}

// DatasetCounts are datasets by state.
type DatasetCounts struct {
	Total     int
	Draft     int // no release yet
	Released  int // a release, not exposed
	Exposed   int // an exposed release, private
	Published int // an exposed release, public
	Late      int // past their declared update frequency
}

// Obligation is where one dataset of the socle commun stands.
type Obligation struct {
	Schema      string // the schema's name ("scdl-subventions")
	Title       string // its title
	Datasets    []ObligationDataset
	Published   bool // at least one public dataset with an exposed release
	Late        bool // every published dataset is past its update frequency
	Missing     bool // no dataset follows this schema
	LastRelease time.Time
}

// ObligationDataset is a dataset following an obligation's schema.
type ObligationDataset struct {
	ID, Title, Department string
	Published             bool
	LastRelease           time.Time
	Due                   time.Time // when the next release is due (zero: no frequency)
	Late                  bool
}

// SocleCommun are the shipped schemas the dashboard follows as the
// collectivité's obligations: the Socle commun des données locales
// (SCDL, OpenDataFrance), public procurement (DECP), charging points
// (IRVE) and defibrillators (DAE), which national rules or the SCDL ask
// local authorities to publish.
func SocleCommun() []tableschema.Info {
	var out []tableschema.Info
	for _, in := range tableschema.Shipped() {
		if strings.HasPrefix(in.Name, "scdl-") || in.Name == "decp-marches-publics" || in.Name == "irve-statique" || in.Name == "dae" {
			out = append(out, in)
		}
	}
	return out
}

// frequencyPeriods are how long a release stays current for each update
// frequency (a grace of a tenth is added); frequencies without a period
// (unknown, punctual, irregular, notPlanned…) are never late.
var frequencyPeriods = map[string]time.Duration{
	"continuous": time.Hour, "hourly": time.Hour, "daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour,
	"biweekly": 14 * 24 * time.Hour, "semimonthly": 15 * 24 * time.Hour, "monthly": 31 * 24 * time.Hour,
	"bimonthly": 62 * 24 * time.Hour, "quarterly": 92 * 24 * time.Hour, "semiannual": 183 * 24 * time.Hour,
	"annual": 366 * 24 * time.Hour, "biennial": 2 * 366 * 24 * time.Hour, "triennial": 3 * 366 * 24 * time.Hour,
}

// NextDue is when a dataset released at last with frequency is due again
// (zero when its frequency sets no date).
func NextDue(frequency string, last time.Time) time.Time {
	p, ok := frequencyPeriods[frequency]
	if !ok || last.IsZero() {
		return time.Time{}
	}
	return last.Add(p + p/10)
}

// dashboardTasks is how many tasks the dashboard lists in each list.
const dashboardTasks = 5

// Dashboard gathers the person's home page.
func (s *Service) Dashboard(ctx context.Context, c Caller, now time.Time) (Dashboard, error) {
	var d Dashboard
	mine, err := s.ListTasks(ctx, c, TaskFilter{Limit: dashboardTasks})
	if err != nil {
		return d, err
	}
	d.MyTasks, d.OpenTasks = mine.Tasks, mine.Total
	overdue, err := s.ListTasks(ctx, c, TaskFilter{Overdue: true, Limit: 1})
	if err != nil {
		return d, err
	}
	d.OverdueTasks = overdue.Total
	sign, err := s.ListTasks(ctx, c, TaskFilter{Role: auth.RoleApprover, Limit: dashboardTasks})
	if err != nil {
		return d, err
	}
	d.ForSignature, d.Signatures = sign.Tasks, sign.Total
	if d.Queue, err = s.queue(ctx, c, now); err != nil {
		return d, err
	}
	if !c.Principal.Anonymous() && c.Principal.Username != "" {
		if d.MyRequests, err = s.store.ListInstances(ctx, store.InstanceFilter{StartedBy: c.Principal.Username,
			Status: workflows.StatusRunning, Limit: dashboardTasks}); err != nil {
			return d, err
		}
		more, err := s.store.ListInstances(ctx, store.InstanceFilter{StartedBy: c.Principal.Username,
			Status: workflows.StatusIncident, Limit: dashboardTasks})
		if err != nil {
			return d, err
		}
		d.MyRequests = append(more, d.MyRequests...)
	}
	datasets, err := s.store.DatasetStates(ctx, s.visibleDepartments(ctx, c))
	if err != nil {
		return d, err
	}
	d.Datasets.Total = len(datasets)
	for _, ds := range datasets {
		switch {
		case ds.LastRelease == nil:
			d.Datasets.Draft++
		case ds.ExposedRelease == nil:
			d.Datasets.Released++
		case ds.Visibility == store.VisibilityPublic:
			d.Datasets.Published++
		default:
			d.Datasets.Exposed++
		}
		if late(ds, now) {
			d.Datasets.Late++
		}
	}
	if s.auth != nil && slices.Contains(s.auth.Departments(ctx, c.Principal, "datasets", "read"), auth.AllDepartments) {
		d.Obligations = obligations(datasets, now)
	}
	return d, nil
}

// queue is, for a steward, the open tasks of the departments they steward.
func (s *Service) queue(ctx context.Context, c Caller, now time.Time) ([]QueueLine, error) {
	if s.auth == nil || c.Principal.Anonymous() {
		return nil, nil
	}
	var depts []string
	for _, m := range c.Principal.Memberships {
		if m.Role == auth.RoleSteward {
			depts = append(depts, m.Department)
		}
	}
	if len(depts) == 0 {
		return nil, nil
	}
	if slices.Contains(depts, auth.AllDepartments) {
		depts = []string{auth.AllDepartments}
	}
	lines, err := s.store.OpenTaskCounts(ctx, depts, now)
	if err != nil {
		return nil, err
	}
	out := make([]QueueLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, QueueLine{Department: l.Department, Role: l.Role, Open: l.Open, Overdue: l.Overdue})
	}
	return out, nil
}

// late reports whether a released dataset is past its update frequency.
func late(ds store.DatasetState, now time.Time) bool {
	if ds.LastRelease == nil {
		return false
	}
	due := NextDue(ds.Frequency, *ds.LastRelease)
	return !due.IsZero() && now.After(due)
}

func obligations(datasets []store.DatasetState, now time.Time) []Obligation {
	bySchema := map[string][]store.DatasetState{}
	for _, ds := range datasets {
		bySchema[ds.SchemaName] = append(bySchema[ds.SchemaName], ds)
	}
	var out []Obligation
	for _, in := range SocleCommun() {
		o := Obligation{Schema: in.Name, Title: in.Title}
		for _, ds := range bySchema[in.Name] {
			od := ObligationDataset{ID: ds.ID, Title: ds.Title, Department: ds.Department,
				Published: ds.ExposedRelease != nil && ds.Visibility == store.VisibilityPublic}
			if ds.LastRelease != nil {
				od.LastRelease = *ds.LastRelease
				od.Due = NextDue(ds.Frequency, od.LastRelease)
			}
			od.Late = od.Published && late(ds, now)
			if od.LastRelease.After(o.LastRelease) {
				o.LastRelease = od.LastRelease
			}
			o.Datasets = append(o.Datasets, od)
		}
		o.Missing = len(o.Datasets) == 0
		late := true
		for _, od := range o.Datasets {
			if od.Published {
				o.Published = true
				late = late && od.Late
			}
		}
		o.Late = o.Published && late
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// rank orders obligations: late first, then missing, then unpublished, then fine.
func rank(o Obligation) int {
	switch {
	case o.Late:
		return 0
	case o.Missing:
		return 1
	case !o.Published:
		return 2
	}
	return 3
}
