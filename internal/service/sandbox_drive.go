package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/workflows"
)

// Driving a sandbox run by hand: the designer answers its service tasks
// (output variables, or a failure to try the error paths) and fires its
// timers now. Both go through the interpreter's sandbox updates
// (workflows/sandbox.go), recorded in the run's history: the run stays
// deterministic, nothing is kept in this process's memory, and a worker on
// another machine sees the same answers.

// SandboxServicesMemo is the memo key holding the run's service tasks and
// their activities (node id → activity name), to prefill the answers.
const SandboxServicesMemo = "sandboxServices"

// Bounds of the designer's answers.
const (
	maxSandboxAnswers  = 200
	maxSandboxFailText = 500
)

// SandboxService is a service task of a sandbox run waiting for the
// designer's answer, or stopped on an incident.
type SandboxService struct {
	Node     string `json:"node"`
	Activity string `json:"activity"`
	Label    string `json:"label,omitempty"` // the activity's French label
	// Answer prefills the editor: the answer given last for this task, or
	// the activity's sample without the variables the run already has.
	Answer   workflows.SandboxAnswer `json:"answer"`
	Waiting  bool                    `json:"waiting,omitempty"`
	Incident string                  `json:"incident,omitempty"`
}

// SandboxTimer is a waiting timer of a sandbox run: an intermediate timer,
// or a boundary timer of an open user task.
type SandboxTimer struct {
	Node     string    `json:"node"`
	Task     string    `json:"task,omitempty"` // the boundary's task id
	Deadline time.Time `json:"deadline"`
}

// sandboxServices lists a graph's service tasks and their activities.
func sandboxServices(g *designer.Graph) map[string]string {
	out := map[string]string{}
	for id, loc := range g.Index() {
		if loc.Node.Kind == designer.KindService && loc.Node.Service != nil {
			out[id] = loc.Node.Service.Activity
		}
	}
	return out
}

// checkSandboxAnswer bounds an answer as start variables are, and its
// failure text; it returns the answer with the text trimmed.
func checkSandboxAnswer(a workflows.SandboxAnswer) (workflows.SandboxAnswer, error) {
	a.Fail = strings.TrimSpace(a.Fail)
	if !utf8.ValidString(a.Fail) || utf8.RuneCountInString(a.Fail) > maxSandboxFailText {
		return a, Errorf(Invalid, "the failure message must be text of at most %d characters", maxSandboxFailText).
			French("Le message d'échec doit être un texte d'au plus %d caractères.", maxSandboxFailText)
	}
	if a.Fail != "" {
		a.Variables = nil
		return a, nil
	}
	// The bounds of start variables, save the names they reserve: the
	// real activities return those (normalized…), so may an answer.
	if err := checkStartVariables(a.Variables); err != nil {
		var se *Error
		if errors.As(err, &se) && se.Kind == Invalid {
			se.Problems = slices.DeleteFunc(se.Problems, func(p Problem) bool { return strings.HasPrefix(p.Message, "reserved: ") })
			if len(se.Problems) == 0 {
				return a, nil
			}
		}
		if errors.As(err, &se) && se.Fr == "" {
			se.Fr = "La réponse doit être un objet JSON de variables aux noms simples (lettres, chiffres, _), sans les variables réservées, de taille raisonnable."
		}
		return a, err
	}
	return a, nil
}

// sandboxPrefill is the answer an editor shows for a service task.
func sandboxPrefill(st workflows.State, node, activity string) workflows.SandboxAnswer {
	a, ok := st.Answers[node]
	if ok && a.Fail == "" {
		return a
	}
	info, _ := designer.ActivityInfoOf(activity)
	vars := map[string]any{}
	for k, v := range info.Sample {
		if _, set := st.Variables[k]; !set {
			vars[k] = v
		}
	}
	// After a failure, the editor offers the sample again beside it.
	return workflows.SandboxAnswer{Variables: vars, Fail: a.Fail}
}

func sandboxWaitingServices(st workflows.State, services map[string]string) []SandboxService {
	out := []SandboxService{}
	seen := map[string]int{}
	add := func(node string) *SandboxService {
		if i, ok := seen[node]; ok {
			return &out[i]
		}
		act, ok := services[node]
		if !ok {
			return nil
		}
		info, _ := designer.ActivityInfoOf(act)
		seen[node] = len(out)
		out = append(out, SandboxService{Node: node, Activity: act, Label: info.Label, Answer: sandboxPrefill(st, node, act)})
		return &out[len(out)-1]
	}
	for _, t := range st.Tokens {
		if t.Wait == workflows.WaitAnswer {
			if s := add(t.Node); s != nil {
				s.Waiting = true
			}
		}
	}
	for _, inc := range st.Incidents {
		if s := add(inc.Node); s != nil {
			s.Incident = inc.Message
		}
	}
	return out
}

