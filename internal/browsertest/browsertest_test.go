package browsertest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// The helpers themselves: axe finds what it must, the focus check sees an
// invisible focus.
func TestAxeAndFocusHelpers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html><head><title>x</title><style>a:focus{outline:none}</style></head>
<body><img src="/nope.png"><a href="#a">lien</a></body></html>`))
	})
	mux.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="fr"><head><title>Bon</title><style>a:focus-visible{outline:3px solid #b3400b}</style></head>
<body><main><h1>Bon</h1><a href="#a">lien</a></main></body></html>`))
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()

	tab := Start(t).NewTab()
	tab.Navigate(ts.URL + "/bad")
	var ids []string
	for _, v := range tab.Axe() {
		ids = append(ids, v.ID+"/"+v.Impact)
	}
	for _, want := range []string{"image-alt/critical", "html-has-lang/serious"} {
		if !slices.Contains(ids, want) {
			t.Errorf("axe did not report %s (got %v)", want, ids)
		}
	}
	tab.Press("\t")
	if f := tab.Focus(); f.Tag != "a" || f.Visible {
		t.Errorf("focus on the bad page: %+v, want an <a> without a visible focus", f)
	}

	tab.Navigate(ts.URL + "/good")
	tab.RequireAccessible("the good page")
	tab.TabTo(func(f Focused) bool { return f.Tag == "a" }, 3)
	if p := tab.Screenshot("good"); p == "" {
		t.Error("no screenshot")
	}
}
