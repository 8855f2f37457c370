package backup

import (
	"context"
	"sync"
)

// flow decides how many requests are in flight at once, adapting to the
// link the way TCP does: it starts small, grows by one with every
// request that completes (slow start: the window doubles per round of
// completions) up to a ceiling, and halves when the server throttles (503
// SlowDown, 429) — then grows again by one per window (additive increase,
// multiplicative decrease). A recording takes as many slots as it has
// media to fetch (they are fetched at once), so the window bounds the GETs
// in flight, and with them the memory, however media are spread. On a link
// 80 ms away a fixed 4 in flight leaves the pipe empty; on a throttling
// server a fixed 64 would make it worse. Safe for concurrent use.
type flow struct {
	mu       sync.Mutex
	limit    float64 // the window: how many may be in flight
	ceiling  float64
	slow     bool // slow start: +1 per completion until the first throttle
	inFlight int
	peak     int           // most in flight at once, for tests and logs
	cuts     int           // times the window was halved
	wake     chan struct{} // closed when a slot may have freed
	// sinceCut counts completions since the last halving: a burst of
	// throttled answers from one window halves it once, not per answer.
	sinceCut int
}

func newFlow(start, ceiling int) *flow {
	start = max(min(start, ceiling), 1)
	return &flow{limit: float64(start), ceiling: float64(max(ceiling, 1)), slow: true, wake: make(chan struct{}), sinceCut: start}
}

// acquire waits for n (≥ 1) slots or the end of ctx. A recording with
// more media than the window goes alone once nothing else is in flight.
func (f *flow) acquire(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if f.inFlight+n <= int(f.limit) || f.inFlight == 0 {
			f.inFlight += n
			f.peak = max(f.peak, f.inFlight)
			f.mu.Unlock()
			return nil
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release returns n slots; ok reports a recording that went through
// without being throttled, which grows the window by one per request.
func (f *flow) release(n int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight -= n
	f.sinceCut += n
	if ok {
		step := 1.0
		if !f.slow {
			step = 1 / f.limit
		}
		f.limit = min(f.limit+float64(n)*step, f.ceiling)
	}
	close(f.wake)
	f.wake = make(chan struct{})
}

// throttled halves the window, at most once per window's worth of
// completions, and ends slow start.
func (f *flow) throttled() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sinceCut < int(f.limit) {
		return
	}
	f.slow = false
	f.limit = max(f.limit/2, 1)
	f.sinceCut = 0
	f.cuts++
}

// stats reports the window, the peak in flight and the number of cuts.
func (f *flow) stats() (limit, peak, cuts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int(f.limit), f.peak, f.cuts
}

// slots are the n slots one recording took. Each media file gives its
// slot back as soon as its bytes are in (give), before it waits for the
// disk; the recording gives back the rest when it ends. The window thus
// counts requests on the wire, not files waiting for a sync. Nil-safe.
type slots struct {
	f    *flow
	mu   sync.Mutex
	left int
}

// take waits for n slots (see acquire); a recording with no media to
// fetch still takes one.
func (f *flow) take(ctx context.Context, n int) (*slots, error) {
	n = max(n, 1)
	if err := f.acquire(ctx, n); err != nil {
		return nil, err
	}
	return &slots{f: f, left: n}, nil
}

// give returns one slot: a request that completed unthrottled.
func (s *slots) give() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left > 0 {
		s.left--
		s.f.release(1, true)
	}
}

// end returns the slots not given back yet; ok as for release.
func (s *slots) end(ok bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left > 0 {
		s.f.release(s.left, ok)
		s.left = 0
	}
}
