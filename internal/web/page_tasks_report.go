package web

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/civicflow/civicflow/designer"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/tableschema"
	"github.com/civicflow/civicflow/internal/web/ui"
	"github.com/civicflow/civicflow/workflows"
)

// bar is a bar of a chart: a label and a count.
type bar struct {
	Label string
	N     int64
}

// issueLabels are the French names of the quality report's issue types.
var issueLabels = map[string]string{
	tableschema.TypeTypeError:        "type incorrect",
	tableschema.TypeConstraintError:  "contrainte non respectée",
	tableschema.TypeMissingCell:      "cellule manquante",
	tableschema.TypeExtraCell:        "cellule en trop",
	tableschema.TypeBlankRow:         "ligne vide",
	tableschema.TypeDuplicateRow:     "ligne en double",
	tableschema.TypeUniqueError:      "valeur non unique",
	tableschema.TypePrimaryKey:       "clé primaire",
	tableschema.TypeForeignKey:       "clé étrangère",
	tableschema.TypeBlankLabel:       "en-tête vide",
	tableschema.TypeDuplicateLabel:   "en-tête en double",
	tableschema.TypeMissingRequired:  "colonne obligatoire absente",
	tableschema.TypeSourceError:      "fichier illisible",
	tableschema.TypeTableDimensions:  "dimensions du tableau",
	tableschema.TypeMissingHeader:    "colonne absente",
	tableschema.TypeExtraHeader:      "colonne en trop",
	tableschema.TypeDisorderedHeader: "colonnes dans le désordre",
	tableschema.TypeEncodingWarn:     "encodage",
}

// issueLabel is the French name of an issue type.
func issueLabel(typ string) string {
	if l, ok := issueLabels[typ]; ok {
		return l
	}
	return typ
}

// reportBars counts a report's errors by type (exact: the report's
// statistics) and by column (from the errors listed).
func reportBars(r tableschema.Report) (byType, byColumn []bar) {
	for typ, n := range r.Stats.ErrorsByType {
		byType = append(byType, bar{issueLabel(typ), n})
	}
	cols := map[string]int64{}
	for _, is := range r.Errors {
		col := is.Field
		if col == "" {
			col = "(tableau entier)"
		}
		cols[col]++
	}
	for col, n := range cols {
		byColumn = append(byColumn, bar{col, n})
	}
	sortBars := func(b []bar) {
		slices.SortFunc(b, func(x, y bar) int {
			if c := cmp.Compare(y.N, x.N); c != 0 {
				return c
			}
			return strings.Compare(x.Label, y.Label)
		})
	}
	sortBars(byType)
	sortBars(byColumn)
	return byType, byColumn
}

// barChart draws bars as an accessible SVG (role="img", a title and a
// description listing every value), drawn on the server: no script.
func barChart(id, title string, bars []bar) template.HTML {
	if len(bars) == 0 {
		return ""
	}
	if len(bars) > 15 {
		rest := int64(0)
		for _, b := range bars[14:] {
			rest += b.N
		}
		bars = append(slices.Clone(bars[:14]), bar{fmt.Sprintf("%d autres", len(bars)-14), rest})
	}
	const labelW, barW, rowH, valueW = 220, 300, 26, 70
	width, height := labelW+barW+valueW, rowH*len(bars)+8
	top := int64(1)
	for _, b := range bars {
		top = max(top, b.N)
	}
	esc := template.HTMLEscapeString
	var sb strings.Builder
	var desc []string
	for _, b := range bars {
		desc = append(desc, fmt.Sprintf("%s : %s", b.Label, ui.FormatNumber(b.N)))
	}
	fmt.Fprintf(&sb, `<svg class="chart" role="img" aria-labelledby="%[1]s-t %[1]s-d" viewBox="0 0 %[2]d %[3]d" width="100%%" style="max-width:%[2]dpx" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), width, height)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(strings.Join(desc, " ; ")))
	for i, b := range bars {
		y := 4 + i*rowH
		w := int(float64(barW) * float64(b.N) / float64(top))
		w = max(w, 2)
		label := b.Label
		if r := []rune(label); len(r) > 30 {
			label = string(r[:29]) + "…"
		}
		fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="end" font-size="14" fill="#1e1e1e">%s</text>`, labelW-8, y+17, esc(label))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%d" height="%d" fill="#000091"></rect>`, labelW, y+3, w, rowH-8)
		fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="14" fill="#1e1e1e">%s</text>`, labelW+w+6, y+17, esc(ui.FormatNumber(b.N)))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) //nolint:gosec // every text is escaped above
}

// timelineEvent is a line of a request's history on the task page.
type timelineEvent struct {
	At    time.Time
	What  string
	Who   string
	ForWh string // pour le compte de
}

// timeline tells a request's history: its tasks (read model) and, when
// the workflow answered, its other steps (service tasks, incidents).
func timeline(d service.TaskDetail) []timelineEvent {
	var out []timelineEvent
	if d.Request != nil {
		out = append(out, timelineEvent{At: d.Request.StartedAt, What: "Demande lancée", Who: d.Request.StartedBy})
	}
	for _, t := range d.Timeline {
		name := taskName(t)
		out = append(out, timelineEvent{At: t.CreatedAt, What: fmt.Sprintf("Tâche « %s » ouverte", name)})
		if t.CompletedAt != nil {
			what := fmt.Sprintf("Tâche « %s » validée", name)
			if t.Status == workflows.TaskCancelled {
				what = fmt.Sprintf("Tâche « %s » annulée", name)
			}
			out = append(out, timelineEvent{At: *t.CompletedAt, What: what, Who: t.CompletedBy, ForWh: t.OnBehalfOf})
		}
	}
	if d.Request != nil {
		for _, h := range d.Request.History {
			switch h.Event {
			case "incident":
				out = append(out, timelineEvent{At: h.At, What: fmt.Sprintf("Incident à l'étape %s : %s", h.Node, h.Message)})
			case "completed":
				if h.Kind == designer.KindService {
					out = append(out, timelineEvent{At: h.At, What: fmt.Sprintf("Étape automatique « %s » terminée", h.Node)})
				}
			case "claimed":
				out = append(out, timelineEvent{At: h.At, What: fmt.Sprintf("Tâche « %s » prise en charge", h.Node), Who: h.Actor})
			case "unclaimed":
				out = append(out, timelineEvent{At: h.At, What: fmt.Sprintf("Tâche « %s » rendue", h.Node), Who: h.Actor})
			case "resolved":
				out = append(out, timelineEvent{At: h.At, What: fmt.Sprintf("Incident résolu (%s)", h.Message), Who: h.Actor})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b timelineEvent) int { return a.At.Compare(b.At) })
	return out
}
