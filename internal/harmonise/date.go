package harmonise

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dateResult is the outcome of reading one date.
type dateResult int

const (
	dateOK        dateResult = iota // parsed (possibly reformatted)
	dateAmbiguous                   // readable several ways; not repaired
	dateInvalid                     // not a date
)

// parseDate reads the date forms found in French exports and returns the ISO
// form YYYY-MM-DD: 2018-01-30, 2018-1-3, 2018/01/30, 2018.01.30, 30/01/2018,
// 30-01-2018, 30.01.2018, 20180130. Two-digit years are ambiguous.
func parseDate(s string, order DateOrder) (string, dateResult, string) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:]) {
		// Already YYYY-MM-DD (most cells): keep it, without splitting and
		// formatting it again.
		y, _ := strconv.Atoi(s[:4])
		m, _ := strconv.Atoi(s[5:7])
		d, _ := strconv.Atoi(s[8:])
		if !validYMD(y, m, d) {
			return "", dateInvalid, "no such day"
		}
		return s, dateOK, ""
	}
	if len(s) == 8 && allDigits(s) {
		y, _ := strconv.Atoi(s[:4])
		m, _ := strconv.Atoi(s[4:6])
		d, _ := strconv.Atoi(s[6:])
		if y < 1000 || !validYMD(y, m, d) {
			return "", dateInvalid, "8 digits that are not YYYYMMDD"
		}
		return formatYMD(y, m, d), dateOK, ""
	}
	var sep byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == '-' || c == '.' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return "", dateInvalid, "not a date"
	}
	parts := strings.Split(s, string(sep))
	if len(parts) != 3 {
		return "", dateInvalid, "not a date"
	}
	for _, p := range parts {
		if !allDigits(p) || len(p) > 4 {
			return "", dateInvalid, "not a date"
		}
	}
	n0, _ := strconv.Atoi(parts[0])
	n1, _ := strconv.Atoi(parts[1])
	n2, _ := strconv.Atoi(parts[2])
	switch {
	case len(parts[0]) == 4 && len(parts[1]) <= 2 && len(parts[2]) <= 2:
		if !validYMD(n0, n1, n2) {
			return "", dateInvalid, "no such day"
		}
		return formatYMD(n0, n1, n2), dateOK, ""
	case len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
		d, m := n0, n1
		switch order {
		case MonthFirst:
			d, m = n1, n0
		case Strict:
			if n0 <= 12 && n1 <= 12 && n0 != n1 {
				return "", dateAmbiguous, "day and month both ≤ 12: set a date order to repair"
			}
			if n1 > 12 {
				d, m = n1, n0
			}
		}
		if !validYMD(n2, m, d) {
			if order != Strict && validYMD(n2, d, m) {
				return "", dateAmbiguous, "not a valid date in the configured order, valid in the other"
			}
			return "", dateInvalid, "no such day"
		}
		return formatYMD(n2, m, d), dateOK, ""
	case len(parts[2]) == 2 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
		return "", dateAmbiguous, "two-digit year: century unknown"
	}
	return "", dateInvalid, "not a date"
}

func validYMD(y, m, d int) bool {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 {
		return false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t.Day() == d && int(t.Month()) == m
}

func formatYMD(y, m, d int) string {
	b := []byte("0000-00-00")
	for i := 3; i >= 0; i-- {
		b[i] = byte('0' + y%10)
		y /= 10
	}
	b[5], b[6] = byte('0'+m/10), byte('0'+m%10)
	b[8], b[9] = byte('0'+d/10), byte('0'+d%10)
	return string(b)
}

// splitDateTime cuts "date[T| ]time" into its parts; time is "" when absent.
func splitDateTime(s string) (string, string) {
	if i := strings.IndexAny(s, "T "); i > 0 {
		return s[:i], strings.TrimLeft(s[i+1:], " ")
	}
	return s, ""
}

// parseTime reads H:MM, HH:MM:SS, HH:MM:SS.fff with an optional zone (Z,
// ±hh:mm, ±hhmm) and returns HH:MM:SS[.fff][zone].
func parseTime(s string) (string, bool) {
	zone := ""
	if strings.HasSuffix(s, "Z") {
		s, zone = s[:len(s)-1], "Z"
	} else if i := strings.LastIndexAny(s, "+-"); i > 0 {
		s, zone = s[:i], s[i:]
		z := strings.Replace(zone[1:], ":", "", 1)
		if len(z) != 4 || !allDigits(z) {
			return "", false
		}
		zone = zone[:1] + z[:2] + ":" + z[2:]
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i:]
		if len(frac) < 2 || !allDigits(frac[1:]) {
			return "", false
		}
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return "", false
	}
	var n [3]int
	for i, p := range parts {
		if len(p) == 0 || len(p) > 2 || !allDigits(p) || (i > 0 && len(p) != 2) {
			return "", false
		}
		n[i], _ = strconv.Atoi(p)
	}
	if n[0] > 23 || n[1] > 59 || n[2] > 60 || (len(parts) == 2 && frac != "") {
		return "", false
	}
	return fmt.Sprintf("%02d:%02d:%02d%s%s", n[0], n[1], n[2], frac, zone), true
}

