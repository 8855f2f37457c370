package sharding

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func date(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
func ptr(t time.Time) *time.Time                   { return &t }

func TestComputeWindow(t *testing.T) {
	now := date(2018, 1, 9, 0)
	tests := []struct {
		name      string
		in        WindowInput
		want      Window
		recovered bool
	}{
		{"manual: minAge=0 maxAge=3 on 9 January",
			WindowInput{Now: now, MaxAge: Period{Days: 3}, Overlap: Period{Clock: 6 * time.Hour}},
			Window{date(2018, 1, 6, 0), date(2018, 1, 9, 0)}, false},
		{"manual: minDate=2018-01-04 maxDate=2018-01-02",
			WindowInput{Now: now, MaxAge: Period{Days: 2}, MinDate: ptr(date(2018, 1, 4, 0)), MaxDate: ptr(date(2018, 1, 2, 0))},
			Window{date(2018, 1, 2, 0), date(2018, 1, 4, 0)}, false},
		{"manual: epoch-ms maxDate 1438300800000 = 2015-07-31",
			WindowInput{Now: now, MaxDate: ptr(time.UnixMilli(1438300800000))},
			Window{date(2015, 7, 31, 0), now}, false},
		{"defaults: maxAge=2",
			WindowInput{Now: now, MaxAge: Period{Days: 2}},
			Window{date(2018, 1, 7, 0), now}, false},
		{"maxAge=0 is any age: from the epoch",
			WindowInput{Now: now, MinAge: Period{Days: 1}},
			Window{time.UnixMilli(0).UTC(), date(2018, 1, 8, 0)}, false},
		{"ISO ages PT30M..P30D",
			WindowInput{Now: now, MinAge: Period{Clock: 30 * time.Minute}, MaxAge: Period{Days: 30}},
			Window{date(2017, 12, 10, 0), now.Add(-30 * time.Minute)}, false},
		{"calendar ages P1Y2DT4H30M",
			WindowInput{Now: now, MaxAge: Period{Years: 1, Days: 2, Clock: 4*time.Hour + 30*time.Minute}},
			Window{time.Date(2017, 1, 6, 19, 30, 0, 0, time.UTC), now}, false},
		{"recovery after a 3-day outage, overlap 6h",
			WindowInput{Now: now, MaxAge: Period{Days: 2}, State: ptr(date(2018, 1, 4, 0)), Overlap: Period{Clock: 6 * time.Hour}},
			Window{date(2018, 1, 3, 18), now}, true},
		{"recent state: the overlap does not reach back past maxAge",
			WindowInput{Now: now, MaxAge: Period{Days: 2}, State: ptr(date(2018, 1, 8, 12)), Overlap: Period{Clock: 6 * time.Hour}},
			Window{date(2018, 1, 7, 0), now}, false},
		{"overlap P6D reaches back six days before the state",
			WindowInput{Now: now, MaxAge: Period{Days: 2}, State: ptr(date(2018, 1, 8, 0)), Overlap: Period{Days: 6}},
			Window{date(2018, 1, 2, 0), now}, true},
		{"zero overlap: start = state",
			WindowInput{Now: now, MaxAge: Period{Days: 2}, State: ptr(date(2018, 1, 5, 0))},
			Window{date(2018, 1, 5, 0), now}, true},
		{"maxDate overrides the state",
			WindowInput{Now: now, MaxDate: ptr(date(2018, 1, 7, 0)), State: ptr(date(2018, 1, 1, 0)), Overlap: Period{Clock: 6 * time.Hour}},
			Window{date(2018, 1, 7, 0), now}, false},
		{"state in the future changes nothing",
			WindowInput{Now: now, MaxAge: Period{Days: 2}, State: ptr(date(2019, 1, 1, 0)), Overlap: Period{Clock: 6 * time.Hour}},
			Window{date(2018, 1, 7, 0), now}, false},
		{"maxAge=0 with a state: already from the epoch",
			WindowInput{Now: now, State: ptr(date(2018, 1, 5, 0)), Overlap: Period{Clock: 6 * time.Hour}},
			Window{time.UnixMilli(0).UTC(), now}, false},
		{"now is truncated to the millisecond and made UTC",
			WindowInput{Now: time.Date(2018, 1, 9, 1, 0, 0, 123456789, time.FixedZone("CET", 3600)), MaxAge: Period{Days: 1}},
			Window{time.Date(2018, 1, 8, 0, 0, 0, 123e6, time.UTC), time.Date(2018, 1, 9, 0, 0, 0, 123e6, time.UTC)}, false},
		{"a start before 1970 is clamped to the epoch",
			WindowInput{Now: now, MaxAge: Period{Years: 100}},
			Window{time.UnixMilli(0).UTC(), now}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rec, err := ComputeWindow(tt.in)
			if err != nil {
				t.Fatalf("ComputeWindow: %v", err)
			}
			if !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) || rec != tt.recovered {
				t.Errorf("ComputeWindow = %v recovered=%v, want %v recovered=%v", got, rec, tt.want, tt.recovered)
			}
			if got.Start.Location() != time.UTC || got.End.Location() != time.UTC {
				t.Errorf("window %v is not in UTC", got)
			}
		})
	}
}

