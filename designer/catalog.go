package designer

// The catalogue of what a designer may put in a flow: every activity of
// KnownActivities with its French label, help and parameters (the params a
// service task passes, as civicflow:param or zeebe:taskHeader), and the
// task kinds. The browser designer's element templates are generated from
// it (ElementTemplates), so that a designer picks "Valider contre un
// schéma" and fills its parameters rather than typing civicflow.validate.
// A test fails when an activity of KnownActivities has no entry here.

// Param types of ActivityParam.Type.
const (
	ParamString   = "string"   // free text
	ParamBoolean  = "boolean"  // "true" or "false"
	ParamURL      = "url"      // absolute http(s) URL
	ParamDuration = "duration" // Go duration ("30s", "2m")
	ParamNumber   = "number"   // decimal number
	ParamList     = "list"     // comma-separated values
	ParamJSON     = "json"     // a JSON document
	ParamChoice   = "choice"   // one of Choices (or a choice list given at generation)
)

// ActivityParam is one parameter of an activity.
type ActivityParam struct {
	Name     string
	Label    string // French
	Help     string // French
	Type     string // Param… constant
	Required bool
	Default  string
	Choices  []string // for ParamChoice; ParamNotifyTemplate is filled at generation
}

// ActivityInfo describes an activity for designers.
type ActivityInfo struct {
	Name   string // "civicflow.validate"
	Label  string // French: "Valider contre un schéma"
	Help   string // French, one or two sentences
	Params []ActivityParam
	// Sample is what the activity returns in the designer's sandbox
	// ("Essayer"): plausible variables of the same shape as the real
	// activity's, so that the gateways after it can be tried. A variable
	// the designer set at start wins over the sample.
	Sample map[string]any
}

// datasetParam is the param every data activity accepts when the instance
// has no "dataset" variable.
var datasetParam = ActivityParam{Name: "dataset", Label: "Jeu de données", Type: ParamString,
	Help: "Identifiant du jeu de données, quand la demande n'a pas de variable « dataset » (sinon, laisser vide)."}

