// Package sharding computes the download window of a run, cuts it into
// shards, and decides which instance owns a recording.
//
// Everything here is pure: no I/O, no clock. The caller passes "now" and the
// recovered state, so the same inputs always give the same plan.
package sharding

import (
	"errors"
	"hash/fnv"
	"time"
)

// Period is a calendar span as ISO-8601 writes it (P1Y2DT4H30M): years,
// months and days are calendar units (a month back from 31 March is 3 March
// as Go's AddDate normalises), Clock is the exact time part.
type Period struct {
	Years, Months, Days int
	Clock               time.Duration
}

// Before returns t moved back by p.
func (p Period) Before(t time.Time) time.Time {
	return t.AddDate(-p.Years, -p.Months, -p.Days).Add(-p.Clock)
}

// After returns t moved forward by p.
func (p Period) After(t time.Time) time.Time {
	return t.AddDate(p.Years, p.Months, p.Days).Add(p.Clock)
}

// IsZero reports whether p spans no time.
func (p Period) IsZero() bool { return p == Period{} }

// ParsePeriod reads a non-negative integer count of unit (24h for ages and
// shardBy, 1h for overlap) or an ISO-8601 duration.
func ParsePeriod(s string, unit time.Duration) (Period, error) {
	return Period{}, errors.New("not implemented")
}

// ParseDate reads YYYY-MM-DD (00:00 GMT) or 13-digit epoch milliseconds.
func ParseDate(s string) (time.Time, error) {
	return time.Time{}, errors.New("not implemented")
}

// Window is the half-open interval [Start, End).
type Window struct {
	Start, End time.Time
}

// Instance returns the instance, in [0,total), that owns the recording id:
// FNV-1a 32 of its UTF-8 bytes mod total (spec §5).
func Instance(id string, total int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(total))
}
