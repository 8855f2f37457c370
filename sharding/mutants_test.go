package sharding

import (
	"testing"
	"time"
)

// An empty or inverted window has no shards, and the estimate says so
// exactly: it is what the plan shows before cutting (found by
// scripts/mutate: `span <= 0` → `span < 0` lived).
func TestEstimateShardsEmptyWindow(t *testing.T) {
	at := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, w := range []Window{{Start: at, End: at}, {Start: at.Add(time.Hour), End: at}} {
		if n := EstimateShards(w, Period{Days: 1}); n != 0 {
			t.Errorf("EstimateShards(%v) = %d, want 0", w, n)
		}
	}
	if n := EstimateShards(Window{Start: at, End: at.Add(time.Hour)}, Period{}); n != 1 {
		t.Errorf("zero shardBy: %d, want 1", n)
	}
}
