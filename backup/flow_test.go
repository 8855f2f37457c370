package backup

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestFlowSlowStartThenHalves(t *testing.T) {
	f := newFlow(4, 64)
	ctx := context.Background()
	for range 100 { // one at a time: every completion grows the window by one
		if err := f.acquire(ctx); err != nil {
			t.Fatal(err)
		}
		f.release(true)
	}
	if limit, _, _ := f.stats(); limit != 64 {
		t.Fatalf("after 100 completions in slow start the window is %d, want the ceiling 64", limit)
	}
	f.throttled()
	f.throttled() // same window: not halved twice
	if limit, _, cuts := f.stats(); limit != 32 || cuts != 1 {
		t.Fatalf("after a burst of throttling: window %d, cuts %d; want 32, 1", limit, cuts)
	}
	for range 34 { // congestion avoidance: about one window of completions grows it by one
		f.acquire(ctx)
		f.release(true)
	}
	if limit, _, _ := f.stats(); limit != 33 {
		t.Errorf("after one window of completions the window is %d, want 33", limit)
	}
	f.throttled()
	if limit, _, cuts := f.stats(); limit != 16 || cuts != 2 {
		t.Errorf("second throttle a window later: window %d, cuts %d; want 16, 2", limit, cuts)
	}
}

func TestFlowNeverBelowOne(t *testing.T) {
	f := newFlow(1, 8)
	for range 10 {
		f.sinceCut = 100
		f.throttled()
	}
	if limit, _, _ := f.stats(); limit != 1 {
		t.Errorf("window %d, want at least 1", limit)
	}
}

// TestFlowBoundsInFlight: however many goroutines ask, no more than the
// window hold a slot, and a cancelled waiter gets its context's error.
func TestFlowBoundsInFlight(t *testing.T) {
	f := newFlow(3, 3)
	ctx := context.Background()
	var mu sync.Mutex
	now, most := 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.acquire(ctx); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			now++
			most = max(most, now)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			now--
			mu.Unlock()
			f.release(true)
		}()
	}
	wg.Wait()
	if most != 3 {
		t.Errorf("at most %d in flight, want exactly the window 3", most)
	}
	for range 3 {
		f.acquire(ctx)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.acquire(cctx); err != context.Canceled {
		t.Errorf("acquire on a full flow with a cancelled context = %v", err)
	}
}
