package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/civicflow/civicflow/internal/auth"
	"github.com/civicflow/civicflow/internal/config"
	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// Every error a page can meet becomes a French page with its status;
// server faults show a reference and never their cause.
func TestErrorPagesInFrench(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	s, err := New(Deps{Config: config.Default(), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		err    error
		status int
		want   string
	}{
		{Errorf(http.StatusBadRequest, "bad"), 400, "Requête incorrecte"},
		{auth.ErrForbidden, 403, "Accès refusé"},
		{store.ErrNotFound, 404, "Page introuvable"},
		{store.ErrConflict, 409, "Action impossible dans l&#39;état actuel"},
		{Errorf(http.StatusUnprocessableEntity, "invalid"), 422, "Données invalides"},
		{&PageError{Status: 422, Msg: "Le fichier n'a pas de colonne « montant »."}, 422, "Le fichier n&#39;a pas de colonne « montant »."},
		{Errorf(http.StatusTooManyRequests, "slow down"), 429, "Trop de requêtes"},
		{errors.New("database on fire"), 500, "Erreur interne"},
		{Errorf(http.StatusServiceUnavailable, "down"), 503, "Service indisponible"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/quelque-part", nil)
		req.Header.Set("Accept", "text/html")
		rec := httptest.NewRecorder()
		c := s.e.NewContext(req, rec)
		s.errorHandler(tt.err, c)
		body := rec.Body.String()
		if rec.Code != tt.status || !strings.Contains(body, tt.want) || !strings.Contains(body, `lang="fr"`) {
			t.Errorf("%v: %d, want %d with %q:\n%.300s", tt.err, rec.Code, tt.status, tt.want, body)
		}
		if strings.Contains(body, "fire") || strings.Contains(body, "slow down") {
			t.Errorf("%v: the cause leaks into the page", tt.err)
		}
		if tt.status == 429 || tt.status == 503 {
			if rec.Header().Get("Retry-After") == "" {
				t.Errorf("%d without Retry-After", tt.status)
			}
		}
	}
}
