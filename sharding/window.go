package sharding

import (
	"fmt"
	"time"
)

// MaxShards bounds how many shards a window may be cut into: each shard is at
// least one API listing, and a tiny shardBy over a window of decades would
// otherwise build millions of them before the first request.
const MaxShards = 100_000

// TimeLayout is how rcbs writes window times (plan, messages, summary):
// RFC 3339 in UTC with milliseconds, e.g. 2018-01-06T00:00:00.000Z. Format
// only times already in UTC.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// WindowInput is everything the window depends on (spec §3). Optional values
// are nil when unset.
type WindowInput struct {
	Now              time.Time
	MinAge, MaxAge   Period
	MinDate, MaxDate *time.Time
	// State is L, the time in last_recording_endtime.txt; nil when the file
	// is absent or skipLastRecordingCheck is true.
	State   *time.Time
	Overlap Period
}

// WindowError is an empty or inverted window: a configuration error that
// names the key to fix (minAge, minDate or maxDate).
type WindowError struct {
	Key     string
	Problem string
}

func (e *WindowError) Error() string { return e.Key + " " + e.Problem }

// ComputeWindow computes [start, end) per spec §3, in UTC truncated to the
// millisecond. recovered reports that the state moved the start back.
//
// The start < end check is made on the configured window, before the state
// is applied: a minAge ≥ maxAge is a configuration error whether or not a
// state file happens to exist (recovery only ever moves the start back).
// Starts before 1970 are clamped to the epoch, as maxAge = 0 means: nothing
// older exists, and the recordings API takes epoch milliseconds.
func ComputeWindow(in WindowInput) (w Window, recovered bool, err error) {
	now := in.Now.UTC().Truncate(time.Millisecond)
	w.End = in.MinAge.Before(now)
	if in.MinDate != nil {
		w.End = *in.MinDate
	}
	w.Start = clampEpoch(in.MaxAge.Before(now))
	switch {
	case in.MaxDate != nil:
		w.Start = *in.MaxDate
	case in.MaxAge.IsZero():
		w.Start = time.UnixMilli(0)
	}
	w.Start, w.End = msUTC(w.Start), msUTC(w.End)
	if !w.Start.Before(w.End) {
		return Window{}, false, emptyWindow(in, w)
	}
	if in.State != nil && in.MaxDate == nil {
		back := clampEpoch(msUTC(in.Overlap.Before(*in.State)))
		if back.Before(w.Start) {
			w.Start, recovered = back, true
		}
	}
	return w, recovered, nil
}

// emptyWindow names the key to fix for a window with start ≥ end.
func emptyWindow(in WindowInput, w Window) error {
	switch {
	case in.MinDate != nil && in.MaxDate != nil:
		return &WindowError{Key: "minDate", Problem: "must be after maxDate"}
	case in.MinDate != nil:
		return &WindowError{Key: "minDate", Problem: "must be after the window start now − maxAge = " + w.Start.Format(TimeLayout)}
	case in.MaxDate != nil:
		return &WindowError{Key: "maxDate", Problem: "must be before the window end now − minAge = " + w.End.Format(TimeLayout)}
	}
	return &WindowError{Key: "minAge", Problem: "must be less than maxAge"}
}

func msUTC(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func clampEpoch(t time.Time) time.Time {
	if epoch := time.UnixMilli(0).UTC(); t.Before(epoch) {
		return epoch
	}
	return t
}

// Shards cuts w into consecutive pieces of length by, from the start; the
// last is shorter. Each piece starts where the previous ended (so months step
// as AddDate does: 31 Jan + P1M = 3 Mar). A window shorter than by, or a zero
// by, gives one shard; an empty window none. Check EstimateShards against
// MaxShards first: the result is not bounded here.
func Shards(w Window, by Period) []Window {
	var out []Window
	for s := w.Start; s.Before(w.End); {
		e := by.After(s)
		if !e.After(s) || e.After(w.End) {
			e = w.End
		}
		out = append(out, Window{Start: s, End: e})
		s = e
	}
	return out
}

// EstimateShards is an upper bound on len(Shards(w, by)), computed without
// cutting, from by's shortest possible length.
func EstimateShards(w Window, by Period) int64 {
	span, step := w.End.Sub(w.Start), by.MinLength()
	switch {
	case span <= 0:
		return 0
	case step <= 0:
		return 1
	}
	return int64(span/step) + 1
}

// String writes the window for humans: start..end in RFC 3339 UTC with ms.
func (w Window) String() string {
	return fmt.Sprintf("%s..%s", w.Start.UTC().Format(TimeLayout), w.End.UTC().Format(TimeLayout))
}
