package designer

import "strings"

// French wording of the compiler's problems, for the designer's pages (the
// API keeps the English Message). Unknown messages come back unchanged.

var problemsFR = map[string]string{
	refusedReason["task"]:                   "tâche sans type : faites-en une tâche de service (activité civicflow.noop pour une étape provisoire) ou une tâche humaine",
	refusedReason["scriptTask"]:             "les tâches de script ne sont pas prises en charge : faites le traitement dans une activité (tâche de service)",
	refusedReason["sendTask"]:               "les tâches d'envoi ne sont pas prises en charge : utilisez une tâche de service avec civicflow.notify",
	refusedReason["receiveTask"]:            "les tâches de réception (messages) ne sont pas prises en charge",
	refusedReason["businessRuleTask"]:       "les tâches de règles métier (DMN) ne sont pas prises en charge",
	refusedReason["manualTask"]:             "les tâches manuelles ne sont pas prises en charge : utilisez une tâche humaine",
	refusedReason["callActivity"]:           "les appels de sous-processus ne sont pas pris en charge : mettez les étapes dans un sous-processus",
	refusedReason["inclusiveGateway"]:       "les passerelles inclusives ne sont pas prises en charge : utilisez des passerelles exclusives ou parallèles",
	refusedReason["eventBasedGateway"]:      "les passerelles basées sur les événements ne sont pas prises en charge",
	refusedReason["complexGateway"]:         "les passerelles complexes ne sont pas prises en charge",
	refusedReason["intermediateThrowEvent"]: "les événements intermédiaires émis ne sont pas pris en charge",
	refusedReason["transaction"]:            "les sous-processus de transaction ne sont pas pris en charge",
	refusedReason["adHocSubProcess"]:        "les sous-processus ad hoc ne sont pas pris en charge",
	refusedReason["eventSubProcess"]:        "les sous-processus d'événement ne sont pas pris en charge",
	"user task without assignment: set civicflow:role or zeebe candidateGroups":                                                   "tâche humaine sans attribution : choisissez un groupe candidat (rôle)",
	"service task without activity: set civicflow:activity or zeebe:taskDefinition type":                                          "tâche de service sans activité : choisissez un modèle d'activité civicflow",
	"service task without activity: Camunda 7 expressions, classes and external topics are not supported; set civicflow:activity": "tâche de service sans activité : les expressions, classes et topics externes de Camunda 7 ne sont pas pris en charge ; choisissez une activité civicflow",
	"civicflow:fourEyes cannot name the task itself":                                                                              "le principe des quatre yeux ne peut pas désigner la tâche elle-même",
}

var problemPrefixesFR = []struct{ en, fr string }{
	{"unknown activity ", "activité inconnue "},
	{"candidate group ", "groupe candidat "},
	{"civicflow:due: ", "délai (civicflow:due) : "},
	{"embedded form ", "formulaire intégré "},
	{"form field ", "champ de formulaire "},
}

// ProblemFR is a compiler problem's message in French (unchanged when no
// translation is known).
func ProblemFR(msg string) string {
	if fr, ok := problemsFR[msg]; ok {
		return fr
	}
	for _, p := range problemPrefixesFR {
		if rest, ok := strings.CutPrefix(msg, p.en); ok {
			return p.fr + strings.Replace(rest, " (known: ", " (activités connues : ", 1)
		}
	}
	return msg
}
