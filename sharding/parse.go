package sharding

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sosodev/duration"
)

// Bounds that keep every period and date far inside what time.Time and
// time.Duration can hold, so that no input overflows the arithmetic.
const (
	maxCount      = 1_000_000                  // largest integer count or ISO number
	maxClockHours = 1_000_000                  // largest ISO time part, in hours (~114 years)
	epochMillis   = 13                         // digits of an epoch-ms date
	dateLayout    = "2006-01-02"               // YYYY-MM-DD
	isoExamples   = "P30D, PT30M, P1Y2DT4H30M" // shown in errors
)

// isoGrammar is the part of ISO-8601 durations rcbs accepts: integer years,
// months, weeks and days (a fraction of a calendar unit has no single
// meaning), hours and minutes with an optional fraction, seconds with at most
// millisecond precision. sosodev/duration alone accepts "P", "PT", repeated
// units and non-ASCII digits, hence this gate in front of it.
var isoGrammar = regexp.MustCompile(`^P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d{1,3})?S)?)?$`)

// ParsePeriod reads a non-negative integer count of unit (24h for ages and
// shardBy, 1h for overlap, 1s for timeouts) or an ISO-8601 duration such as
// P30D, PT30M, P1Y2DT4H30M or P6MT12H (case-insensitive). Counts of whole
// days become calendar days, like the ISO form's D. The error text is the
// problem alone, for the caller to name the key.
func ParsePeriod(s string, unit time.Duration) (Period, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Period{}, errors.New("is empty")
	case strings.HasPrefix(s, "-"):
		return Period{}, errors.New("must not be negative")
	case isDigits(s):
		return parseCount(s, unit)
	case s[0] == 'P' || s[0] == 'p':
		return parseISO(strings.ToUpper(s), unit)
	}
	return Period{}, fmt.Errorf("must be a whole number of %s or an ISO-8601 duration (%s)", unitName(unit), isoExamples)
}

func parseCount(s string, unit time.Duration) (Period, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n > maxCount {
		return Period{}, fmt.Errorf("is too large (at most %d %s)", maxCount, unitName(unit))
	}
	if unit > 0 && unit%(24*time.Hour) == 0 {
		return Period{Days: n * int(unit/(24*time.Hour))}, nil
	}
	return Period{Clock: time.Duration(n) * unit}, nil
}

func parseISO(s string, unit time.Duration) (Period, error) {
	bad := fmt.Errorf("must be a whole number of %s or an ISO-8601 duration (%s)", unitName(unit), isoExamples)
	if !isoGrammar.MatchString(s) || s == "P" || strings.HasSuffix(s, "T") {
		return Period{}, bad
	}
	d, err := duration.Parse(s)
	if err != nil {
		return Period{}, bad
	}
	for _, v := range []float64{d.Years, d.Months, d.Weeks, d.Days, d.Hours, d.Minutes, d.Seconds} {
		if v > maxCount {
			return Period{}, fmt.Errorf("is too large (each number at most %d)", maxCount)
		}
	}
	hours := d.Hours + d.Minutes/60 + d.Seconds/3600
	if hours > maxClockHours {
		return Period{}, fmt.Errorf("is too large (the time part at most %d hours)", maxClockHours)
	}
	clock := time.Duration(math.Round(d.Hours*float64(time.Hour) + d.Minutes*float64(time.Minute) + d.Seconds*float64(time.Second)))
	if clock%time.Millisecond != 0 {
		return Period{}, errors.New("is finer than a millisecond")
	}
	return Period{Years: int(d.Years), Months: int(d.Months), Days: int(d.Days) + 7*int(d.Weeks), Clock: clock}, nil
}

func unitName(unit time.Duration) string {
	switch unit {
	case 24 * time.Hour:
		return "days"
	case time.Hour:
		return "hours"
	case time.Second:
		return "seconds"
	}
	return "units of " + unit.String()
}

// ParseDate reads YYYY-MM-DD (00:00 GMT) or 13-digit epoch milliseconds,
// strictly: no other layout, no surrounding text, nothing before 1970.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == epochMillis && isDigits(s):
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, errors.New("is not a valid epoch-milliseconds value")
		}
		return time.UnixMilli(ms).UTC(), nil
	case len(s) == len(dateLayout) && isDigits(s[:4]+s[5:7]+s[8:]) && s[4] == '-' && s[7] == '-':
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			return time.Time{}, errors.New("is not a real calendar date")
		}
		if t.Year() < 1970 {
			return time.Time{}, errors.New("must not be before 1970-01-01")
		}
		return t.UTC(), nil
	}
	return time.Time{}, errors.New("must be a date YYYY-MM-DD (GMT) or 13-digit epoch milliseconds")
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
