package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func paris(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, Paris)
}

func TestFormatDate(t *testing.T) {
	var nilTime *time.Time
	ts := paris(2026, 3, 12, 14, 5)
	tests := []struct {
		in   any
		date string
		dt   string
	}{
		{ts, "12 mars 2026", "12 mars 2026 à 14 h 05"},
		{&ts, "12 mars 2026", "12 mars 2026 à 14 h 05"},
		{paris(2026, 4, 1, 9, 0), "1er avril 2026", "1er avril 2026 à 9 h 00"},
		{paris(2025, 8, 15, 0, 30), "15 août 2025", "15 août 2025 à 0 h 30"},
		{paris(2025, 12, 31, 23, 59), "31 décembre 2025", "31 décembre 2025 à 23 h 59"},
		// UTC instants are shown in Paris time (summer: +2 h).
		{time.Date(2026, 7, 14, 22, 30, 0, 0, time.UTC), "15 juillet 2026", "15 juillet 2026 à 0 h 30"},
		{time.Time{}, "—", "—"},
		{nilTime, "—", "—"},
		{"not a date", "—", "—"},
	}
	for _, tt := range tests {
		if got := FormatDate(tt.in); got != tt.date {
			t.Errorf("FormatDate(%v) = %q, want %q", tt.in, got, tt.date)
		}
		if got := FormatDateTime(tt.in); got != tt.dt {
			t.Errorf("FormatDateTime(%v) = %q, want %q", tt.in, got, tt.dt)
		}
	}
}

func TestFormatRelative(t *testing.T) {
	now := paris(2026, 3, 12, 14, 0)
	nb := UnitSep
	tests := []struct {
		at   time.Time
		want string
	}{
		{now.Add(-20 * time.Second), "à l'instant"},
		{now.Add(10 * time.Second), "à l'instant"},
		{now.Add(-1 * time.Minute), "il y a 1" + nb + "minute"},
		{now.Add(-5 * time.Minute), "il y a 5" + nb + "minutes"},
		{now.Add(-3 * time.Hour), "il y a 3" + nb + "heures"},
		{now.Add(90 * time.Minute), "dans 1" + nb + "heure"},
		{now.Add(-26 * time.Hour), "hier"},
		{now.Add(25 * time.Hour), "demain"},
		{now.Add(-3 * 24 * time.Hour), "il y a 3" + nb + "jours"},
		{now.Add(2*24*time.Hour + time.Hour), "dans 2" + nb + "jours"},
		{now.Add(-65 * 24 * time.Hour), "il y a 2" + nb + "mois"},
		{now.Add(-800 * 24 * time.Hour), "il y a 2" + nb + "ans"},
		{now.Add(400 * 24 * time.Hour), "dans 1" + nb + "an"},
	}
	for _, tt := range tests {
		if got := FormatRelative(tt.at, now); got != tt.want {
			t.Errorf("FormatRelative(%v) = %q, want %q", now.Sub(tt.at), got, tt.want)
		}
	}
	if got := FormatRelative(time.Time{}, now); got != Missing {
		t.Errorf("zero time: %q", got)
	}
}

func TestFormatNumbers(t *testing.T) {
	n := ThousandsSep
	var nilInt *int
	five := 5
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"int", FormatNumber(0), "0"},
		{"int small", FormatNumber(999), "999"},
		{"int thousands", FormatNumber(1234), "1" + n + "234"},
		{"int64 millions", FormatNumber(int64(1234567)), "1" + n + "234" + n + "567"},
		{"negative", FormatNumber(-1234567), "−1" + n + "234" + n + "567"},
		{"uint", FormatNumber(uint32(100000)), "100" + n + "000"},
		{"pointer", FormatNumber(&five), "5"},
		{"nil pointer", FormatNumber(nilInt), "—"},
		{"not a number", FormatNumber("x"), "—"},
		{"float", FormatNumber(1234.56), "1" + n + "234,56"},
		{"float trailing zero", FormatNumber(1234.5), "1" + n + "234,5"},
		{"float whole", FormatNumber(2.0), "2"},
		{"float rounding", FormatNumber(0.126), "0,13"},
		{"decimal fixed", FormatDecimal(1234.5, 2), "1" + n + "234,50"},
		{"decimal zero places", FormatDecimal(1234.5, 0), "1" + n + "234"},
		{"decimal negative zero", FormatDecimal(-0.001, 2), "0,00"},
		{"amount", FormatAmount(1234.56), "1" + n + "234,56" + UnitSep + "€"},
		{"amount int", FormatAmount(1000000), "1" + n + "000" + n + "000,00" + UnitSep + "€"},
		{"amount negative", FormatAmount(-12.5), "−12,50" + UnitSep + "€"},
		{"bytes", FormatBytes(512), "512" + UnitSep + "o"},
		{"kilobytes", FormatBytes(1536), "1,5" + UnitSep + "Ko"},
		{"megabytes", FormatBytes(150 * 1024 * 1024), "150" + UnitSep + "Mo"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n    any
		want string
	}{
		{0, "tâche"}, {1, "tâche"}, {2, "tâches"}, {int64(1000), "tâches"}, {1.5, "tâche"}, {-1, "tâche"}, {-2, "tâches"},
	}
	for _, tt := range tests {
		if got := Plural(tt.n, "tâche", "tâches"); got != tt.want {
			t.Errorf("Plural(%v) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if got, want := Count(1234, "tâche", "tâches"), "1"+ThousandsSep+"234"+UnitSep+"tâches"; got != want {
		t.Errorf("Count = %q, want %q", got, want)
	}
}

func TestRendererPages(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"login", "dashboard", "password", "error"} {
		if !r.Has(name) {
			t.Errorf("page %s missing (have %v)", name, r.Pages())
		}
	}
	var buf bytes.Buffer
	err = r.Render(&buf, "error", Page{Org: "Ville de Test", Data: map[string]any{"Status": 404, "Title": "Page introuvable", "Message": "m"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<html lang="fr">`, "Page introuvable · Ville de Test", `class="skip-link" href="#contenu"`, `<main id="contenu"`, "<footer"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("error page lacks %q", want)
		}
	}
	if err := r.Render(&buf, "nope", Page{}); err == nil {
		t.Error("unknown page rendered")
	}
	if got := r.Asset("app.css"); !strings.HasPrefix(got, "/static/app.css?v=") {
		t.Errorf("Asset = %q", got)
	}
}
