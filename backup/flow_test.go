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
		if err := f.acquire(ctx, 1); err != nil {
			t.Fatal(err)
		}
		f.release(1, true)
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
		f.acquire(ctx, 1)
		f.release(1, true)
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
			if err := f.acquire(ctx, 1); err != nil {
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
			f.release(1, true)
		}()
	}
	wg.Wait()
	if most != 3 {
		t.Errorf("at most %d in flight, want exactly the window 3", most)
	}
	for range 3 {
		f.acquire(ctx, 1)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.acquire(cctx, 1); err != context.Canceled {
		t.Errorf("acquire on a full flow with a cancelled context = %v", err)
	}
}

// TestFlowCountsRequests: a recording holds a slot per media file it
// fetches; one with more media than the window goes alone; completions
// grow the window by the requests they made.
func TestFlowCountsRequests(t *testing.T) {
	f := newFlow(4, 100)
	ctx := context.Background()
	if err := f.acquire(ctx, 3); err != nil {
		t.Fatal(err)
	}
	waiting, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := f.acquire(waiting, 2); err != context.DeadlineExceeded {
		t.Fatalf("3 of 4 slots held, 2 more: got %v, want to wait", err)
	}
	f.release(3, true) // slow start: +3
	if limit, peak, _ := f.stats(); limit != 7 || peak != 3 {
		t.Fatalf("window %d, peak %d; want 7, 3", limit, peak)
	}
	if err := f.acquire(ctx, 20); err != nil { // more than the window, nothing in flight
		t.Fatal(err)
	}
	if _, peak, _ := f.stats(); peak != 20 {
		t.Errorf("peak %d, want 20: the big recording went alone", peak)
	}
	f.release(20, false) // throttled: no growth
	if limit, _, _ := f.stats(); limit != 7 {
		t.Errorf("window %d after a throttled recording, want 7", limit)
	}
}

// TestSlotsGiveAndEnd: a recording gives back at most the slots it took,
// some early and the rest at its end; a nil set is a no-op.
func TestSlotsGiveAndEnd(t *testing.T) {
	f := newFlow(10, 10)
	s, err := f.take(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	s.give()
	if f.inFlight != 2 {
		t.Fatalf("after one give %d in flight, want 2", f.inFlight)
	}
	s.end(false)
	s.give()
	s.end(true)
	if f.inFlight != 0 {
		t.Errorf("after end and more gives %d in flight, want 0", f.inFlight)
	}
	var none *slots
	none.give()
	none.end(true)
}