func TestComputeWindowErrors(t *testing.T) {
	now := date(2018, 1, 9, 0)
	tests := []struct {
		name string
		in   WindowInput
		want string
	}{
		{"minAge > maxAge", WindowInput{Now: now, MinAge: Period{Days: 3}, MaxAge: Period{Days: 2}}, "minAge must be less than maxAge"},
		{"minAge = maxAge", WindowInput{Now: now, MinAge: Period{Days: 2}, MaxAge: Period{Days: 2}}, "minAge must be less than maxAge"},
		{"minAge > maxAge even with a state that would open it",
			WindowInput{Now: now, MinAge: Period{Days: 3}, MaxAge: Period{Days: 2}, State: ptr(date(2018, 1, 1, 0))}, "minAge must be less than maxAge"},
		{"dates inverted", WindowInput{Now: now, MinDate: ptr(date(2018, 1, 2, 0)), MaxDate: ptr(date(2018, 1, 4, 0))}, "minDate must be after maxDate"},
		{"dates equal", WindowInput{Now: now, MinDate: ptr(date(2018, 1, 2, 0)), MaxDate: ptr(date(2018, 1, 2, 0))}, "minDate must be after maxDate"},
		{"minDate before now-maxAge", WindowInput{Now: now, MaxAge: Period{Days: 2}, MinDate: ptr(date(2018, 1, 1, 0))},
			"minDate must be after the window start now − maxAge = 2018-01-07T00:00:00.000Z"},
		{"maxDate after now-minAge", WindowInput{Now: now, MinAge: Period{Days: 1}, MaxDate: ptr(date(2018, 1, 8, 12))},
			"maxDate must be before the window end now − minAge = 2018-01-08T00:00:00.000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ComputeWindow(tt.in)
			var we *WindowError
			if !errors.As(err, &we) || err.Error() != tt.want {
				t.Errorf("ComputeWindow error = %v, want *WindowError %q", err, tt.want)
			}
		})
	}
}

func TestShards(t *testing.T) {
	tests := []struct {
		name string
		w    Window
		by   Period
		want []Window
	}{
		{"three whole days", Window{date(2018, 1, 6, 0), date(2018, 1, 9, 0)}, Period{Days: 1},
			[]Window{{date(2018, 1, 6, 0), date(2018, 1, 7, 0)}, {date(2018, 1, 7, 0), date(2018, 1, 8, 0)}, {date(2018, 1, 8, 0), date(2018, 1, 9, 0)}}},
		{"odd length: the last is shorter", Window{date(2018, 1, 6, 18), date(2018, 1, 9, 0)}, Period{Days: 1},
			[]Window{{date(2018, 1, 6, 18), date(2018, 1, 7, 18)}, {date(2018, 1, 7, 18), date(2018, 1, 8, 18)}, {date(2018, 1, 8, 18), date(2018, 1, 9, 0)}}},
		{"shorter than shardBy: one shard", Window{date(2018, 1, 8, 19), date(2018, 1, 9, 0)}, Period{Days: 1},
			[]Window{{date(2018, 1, 8, 19), date(2018, 1, 9, 0)}}},
		{"hours", Window{date(2018, 1, 8, 0), date(2018, 1, 8, 10)}, Period{Clock: 3 * time.Hour},
			[]Window{{date(2018, 1, 8, 0), date(2018, 1, 8, 3)}, {date(2018, 1, 8, 3), date(2018, 1, 8, 6)}, {date(2018, 1, 8, 6), date(2018, 1, 8, 9)}, {date(2018, 1, 8, 9), date(2018, 1, 8, 10)}}},
		{"months step from each shard's start", Window{date(2018, 1, 31, 0), date(2018, 4, 15, 0)}, Period{Months: 1},
			[]Window{{date(2018, 1, 31, 0), date(2018, 3, 3, 0)}, {date(2018, 3, 3, 0), date(2018, 4, 3, 0)}, {date(2018, 4, 3, 0), date(2018, 4, 15, 0)}}},
		{"zero shardBy: one shard", Window{date(2018, 1, 6, 0), date(2018, 1, 9, 0)}, Period{},
			[]Window{{date(2018, 1, 6, 0), date(2018, 1, 9, 0)}}},
		{"empty window: none", Window{date(2018, 1, 9, 0), date(2018, 1, 9, 0)}, Period{Days: 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Shards(tt.w, tt.by)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Shards = %v\nwant %v", got, tt.want)
			}
			if n := EstimateShards(tt.w, tt.by); n < int64(len(got)) {
				t.Errorf("EstimateShards = %d < %d shards", n, len(got))
			}
		})
	}
}