func isMidnight(t string) bool {
	t = strings.TrimSuffix(t, "Z")
	t = strings.TrimRight(t, "0")
	return t == "00:00:00." || t == "00:00:" || t == "00:" || t == ""
}

func (c *cell) date() {
	datePart, timePart := splitDateTime(c.value)
	iso, res, msg := parseDate(datePart, c.h.opts.DateOrder)
	switch res {
	case dateAmbiguous:
		c.issue(IssueAmbiguousDate, "%s", msg)
		return
	case dateInvalid:
		c.issue(IssueInvalidDate, "%s", msg)
		return
	}
	if timePart != "" {
		tm, ok := parseTime(timePart)
		if !ok || !isMidnight(tm) {
			c.issue(IssueInvalidDate, "has a time of day in a date column")
			return
		}
	}
	c.fix(RuleDateFormat, iso)
}

func (c *cell) datetime() {
	datePart, timePart := splitDateTime(c.value)
	iso, res, msg := parseDate(datePart, c.h.opts.DateOrder)
	switch res {
	case dateAmbiguous:
		c.issue(IssueAmbiguousDate, "%s", msg)
		return
	case dateInvalid:
		c.issue(IssueInvalidDatetime, "%s", msg)
		return
	}
	if timePart == "" {
		c.issue(IssueInvalidDatetime, "no time of day")
		return
	}
	tm, ok := parseTime(timePart)
	if !ok {
		c.issue(IssueInvalidDatetime, "unreadable time of day")
		return
	}
	c.fix(RuleDatetimeFormat, iso+"T"+tm)
}

// period repairs YYYY-MM-DD[/YYYY-MM-DD] values (SCDL subventions
// datesPeriodeVersement): '_' separators and non-ISO dates.
func (c *cell) period() {
	v := c.value
	var parts []string
	sep := ""
	switch {
	case strings.Count(v, "_") == 1:
		parts, sep = strings.Split(v, "_"), "_"
	case strings.Count(v, "/") == 1:
		parts, sep = strings.Split(v, "/"), "/"
	default:
		parts = []string{v}
	}
	isos := make([]string, len(parts))
	for i, p := range parts {
		iso, res, msg := parseDate(strings.TrimSpace(p), c.h.opts.DateOrder)
		switch res {
		case dateAmbiguous:
			c.issue(IssueAmbiguousDate, "%s", msg)
			return
		case dateInvalid:
			c.issue(IssueInvalidPeriod, "%q: %s", p, msg)
			return
		}
		isos[i] = iso
	}
	if len(isos) == 2 && isos[0] > isos[1] {
		c.issue(IssueInvalidPeriod, "start after end")
		return
	}
	if sep == "" {
		c.fix(RuleDateFormat, isos[0])
		return
	}
	c.fix(RuleDateFormat, strings.Join(isos, sep))
	c.fix(RulePeriodSeparator, strings.Join(isos, "/"))
}

func (c *cell) year() {
	v := c.value
	if i := strings.IndexByte(v, '.'); i > 0 && strings.Trim(v[i+1:], "0") == "" {
		v = v[:i]
	}
	if len(v) != 4 || !allDigits(v) {
		c.issue(IssueInvalidYear, "not a 4-digit year")
		return
	}
	c.fix(RuleYearFloat, v)
}