func sandboxTimers(st workflows.State) []SandboxTimer {
	out := []SandboxTimer{}
	for _, t := range st.Tokens {
		if t.Wait == "timer" && t.Deadline != nil && !slices.ContainsFunc(out, func(x SandboxTimer) bool { return x.Node == t.Node }) {
			out = append(out, SandboxTimer{Node: t.Node, Deadline: *t.Deadline})
		}
	}
	for _, b := range st.Boundaries {
		if !slices.ContainsFunc(out, func(x SandboxTimer) bool { return x.Node == b.Node }) {
			out = append(out, SandboxTimer{Node: b.Node, Task: b.TaskID, Deadline: b.Deadline})
		}
	}
	return out
}

// sandboxUpdate sends a sandbox update and words its refusals for the
// designer (fr: by ApplicationError type).
func (s *Service) sandboxUpdate(ctx context.Context, id, name string, arg any, fr map[string]string) error {
	_, err := s.update(ctx, id, name, arg)
	if err == nil {
		return nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		switch app.Type() {
		case workflows.ErrNotSandbox:
			return &Error{Kind: Forbidden, Msg: app.Message(), Err: err, Fr: "Seul un essai se pilote ainsi."}
		case workflows.ErrNotWaiting, workflows.ErrInvalidData, workflows.ErrIncidentNotFound:
			msg := fr[app.Type()]
			if msg == "" {
				msg = "L'essai a déjà avancé : cette action ne s'applique plus."
			}
			return &Error{Kind: Conflict, Msg: app.Message(), Err: err, Fr: msg}
		}
	}
	var se *Error
	if errors.As(err, &se) && se.Kind == Conflict && strings.Contains(se.Msg, "has ended") {
		se.Fr = "L'essai est terminé."
	}
	return err
}

// AnswerSandboxService gives the answer of a service task of a sandbox run:
// the token waiting there (pause) goes on with it, and so will later
// arrivals (a loop, a retry after an incident).
func (s *Service) AnswerSandboxService(ctx context.Context, c Caller, id, node string, a workflows.SandboxAnswer) error {
	services, err := s.sandboxRun(ctx, c, id)
	if err != nil {
		return err
	}
	if _, ok := services[node]; !ok {
		return Errorf(Invalid, "%q is not a service task of this run", node).
			French("« %s » n'est pas une tâche de service de cet essai.", node)
	}
	if a, err = checkSandboxAnswer(a); err != nil {
		return err
	}
	return s.sandboxUpdate(ctx, id, workflows.UpdateSandboxAnswer, workflows.SandboxAnswerRequest{Node: node, Answer: a},
		map[string]string{workflows.ErrInvalidData: "« " + node + " » n'est pas une tâche de service de cet essai."})
}

// FireSandboxTimer fires a waiting timer of a sandbox run now.
func (s *Service) FireSandboxTimer(ctx context.Context, c Caller, id, node string) error {
	if err := s.sandboxOwned(ctx, c, id); err != nil {
		return err
	}
	if node == "" || len(node) > 255 {
		return Errorf(Invalid, "name the timer").French("Indiquez la minuterie à déclencher.")
	}
	return s.sandboxUpdate(ctx, id, workflows.UpdateSandboxFire, workflows.SandboxFireRequest{Node: node},
		map[string]string{workflows.ErrNotWaiting: "Cette minuterie n'attend pas (ou plus) : rien à déclencher."})
}

// ResolveSandboxIncident resolves an incident of a sandbox run: retry (the
// service task runs again, with the answer given meanwhile) or skip.
func (s *Service) ResolveSandboxIncident(ctx context.Context, c Caller, id, node, action string) error {
	if err := s.sandboxOwned(ctx, c, id); err != nil {
		return err
	}
	if action != workflows.ResolveRetry && action != workflows.ResolveSkip {
		return Errorf(Invalid, "action must be retry or skip").French("Action inconnue : « réessayer » ou « passer ».")
	}
	actor := workflows.Actor{ID: c.Principal.UserID, Username: c.Principal.Username}
	return s.sandboxUpdate(ctx, id, workflows.UpdateResolve, workflows.ResolveRequest{Node: node, Action: action, Actor: actor},
		map[string]string{workflows.ErrIncidentNotFound: "Il n'y a pas (ou plus) d'incident sur cet élément.",
			workflows.ErrInvalidData: "Cet incident ne se règle pas ainsi : une passerelle ne peut pas être passée."})
}
