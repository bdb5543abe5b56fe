package ui

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris even on machines without a zoneinfo database
)

// Paris is the time zone of every date the pages show.
var Paris = func() *time.Location {
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err) // time/tzdata is embedded
	}
	return l
}()

// Typographic spaces of French numbers and units.
const (
	// ThousandsSep separates groups of three digits: U+202F, narrow no-break space.
	ThousandsSep = "\u202f"
	// UnitSep separates a number from its unit ("12 €", "3 %"): U+00A0, no-break space.
	UnitSep = "\u00a0"
)

var monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// toTime accepts time.Time and *time.Time (nil and zero give ok=false).
func toTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil {
			return time.Time{}, false
		}
		return *t, !t.IsZero()
	}
	return time.Time{}, false
}

// Missing is what the pages show for an absent value.
const Missing = "—"

// FormatDate writes a date in French, in Paris time: "12 mars 2026",
// "1er avril 2026". Zero and nil times give Missing.
func FormatDate(v any) string {
	t, ok := toTime(v)
	if !ok {
		return Missing
	}
	t = t.In(Paris)
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return day + " " + monthsFR[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// FormatDateTime writes a date and time in French, in Paris time:
// "12 mars 2026 à 14 h 05".
func FormatDateTime(v any) string {
	t, ok := toTime(v)
	if !ok {
		return Missing
	}
	t = t.In(Paris)
	return fmt.Sprintf("%s à %d h %02d", FormatDate(t), t.Hour(), t.Minute())
}

// FormatRelative says how far t is from now in French: "à l'instant",
// "il y a 5 minutes", "il y a 3 jours", "dans 2 jours", "hier",
// "demain". Beyond a year it counts years.
func FormatRelative(v any, now time.Time) string {
	t, ok := toTime(v)
	if !ok {
		return Missing
	}
	d := now.Sub(t)
	past := d >= 0
	if !past {
		d = -d
	}
	var n int
	var one, many string
	switch {
	case d < time.Minute:
		return "à l'instant"
	case d < time.Hour:
		n, one, many = int(d/time.Minute), "minute", "minutes"
	case d < 24*time.Hour:
		n, one, many = int(d/time.Hour), "heure", "heures"
	case d < 30*24*time.Hour:
		n, one, many = int(d/(24*time.Hour)), "jour", "jours"
		if n == 1 {
			if past {
				return "hier"
			}
			return "demain"
		}
	case d < 365*24*time.Hour:
		n, one, many = int(d/(30*24*time.Hour)), "mois", "mois"
	default:
		n, one, many = int(d/(365*24*time.Hour)), "an", "ans"
	}
	phrase := strconv.Itoa(n) + UnitSep + Plural(n, one, many)
	if past {
		return "il y a " + phrase
	}
	return "dans " + phrase
}

// Plural chooses the French form for n: singular for 0 and 1 (and −1),
// plural from 2 on.
func Plural(n any, one, many string) string {
	f, ok := toFloat(n)
	if ok && math.Abs(f) < 2 {
		return one
	}
	return many
}

// Count writes n and the noun in the right form: "0 tâche", "1 tâche",
// "1 234 tâches".
func Count(n any, one, many string) string {
	return FormatNumber(n) + UnitSep + Plural(n, one, many)
}

func toFloat(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	case reflect.Pointer:
		if rv.IsNil() {
			return 0, false
		}
		return toFloat(rv.Elem().Interface())
	}
	return 0, false
}

func isInteger(v any) bool {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// FormatNumber writes a number the French way: groups of three digits
// separated by a narrow no-break space, a decimal comma: "1 234",
// "1 234,5", "−12,25". Integers have no decimals; floats keep up to two,
// without trailing zeros. Non-numbers give Missing.
func FormatNumber(v any) string {
	f, ok := toFloat(v)
	if !ok {
		return Missing
	}
	if isInteger(v) {
		return FormatDecimal(f, 0)
	}
	s := FormatDecimal(f, 2)
	if strings.Contains(s, ",") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ",")
	}
	return s
}

// FormatDecimal writes f with exactly decimals digits after the comma:
// FormatDecimal(1234.5, 2) = "1 234,50".
func FormatDecimal(v any, decimals int) string {
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return Missing
	}
	decimals = max(0, min(decimals, 6))
	s := strconv.FormatFloat(math.Abs(f), 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if f < 0 && strings.Trim(s, "0.") != "" {
		b.WriteString("−") // U+2212 minus sign
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(ThousandsSep)
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("," + frac)
	}
	return b.String()
}

// FormatAmount writes an amount in euros: "1 234,56 €".
func FormatAmount(v any) string {
	s := FormatDecimal(v, 2)
	if s == Missing {
		return s
	}
	return s + UnitSep + "€"
}

// FormatBytes writes a size in French units: "512 o", "1,5 Ko", "12 Mo".
func FormatBytes(v any) string {
	f, ok := toFloat(v)
	if !ok {
		return Missing
	}
	units := []string{"o", "Ko", "Mo", "Go", "To"}
	i := 0
	for math.Abs(f) >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return FormatDecimal(f, 0) + UnitSep + units[0]
	}
	return FormatNumber(math.Round(f*10)/10) + UnitSep + units[i]
}