// TestShardsCover checks, over many odd lengths, that shards tile the window
// exactly, oldest first, none longer than shardBy.
func TestShardsCover(t *testing.T) {
	start := time.Date(2018, 1, 6, 0, 0, 0, 0, time.UTC)
	for _, by := range []Period{{Days: 1}, {Clock: 7*time.Hour + 13*time.Millisecond}, {Days: 2, Clock: time.Hour}, {Months: 1}} {
		for span := time.Millisecond; span < 100*24*time.Hour; span = span*3 + 17*time.Millisecond {
			w := Window{start, start.Add(span)}
			got := Shards(w, by)
			if len(got) == 0 || !got[0].Start.Equal(w.Start) || !got[len(got)-1].End.Equal(w.End) {
				t.Fatalf("by %+v span %v: shards %v do not span %v", by, span, got, w)
			}
			for i, s := range got {
				if !s.Start.Before(s.End) || s.End.After(by.After(s.Start)) || (i > 0 && !s.Start.Equal(got[i-1].End)) {
					t.Fatalf("by %+v span %v: shard %d %v is empty, too long or not contiguous", by, span, i, s)
				}
			}
			if n := EstimateShards(w, by); n < int64(len(got)) {
				t.Fatalf("by %+v span %v: EstimateShards = %d < %d", by, span, n, len(got))
			}
		}
	}
}

func TestWindowContains(t *testing.T) {
	w := Window{date(2018, 1, 6, 0), date(2018, 1, 9, 0)}
	for _, tt := range []struct {
		t    time.Time
		want bool
	}{
		{w.Start, true}, {w.End, false}, {w.End.Add(-time.Millisecond), true}, {w.Start.Add(-time.Millisecond), false},
	} {
		if got := w.Contains(tt.t); got != tt.want {
			t.Errorf("%v.Contains(%v) = %v, want %v", w, tt.t, got, tt.want)
		}
	}
}

// fnv1a32 is FNV-1a written out from its definition (offset basis
// 2166136261, prime 16777619), independent of hash/fnv.
func fnv1a32(s string) uint32 {
	h := uint32(2166136261)
	for _, b := range []byte(s) {
		h ^= uint32(b)
		h *= 16777619
	}
	return h
}

func TestInstance(t *testing.T) {
	// Published FNV-1a 32 test vectors pin the hand-written loop itself.
	for s, want := range map[string]uint32{"": 0x811c9dc5, "a": 0xe40c292c, "foobar": 0xbf9cf968} {
		if got := fnv1a32(s); got != want {
			t.Fatalf("fnv1a32(%q) = %#x, want %#x", s, got, want)
		}
	}
	tests := []struct {
		id    string
		total int
		want  int
	}{
		{"01F62DGIBGD8369P7GC362LAES00000G", 4, 1}, // 0xd4c405fd
		{"01F62DGIBGD8369P7GC362LAES00000G", 7, 2},
		{"01F62DGIBGD8369P7GC362LAES00000G", 8, 5},
		{"foobar", 3, 1}, // 0xbf9cf968
		{"é", 8, 1},      // UTF-8 bytes c3 a9: 0x1e9de8c1
		{"a", 7, 5},
		{"anything", 1, 0},
		{"anything", 0, 0},
	}
	for _, tt := range tests {
		if got := Instance(tt.id, tt.total); got != tt.want {
			t.Errorf("Instance(%q, %d) = %d, want %d", tt.id, tt.total, got, tt.want)
		}
	}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("01F62DGIBGD8369P7GC362LAES%06d", i)
		for _, total := range []int{2, 3, 8, 1000} {
			if got, want := Instance(id, total), int(fnv1a32(id)%uint32(total)); got != want {
				t.Fatalf("Instance(%q, %d) = %d, want %d", id, total, got, want)
			}
		}
	}
}
