package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/service"
)

type dashboardView struct {
	Roles       []auth.Membership
	Delegations []auth.Delegation
	service.Dashboard
	TasksHref    string
	RequestsHref string
	DatasetsHref string
	// DatasetBars is the chart of datasets by state.
	DatasetBars []chartBar
}

// chartBar is a bar of a server-side SVG bar chart (coordinates in the
// chart's viewBox, 640 wide).
type chartBar struct {
	Label               string
	Count               int
	Class               string
	TextY, RectY, Width int
	ValueX              int
}

// Layout of the bar charts.
const (
	barRow    = 28
	barLeft   = 230
	barLength = 340
)

// chartBars lays out a horizontal bar chart: the longest bar is barLength.
func chartBars(items ...chartBar) []chartBar {
	most := 0
	for _, b := range items {
		most = max(most, b.Count)
	}
	for i := range items {
		if most > 0 {
			items[i].Width = items[i].Count * barLength / most
		}
		items[i].TextY, items[i].RectY = i*barRow+18, i*barRow+4
		items[i].ValueX = barLeft + items[i].Width + 6
	}
	return items
}

// ChartHeight is the height of the datasets chart.
func (v dashboardView) ChartHeight() int { return len(v.DatasetBars) * barRow }

// dashboardPage: GET / shows the person what waits for them (the
// service's Dashboard) and links to the pages they may open.
func (s *Server) dashboardPage(c echo.Context) error {
	who := caller(c)
	d, err := s.svc.Dashboard(c.Request().Context(), who, time.Now())
	if err != nil {
		return err
	}
	p := who.Principal
	v := dashboardView{Roles: p.Memberships, Delegations: p.Delegations, Dashboard: d}
	for _, l := range []struct {
		href  *string
		page  string
		route string
	}{
		{&v.TasksHref, "/tasks", "GET /api/v1/tasks"},
		{&v.RequestsHref, "/requests", "GET /api/v1/instances"},
		{&v.DatasetsHref, "/datasets", "GET /api/v1/datasets"},
	} {
		if s.hasPage(l.page) && s.mayCall(c, p, l.route) {
			*l.href = l.page
		}
	}
	ds := d.Datasets
	v.DatasetBars = chartBars(
		chartBar{Label: "Brouillons (sans version)", Count: ds.Draft, Class: "bar-draft"},
		chartBar{Label: "Versions non exposées", Count: ds.Released, Class: "bar-released"},
		chartBar{Label: "Exposés, privés", Count: ds.Exposed, Class: "bar-exposed"},
		chartBar{Label: "Publiés", Count: ds.Published, Class: "bar-published"},
		chartBar{Label: "En retard de mise à jour", Count: ds.Late, Class: "bar-late"},
	)
	return s.page(c, http.StatusOK, "dashboard", v)
}