// Activities is the catalogue of KnownActivities, in the same order.
var Activities = []ActivityInfo{
	{Name: "civicflow.ingest", Label: "Déposer un fichier (ingestion)",
		Help: "Lit le fichier déposé (variable « file ») du jeu de données, détecte son format et son encodage, et l'harmonise par défaut.",
		Params: []ActivityParam{datasetParam,
			{Name: "harmonise", Label: "Harmoniser à l'ingestion", Type: ParamBoolean, Default: "true",
				Help: "« false » garde les valeurs telles quelles (l'harmonisation peut venir d'une activité dédiée)."}},
		Sample: map[string]any{"normalized": "essai-sha256", "ingest": map[string]any{"rows": 42, "encoding": "UTF-8", "delimiter": ";"}}},
	{Name: "civicflow.validate", Label: "Valider contre un schéma",
		Help:   "Contrôle le fichier contre le schéma Table Schema du jeu de données et produit un rapport ; la variable « valid » dit s'il est conforme.",
		Params: []ActivityParam{datasetParam},
		Sample: map[string]any{"valid": true, "report": map[string]any{"rows": 42, "errors": 0, "warnings": 0}}},
	{Name: "civicflow.harmonise", Label: "Harmoniser les valeurs",
		Help: "Normalise dates, nombres, booléens, SIRET et codes communes ; les types des colonnes viennent du schéma ou du paramètre « kinds ».",
		Params: []ActivityParam{datasetParam,
			{Name: "kinds", Label: "Types des colonnes", Type: ParamList,
				Help: "colonne:type séparés par des virgules (types : number, integer, date, datetime, boolean, siret, siren, insee_commune, year, date_period)."}},
		Sample: map[string]any{"normalized": "essai-sha256", "harmonise": map[string]any{"rows": 42, "changed": 3}}},
	{Name: "civicflow.deduplicate", Label: "Dédoublonner",
		Help: "Regroupe les lignes en double (clé exacte ou rapprochement approché) et garde une ligne par groupe.",
		Params: []ActivityParam{datasetParam,
			{Name: "key", Label: "Colonnes clés", Type: ParamList, Help: "Colonnes dont l'égalité fait un doublon, séparées par des virgules."},
			{Name: "match", Label: "Colonnes à rapprocher", Type: ParamList, Help: "Colonnes comparées de façon approchée (noms, adresses), séparées par des virgules."},
			{Name: "threshold", Label: "Seuil de ressemblance", Type: ParamNumber, Help: "Entre 0 et 1 (par exemple 0.9) : au-dessus, deux lignes sont des doublons."}},
		Sample: map[string]any{"normalized": "essai-sha256", "deduplicate": map[string]any{"records": 42, "kept": 40, "duplicates": 2}}},
	{Name: "civicflow.anonymise", Label: "Anonymiser",
		Help: "Supprime, pseudonymise ou généralise les colonnes personnelles détectées (et celles que vous indiquez) avant toute publication.",
		Params: []ActivityParam{datasetParam,
			{Name: "fields", Label: "Colonnes supplémentaires", Type: ParamJSON,
				Help: "Liste JSON de colonnes à traiter en plus, par exemple [{\"name\":\"telephone\",\"action\":\"drop\"}]."}},
		Sample: map[string]any{"normalized": "essai-sha256", "anonymisation": []any{}}},
	{Name: "civicflow.release", Label: "Préparer une version",
		Help:   "Fige le fichier validé comme nouvelle version du jeu de données, sans la publier.",
		Params: []ActivityParam{datasetParam},
		Sample: map[string]any{"release": 1, "releaseInfo": map[string]any{"dataset": "essai", "number": 1, "rows": 42}}},
	{Name: "civicflow.publish", Label: "Publier la version",
		Help:   "Publie la version du jeu de données sur le portail (fichier, métadonnées DCAT).",
		Params: []ActivityParam{datasetParam},
		Sample: map[string]any{"release": 1, "releaseInfo": map[string]any{"dataset": "essai", "number": 1, "rows": 42}}},
	{Name: "civicflow.expose", Label: "Exposer en API",
		Help:   "Rend la dernière version publiée interrogeable par l'API de données.",
		Params: []ActivityParam{datasetParam},
		Sample: map[string]any{"exposed": 1}},
	{Name: "civicflow.notify", Label: "Envoyer un courriel",
		Help: "Écrit un courriel à partir d'un modèle aux personnes d'un rôle (ou à l'initiateur), par exemple pour relancer une tâche en retard.",
		Params: []ActivityParam{
			{Name: "to", Label: "Destinataires", Type: ParamString, Required: true,
				Help: "Un rôle (approver, steward…, éventuellement rôle@direction) ou « initiator »."},
			{Name: "template", Label: "Modèle de courriel", Type: ParamChoice, Required: true, Help: "Le modèle du message."},
			{Name: "task", Label: "Tâche concernée", Type: ParamString,
				Help: "Identifiant de la tâche humaine dont parle le message (par défaut : la tâche ouverte des destinataires)."}},
		Sample: map[string]any{"notification": 0}},
	{Name: "civicflow.http", Label: "Appeler un service web",
		Help: "Envoie les variables de la demande en JSON (POST) à une adresse ; la réponse est rangée dans la variable « response ».",
		Params: []ActivityParam{
			{Name: "url", Label: "Adresse", Type: ParamURL, Required: true, Help: "URL absolue http(s) ; les adresses internes sont refusées sauf autorisation."},
			{Name: "timeout", Label: "Délai maximal", Type: ParamDuration, Default: "10s", Help: "Durée comme 30s ou 2m (5 minutes au plus)."}},
		Sample: map[string]any{"httpStatus": 200}},
	{Name: "civicflow.noop", Label: "Étape sans effet",
		Help:   "Ne fait rien : sert de jalon ou de place réservée pendant la conception.",
		Sample: map[string]any{}},
	{Name: "civicflow.collect", Label: "Collecter une source",
		Help: "Télécharge un fichier depuis une adresse (variable ou paramètre « source ») et le dépose dans le jeu de données s'il a changé.",
		Params: []ActivityParam{datasetParam,
			{Name: "source", Label: "Adresse de la source", Type: ParamURL, Help: "URL http(s) du fichier, quand la demande n'a pas de variable « source »."},
			{Name: "name", Label: "Nom du fichier", Type: ParamString, Help: "Nom donné au fichier collecté (par défaut : celui de l'adresse)."}},
		Sample: map[string]any{"file": "essai-fichier", "unchanged": false, "collect": map[string]any{"bytes": 2048}}},
	{Name: "civicflow.datagouv", Label: "Publier sur data.gouv.fr",
		Help: "Envoie la version exposée du jeu de données (export CSV, schéma déclaré) sur data.gouv.fr : crée le jeu de données la première fois, puis remplace son fichier. Une reprise après panne ne crée pas de doublon.",
		Params: []ActivityParam{datasetParam,
			{Name: "private", Label: "Brouillon privé", Type: ParamBoolean, Default: "false",
				Help: "« true » garde le jeu de données privé sur data.gouv.fr (brouillon à relire avant de le rendre public)."},
			{Name: "target", Label: "Plateforme", Type: ParamChoice, Default: "configured", Choices: []string{"configured", "demo", "production"},
				Help: "configured : la plateforme de la configuration ; demo (demo.data.gouv.fr, pour essayer) ou production (www.data.gouv.fr) : l'étape échoue si l'installation est configurée pour l'autre."}},
		Sample: map[string]any{"datagouv": map[string]any{"dataset": "essai-datagouv", "resource": "essai-ressource",
			"page": "https://demo.data.gouv.fr/datasets/essai/", "release": 1, "private": false}}},
	{Name: "civicflow.withdraw", Label: "Retirer le jeu de données",
		Help: "Retire aussitôt le jeu de données du catalogue et de l'API de données (ses versions sont gardées) ; s'il a été publié sur data.gouv.fr, il y devient privé ou archivé.",
		Params: []ActivityParam{datasetParam,
			{Name: "remote", Label: "Sur data.gouv.fr", Type: ParamChoice, Default: "private", Choices: []string{"private", "archive", "none"},
				Help: "private : le jeu de données devient privé sur data.gouv.fr ; archive : il reste visible, marqué archivé ; none : rien n'y change."}},
		Sample: map[string]any{"withdrawn": map[string]any{"dataset": "essai", "remote": "private"}}},
}

// ActivityInfoOf returns the catalogue entry of an activity.
func ActivityInfoOf(name string) (ActivityInfo, bool) {
	for _, a := range Activities {
		if a.Name == name {
			return a, true
		}
	}
	return ActivityInfo{}, false
}

// TaskKind describes a kind of task a designer can draw (besides service
// tasks, which are described by their activity).
type TaskKind struct {
	Kind  string // KindUserTask…
	Label string
	Help  string
}

// TaskKinds are the task kinds of the catalogue.
var TaskKinds = []TaskKind{
	{Kind: KindUserTask, Label: "Tâche humaine civicflow",
		Help: "Une personne d'un rôle (et d'une direction) la traite dans sa corbeille, avec un formulaire ; délai et principe des quatre yeux facultatifs."},
}
