// Package sharding computes the download window of a run, cuts it into
// shards, and decides which instance owns a recording.
//
// Everything here is pure: no I/O, no clock. The caller passes "now" and the
// recovered state, so the same inputs always give the same plan.
package sharding

import (
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

// MinLength is the shortest time p can span wherever it is applied (a year
// at least 365 days, a month at least 28), for bounds and estimates.
func (p Period) MinLength() time.Duration {
	days := time.Duration(p.Years)*365 + time.Duration(p.Months)*28 + time.Duration(p.Days)
	return days*24*time.Hour + p.Clock
}

// Window is the half-open interval [Start, End).
type Window struct {
	Start, End time.Time
}

// Contains reports whether t is in the window: Start ≤ t < End.
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

// Instance returns the instance, in [0,total), that owns the recording id:
// FNV-1a 32 of its UTF-8 bytes mod total (spec §5). A total below 2 means a
// single instance, which owns everything.
func Instance(id string, total int) int {
	if total < 2 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(total))
}
