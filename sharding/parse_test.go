package sharding

import (
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in   string
		unit time.Duration
		want Period
	}{
		{"2", day, Period{Days: 2}},
		{"0", day, Period{}},
		{"007", day, Period{Days: 7}},
		{" 3 ", day, Period{Days: 3}},
		{"6", time.Hour, Period{Clock: 6 * time.Hour}},
		{"60", time.Second, Period{Clock: time.Minute}},
		{"2", 48 * time.Hour, Period{Days: 4}},
		{"P1Y2DT4H30M", day, Period{Years: 1, Days: 2, Clock: 4*time.Hour + 30*time.Minute}},
		{"P6MT12H", day, Period{Months: 6, Clock: 12 * time.Hour}},
		{"PT30M", day, Period{Clock: 30 * time.Minute}},
		{"P30D", day, Period{Days: 30}},
		{"P6D", time.Hour, Period{Days: 6}},
		{"p30d", day, Period{Days: 30}},
		{"pt30m", day, Period{Clock: 30 * time.Minute}},
		{"P2W", day, Period{Days: 14}},
		{"P1W3D", day, Period{Days: 10}},
		{"P1Y", day, Period{Years: 1}},
		{"P1M", day, Period{Months: 1}},
		{"PT1.5H", day, Period{Clock: 90 * time.Minute}},
		{"PT0.5M", day, Period{Clock: 30 * time.Second}},
		{"PT60S", time.Second, Period{Clock: time.Minute}},
		{"PT0.25S", time.Second, Period{Clock: 250 * time.Millisecond}},
		{"PT1H2M3.004S", day, Period{Clock: time.Hour + 2*time.Minute + 3*time.Second + 4*time.Millisecond}},
		{"P1Y2M3W4DT5H6M7S", day, Period{Years: 1, Months: 2, Days: 25, Clock: 5*time.Hour + 6*time.Minute + 7*time.Second}},
		{"P0D", day, Period{}},
		{"PT0S", day, Period{}},
		{"1000000", day, Period{Days: 1_000_000}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePeriod(tt.in, tt.unit)
			if err != nil {
				t.Fatalf("ParsePeriod(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParsePeriod(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePeriodErrors(t *testing.T) {
	tests := []struct {
		in   string
		unit time.Duration
		want string
	}{
		{"", day, "is empty"},
		{"  ", day, "is empty"},
		{"-1", day, "must not be negative"},
		{"-P1D", day, "must not be negative"},
		{"1.5", day, "must be a whole number of days or an ISO-8601 duration (P30D, PT30M, P1Y2DT4H30M)"},
		{"1.5", time.Hour, "must be a whole number of hours or an ISO-8601 duration (P30D, PT30M, P1Y2DT4H30M)"},
		{"1.5", time.Second, "must be a whole number of seconds or an ISO-8601 duration (P30D, PT30M, P1Y2DT4H30M)"},
		{"two", day, "must be a whole number of days"},
		{"+1", day, "must be a whole number of days"},
		{"1e3", day, "must be a whole number of days"},
		{"0x10", day, "must be a whole number of days"},
		{"2d", day, "must be a whole number of days"},
		{"P", day, "must be a whole number of days"},
		{"PT", day, "must be a whole number of days"},
		{"P1DT", day, "must be a whole number of days"},
		{"P1.5D", day, "must be a whole number of days"},
		{"P0.5Y", day, "must be a whole number of days"},
		{"P1D1M", day, "must be a whole number of days"},
		{"P1M2Y", day, "must be a whole number of days"},
		{"PT1H1H", day, "must be a whole number of days"},
		{"P1H", day, "must be a whole number of days"},
		{"PT1D", day, "must be a whole number of days"},
		{"P١D", day, "must be a whole number of days"},
		{"P1D ", day, ""}, // trailing space is trimmed: valid
		{"P 1D", day, "must be a whole number of days"},
		{"PT0.0001S", day, "must be a whole number of days"},
		{"PT0.0000001H", day, "is finer than a millisecond"},
		{"1000001", day, "is too large (at most 1000000 days)"},
		{"99999999999999999999999", day, "is too large (at most 1000000 days)"},
		{"P9999999Y", day, "is too large (each number at most 1000000)"},
		{"PT1000001H", day, "is too large (each number at most 1000000)"},
		{"PT999999H999999M", day, "is too large (the time part at most 1000000 hours)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParsePeriod(tt.in, tt.unit)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParsePeriod(%q): %v", tt.in, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ParsePeriod(%q) error = %v, want prefix %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2015-07-31", time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)},
		{"1438300800000", time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)},
		{"2018-01-04", time.Date(2018, 1, 4, 0, 0, 0, 0, time.UTC)},
		{"2016-02-29", time.Date(2016, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"1438300800123", time.Date(2015, 7, 31, 0, 0, 0, 123e6, time.UTC)},
		{" 2018-01-04 ", time.Date(2018, 1, 4, 0, 0, 0, 0, time.UTC)},
		{"1970-01-01", time.Unix(0, 0).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in)
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseDate(%q) = %v, want %v UTC", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDateErrors(t *testing.T) {
	const syntax = "must be a date YYYY-MM-DD (GMT) or 13-digit epoch milliseconds"
	tests := []struct{ in, want string }{
		{"", syntax},
		{"2018-1-4", syntax},
		{"2018/01/04", syntax},
		{"2018-01-04T00:00:00Z", syntax},
		{"04-01-2018", syntax},
		{"143830080000", syntax},   // 12 digits: seconds or a typo
		{"14383008000000", syntax}, // 14 digits
		{"1438300800", syntax},     // epoch seconds
		{"+438300800000", syntax},
		{"abcd-ef-gh", syntax},
		{"2018-0a-04", syntax},
		{"2018-02-30", "is not a real calendar date"},
		{"2017-02-29", "is not a real calendar date"},
		{"2018-13-01", "is not a real calendar date"},
		{"2018-00-10", "is not a real calendar date"},
		{"1969-12-31", "must not be before 1970-01-01"},
		{"0000-01-01", "must not be before 1970-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseDate(tt.in)
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseDate(%q) error = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2", "0", "P1Y2DT4H30M", "P6MT12H", "PT30M", "P30D", "P2W", "PT1.5H",
		"PT0.001S", "-1", "1.5", "P", "PT", "P1DT", "P9999999Y", "PT999999H999999M", "p1d", "P١D", "P1.5D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, unit := range []time.Duration{day, time.Hour, time.Second} {
			p, err := ParsePeriod(s, unit)
			if err != nil {
				continue
			}
			if p.Years < 0 || p.Months < 0 || p.Days < 0 || p.Clock < 0 || p.Clock%time.Millisecond != 0 {
				t.Fatalf("ParsePeriod(%q) = %+v: negative or sub-millisecond", s, p)
			}
			now := time.Date(2018, 1, 9, 0, 0, 0, 0, time.UTC)
			if p.Before(now).After(now) || p.After(now).Before(now) {
				t.Fatalf("ParsePeriod(%q) = %+v moves the wrong way", s, p)
			}
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2015-07-31", "1438300800000", "2018-02-30", "1969-12-31", "9999-12-31",
		"9999999999999", "0000000000000", "2018-1-4", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if d.Before(time.Unix(0, 0)) || d.Location() != time.UTC || d.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("ParseDate(%q) = %v: before 1970, not UTC or sub-millisecond", s, d)
		}
		if v := strings.TrimSpace(s); len(v) == 10 && d.Format("2006-01-02") != v {
			t.Fatalf("ParseDate(%q) = %v does not round-trip", s, d)
		}
	})
}
