package auth

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// The pages' helpers put the session's token in forms (the _csrf field)
// and in htmx's headers (X-CSRF-Token); without a session they are empty.
func TestSecurityCSRFPageHelpers(t *testing.T) {
	e := echo.New()
	c := e.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())
	if CSRFHiddenInput(c) != "" || CSRFHXHeaders(c) != "" || CSRFToken(c) != "" {
		t.Fatal("helpers must be empty without a session")
	}
	c.Set(keySession, "a-session-secret")
	tok := CSRFToken(c)
	if len(tok) != 32 || tok != CSRFTokenFor("a-session-secret") || tok == CSRFTokenFor("another-session") {
		t.Fatalf("token %q is not bound to the session", tok)
	}
	if got, want := string(CSRFHiddenInput(c)), `<input type="hidden" name="_csrf" value="`+tok+`">`; got != want {
		t.Errorf("CSRFHiddenInput = %s, want %s", got, want)
	}
	if got := string(CSRFHXHeaders(c)); !strings.Contains(got, `hx-headers='{"X-CSRF-Token":"`+tok+`"}'`) {
		t.Errorf("CSRFHXHeaders = %s", got)
	}
}
