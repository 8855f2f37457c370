// Package retry is rcbs's one retry policy: how many attempts, how long to
// wait between them (exponential backoff with full jitter, or the server's
// Retry-After up to a cap), and the typed error that marks a failed attempt
// as worth repeating. The recordings API client retries its own pages and
// settings with it; the backup engine retries media (S3 or the API) with it,
// and the API client then makes a single attempt: each request is retried
// by exactly one layer, so attempts never multiply.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy is how often and how patiently to retry. The zero value makes one
// attempt.
type Policy struct {
	Attempts int           // tries in all; below 1 counts as 1
	Base     time.Duration // ceiling of the first retry's delay, doubled per retry
	Max      time.Duration // ceiling of every delay, Retry-After included
	// Rand picks uniformly in [0, n]; nil: math/rand/v2, whose top-level
	// functions are safe for concurrent use (tests pass a fixed one).
	Rand func(n int64) int64
}

// Last reports whether attempt (1-based) is the last one allowed.
func (p Policy) Last(attempt int) bool { return attempt >= max(p.Attempts, 1) }

// Delay is the wait before retry number attempt (1 = the first retry): the
// server's Retry-After when it gave one (at most Max: a server asking for an
// hour must not hold a worker that long), else a uniform pick in
// [0, min(Max, Base·2^(attempt-1))] — "full jitter", so that many workers
// failing together do not retry in step.
func (p Policy) Delay(attempt int, after time.Duration) time.Duration {
	if after > 0 {
		return min(after, p.Max)
	}
	ceiling := p.Max
	if attempt >= 1 && attempt-1 < 32 {
		ceiling = min(ceiling, p.Base<<(attempt-1))
	}
	if ceiling <= 0 {
		ceiling = max(p.Max, 0)
	}
	pick := p.Rand
	if pick == nil {
		pick = func(n int64) int64 { return rand.Int64N(n + 1) }
	}
	return time.Duration(pick(int64(ceiling)))
}

// Error marks a failed attempt as worth another (429, 5xx, a transport
// error, a cut body). After is the server's Retry-After; 0 when none.
type Error struct {
	Err   error
	After time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err carries an *Error.
func Retryable(err error) bool {
	var re *Error
	return errors.As(err, &re)
}

// AfterOf is the Retry-After that err carries, or 0.
func AfterOf(err error) time.Duration {
	var re *Error
	if errors.As(err, &re) {
		return re.After
	}
	return 0
}

// maxAfter bounds what ParseAfter returns before the policy's own cap.
const maxAfter = 24 * time.Hour

// ParseAfter reads a Retry-After header: delay-seconds (a decimal fraction
// is accepted too, as test servers send) or an HTTP date. A missing,
// malformed or past value gives 0: use the backoff.
func ParseAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if !(secs > 0) { // NaN too
			return 0
		}
		if secs >= maxAfter.Seconds() {
			return maxAfter
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxAfter)
	}
	return 0
}

// Sleep waits d or until ctx is done, then returns ctx's cause.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
