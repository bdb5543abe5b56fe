package mail

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"
	"time"
	_ "time/tzdata" // Europe/Paris even on machines without a zoneinfo database
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// templates are parsed once; each file defines "subject" and "body".
var templates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	names, err := fs.Glob(templateFiles, "templates/*.tmpl")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		t := template.Must(template.New(path.Base(n)).Option("missingkey=error").ParseFS(templateFiles, n))
		for _, part := range []string{"subject", "body"} {
			if t.Lookup(part) == nil {
				panic("mail template " + n + " does not define " + part)
			}
		}
		out[strings.TrimSuffix(path.Base(n), ".tmpl")] = t
	}
	return out
}()

// Templates lists the template names (the param "template" of
// civicflow.notify), sorted.
func Templates() []string {
	names := make([]string, 0, len(templates))
	for n := range templates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// HasTemplate reports whether name is a template.
func HasTemplate(name string) bool { return templates[name] != nil }

// Data is what a template may name.
type Data struct {
	Task       string // the task's name (or its BPMN id)
	Flow       string // the flow's name (or key)
	Department string // the department's name
	Dataset    string // the dataset's title, if any
	Due        string // the due date in French ("lundi 3 mars 2025 à 14 h 05"), if any
	Link       string // the task page (or the request page)
	Instance   string
}

// Render returns the subject and body of template name.
func Render(name string, d Data) (subject, body string, err error) {
	t := templates[name]
	if t == nil {
		return "", "", fmt.Errorf("unknown e-mail template %q (known: %s)", name, strings.Join(Templates(), ", "))
	}
	var s, b bytes.Buffer
	if err := t.ExecuteTemplate(&s, "subject", d); err != nil {
		return "", "", err
	}
	if err := t.ExecuteTemplate(&b, "body", d); err != nil {
		return "", "", err
	}
	subject = strings.Join(strings.Fields(s.String()), " ")
	return subject, strings.TrimLeft(b.String(), "\n"), nil
}

// Paris is the time zone of dates in e-mails.
var Paris = func() *time.Location {
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err) // time/tzdata is embedded
	}
	return l
}()

var (
	weekdaysFR = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	monthsFR   = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
)

// DateFR writes t in French, in Paris time: "lundi 3 mars 2025 à 14 h 05",
// "samedi 1er novembre 2025 à 9 h 00".
func DateFR(t time.Time) string {
	t = t.In(Paris)
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %s %d à %d h %02d", weekdaysFR[t.Weekday()], day, monthsFR[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}
