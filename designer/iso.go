package designer

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is an ISO 8601 duration (PnYnMnWnDTnHnMnS). Years, months and days
// are calendar units: AddTo applies them with time.AddDate.
type Duration struct {
	Years, Months, Weeks, Days, Hours, Minutes int
	Seconds                                    float64
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$`)

// ParseDuration parses an ISO 8601 duration such as "P5D" or "PT1H30M".
func ParseDuration(s string) (Duration, error) {
	m := isoDurationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return Duration{}, fmt.Errorf("%q is not an ISO 8601 duration (e.g. P5D, PT1H30M)", s)
	}
	var d Duration
	ints := []*int{&d.Years, &d.Months, &d.Weeks, &d.Days, &d.Hours, &d.Minutes}
	for i, p := range ints {
		if m[i+1] == "" {
			continue
		}
		v, err := strconv.Atoi(m[i+1])
		if err != nil || v > 1_000_000 {
			return Duration{}, fmt.Errorf("%q: component %s out of range", s, m[i+1])
		}
		*p = v
	}
	if m[7] != "" {
		v, err := strconv.ParseFloat(strings.Replace(m[7], ",", ".", 1), 64)
		if err != nil || v > 1e9 {
			return Duration{}, fmt.Errorf("%q: seconds out of range", s)
		}
		d.Seconds = v
	}
	if d.IsZero() {
		return Duration{}, fmt.Errorf("%q is a zero duration", s)
	}
	return d, nil
}

// IsZero reports whether every component is zero.
func (d Duration) IsZero() bool {
	return d.Years == 0 && d.Months == 0 && d.Weeks == 0 && d.Days == 0 && d.Hours == 0 && d.Minutes == 0 && d.Seconds == 0
}

// AddTo returns t + d.
func (d Duration) AddTo(t time.Time) time.Time {
	t = t.AddDate(d.Years, d.Months, d.Weeks*7+d.Days)
	return t.Add(time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute +
		time.Duration(math.Round(d.Seconds*1e9)))
}

// ParseDate parses an ISO 8601 date-time with a zone (RFC 3339).
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t, nil
	}
	if _, err2 := time.Parse("2006-01-02T15:04:05", s); err2 == nil {
		return time.Time{}, fmt.Errorf("%q has no time zone: add Z or an offset such as +01:00", s)
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date-time (e.g. 2026-03-01T09:00:00+01:00)", s)
}

// Cycle is an ISO 8601 repeating interval: R[n]/[start/]duration.
type Cycle struct {
	Repeat   int // -1 = unbounded
	Start    time.Time
	Interval Duration
}

// ParseCycle parses "R3/PT1H", "R/P1D" or "R5/2026-01-01T08:00:00Z/P1D".
func ParseCycle(s string) (Cycle, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || !strings.HasPrefix(parts[0], "R") {
		if strings.Count(s, " ") >= 4 {
			return Cycle{}, fmt.Errorf("%q looks like a cron expression: use an ISO 8601 cycle such as R/P1D", s)
		}
		return Cycle{}, fmt.Errorf("%q is not an ISO 8601 cycle (e.g. R3/PT1H)", s)
	}
	c := Cycle{Repeat: -1}
	if n := parts[0][1:]; n != "" {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > 1_000_000 {
			return Cycle{}, fmt.Errorf("%q: bad repetition count %q", s, n)
		}
		c.Repeat = v
	}
	durPart := parts[1]
	if len(parts) == 3 {
		t, err := ParseDate(parts[1])
		if err != nil {
			return Cycle{}, fmt.Errorf("%q: start: %v", s, err)
		}
		c.Start = t
		durPart = parts[2]
	}
	d, err := ParseDuration(durPart)
	if err != nil {
		return Cycle{}, fmt.Errorf("%q: interval: %v", s, err)
	}
	c.Interval = d
	return c, nil
}

// ErrTimerDone says a timer has no further firing.
var ErrTimerDone = errors.New("designer: timer has no further firing")

// Validate checks the timer's value.
func (t Timer) Validate() error {
	var err error
	switch t.Type {
	case TimerDuration:
		_, err = ParseDuration(t.Value)
	case TimerDate:
		_, err = ParseDate(t.Value)
	case TimerCycle:
		_, err = ParseCycle(t.Value)
	default:
		err = fmt.Errorf("unknown timer type %q", t.Type)
	}
	return err
}

// Fire returns when the timer fires for the (fired+1)-th time, given when it
// was activated and, for later firings, when it last fired. It returns
// ErrTimerDone when a date or duration already fired or a cycle is exhausted.
func (t Timer) Fire(activated, last time.Time, fired int) (time.Time, error) {
	switch t.Type {
	case TimerDuration:
		if fired > 0 {
			return time.Time{}, ErrTimerDone
		}
		d, err := ParseDuration(t.Value)
		if err != nil {
			return time.Time{}, err
		}
		return d.AddTo(activated), nil
	case TimerDate:
		if fired > 0 {
			return time.Time{}, ErrTimerDone
		}
		return ParseDate(t.Value)
	case TimerCycle:
		c, err := ParseCycle(t.Value)
		if err != nil {
			return time.Time{}, err
		}
		if c.Repeat >= 0 && fired >= c.Repeat {
			return time.Time{}, ErrTimerDone
		}
		if fired == 0 {
			if !c.Start.IsZero() {
				return c.Start, nil
			}
			return c.Interval.AddTo(activated), nil
		}
		return c.Interval.AddTo(last), nil
	}
	return time.Time{}, fmt.Errorf("unknown timer type %q", t.Type)
}
