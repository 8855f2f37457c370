package retry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestParseAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"soon", 0}, {"NaN", 0}, {" 7 ", 7 * time.Second},
		{"120", 2 * time.Minute}, {"0.25", 250 * time.Millisecond},
		{"99999999999", 24 * time.Hour}, {"1e300", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), 24 * time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := ParseAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// Retry-After is honoured exactly, up to Max; without it the delay is a
// full-jitter pick under an exponential ceiling.
func TestDelay(t *testing.T) {
	p := Policy{Attempts: 5, Base: 100 * time.Millisecond, Max: time.Second}
	if got := p.Delay(1, 5*time.Second); got != time.Second {
		t.Errorf("Retry-After 5s with Max 1s: %v, want 1s", got)
	}
	if got := p.Delay(3, 300*time.Millisecond); got != 300*time.Millisecond {
		t.Errorf("Retry-After 300ms: %v, want it exactly", got)
	}
	for attempt := 1; attempt <= 70; attempt++ {
		ceiling := min(time.Second, 100*time.Millisecond<<min(attempt-1, 20))
		var asked []int64
		top := p
		top.Rand = func(n int64) int64 { asked = append(asked, n); return n }
		if d := top.Delay(attempt, 0); d != ceiling || len(asked) != 1 {
			t.Fatalf("attempt %d: top of the range %v (asked %v), want %v", attempt, d, asked, ceiling)
		}
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.Delay(attempt, 0)
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d, ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 50 {
			t.Errorf("attempt %d: only %d distinct delays in 200: no jitter", attempt, len(seen))
		}
	}
	zero := Policy{Max: 0}
	if d := zero.Delay(1, 0); d != 0 {
		t.Errorf("zero policy: %v, want 0", d)
	}
}

func TestLast(t *testing.T) {
	for _, tt := range []struct {
		attempts, attempt int
		last              bool
	}{{0, 1, true}, {1, 1, true}, {3, 1, false}, {3, 2, false}, {3, 3, true}, {3, 4, true}} {
		if got := (Policy{Attempts: tt.attempts}).Last(tt.attempt); got != tt.last {
			t.Errorf("Attempts %d, attempt %d: last %v, want %v", tt.attempts, tt.attempt, got, tt.last)
		}
	}
}

func TestErrorCarriesAfter(t *testing.T) {
	base := errors.New("HTTP 429")
	err := fmt.Errorf("media x: %w", &Error{Err: base, After: 3 * time.Second})
	if !Retryable(err) || AfterOf(err) != 3*time.Second || !errors.Is(err, base) || err.Error() != "media x: HTTP 429" {
		t.Errorf("wrapped: retryable %v, after %v, is %v, %q", Retryable(err), AfterOf(err), errors.Is(err, base), err)
	}
	if Retryable(base) || AfterOf(base) != 0 {
		t.Error("a plain error counts as retryable")
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if err := Sleep(ctx, time.Hour); err != cause {
		t.Errorf("cancelled: %v, want the cause", err)
	}
	if err := Sleep(ctx, 0); err != cause {
		t.Errorf("cancelled, no wait: %v, want the cause", err)
	}
}
