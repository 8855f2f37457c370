package metadata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryable marks an attempt's error as worth another try (429, 5xx, a
// transport error, a broken body). after is the server's Retry-After.
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// retryUnlessStatus makes a body error retryable (a cut connection, a
// truncated page) unless the server answered deliberately (a non-zero
// statusCode) or the page is over the cap (it will be again).
func retryUnlessStatus(err error) error {
	var se *StatusError
	if err == nil || errors.As(err, &se) || errors.Is(err, errPageTooLarge) {
		return err
	}
	return &retryable{err: err}
}

// withRetry runs try up to Attempts times while it fails with a retryable
// error, sleeping an exponential backoff with full jitter (or the server's
// Retry-After, capped at MaxBackoff) in between. The caller's cancellation
// ends it at once with ctx's error. Every request of the Client goes
// through here, so each attempt's error has the server's text cleaned here,
// once, before it is logged or returned.
func (c *Client) withRetry(ctx context.Context, what string, try func(context.Context) error) error {
	var last *retryable
	for attempt := 1; ; attempt++ {
		err := try(ctx)
		if err == nil {
			return nil
		}
		c.cleanServerText(err)
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		}
		if !errors.As(err, &last) {
			return fmt.Errorf("%s: %w", what, err)
		}
		if attempt >= c.opts.Attempts {
			return fmt.Errorf("%s: giving up after %d attempts: %w", what, attempt, last.err)
		}
		delay := c.delay(attempt, last.after)
		c.log.Debug("recordings API: retrying", "request", what, "attempt", attempt, "delay", delay, "error", last.err)
		if err := sleep(ctx, delay); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
}

// delay is the wait before retry number attempt (1 = the first retry):
// Retry-After when the server gave one, else a uniform pick in
// [0, min(MaxBackoff, BaseBackoff·2^(attempt-1))] ("full jitter", so that
// many workers do not retry in step). math/rand/v2's top-level functions are
// safe for concurrent use and need no state of ours.
func (c *Client) delay(attempt int, after time.Duration) time.Duration {
	if after > 0 {
		return min(after, c.opts.MaxBackoff)
	}
	ceiling := c.opts.MaxBackoff
	if attempt-1 < 32 {
		ceiling = min(ceiling, c.opts.BaseBackoff<<(attempt-1))
	}
	if ceiling <= 0 {
		ceiling = c.opts.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date. A
// missing, malformed or past value gives 0 (use the backoff).
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
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
