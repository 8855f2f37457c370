package metadata

import (
	"context"
	"errors"
	"fmt"

	"github.com/rcbs/rcbs/internal/retry"
)

// retryable marks an attempt's error as worth another try (429, 5xx, a
// transport error, a broken body); After is the server's Retry-After. It is
// retry.Error, so that the backup engine, which retries media, reads the
// same mark and the same Retry-After.
type retryable = retry.Error

// retryUnlessStatus makes a body error retryable (a cut connection, a
// truncated page) unless the server answered deliberately (a non-zero
// statusCode) or the page is over the cap (it will be again).
func retryUnlessStatus(err error) error {
	var se *StatusError
	if err == nil || errors.As(err, &se) || errors.Is(err, errPageTooLarge) {
		return err
	}
	return &retryable{Err: err}
}

// policy is the client's retry policy (Attempts, BaseBackoff, MaxBackoff).
func (c *Client) policy() retry.Policy {
	return retry.Policy{Attempts: c.opts.Attempts, Base: c.opts.BaseBackoff, Max: c.opts.MaxBackoff}
}

// withRetry runs try up to Attempts times while it fails with a retryable
// error, sleeping as retry.Policy says (full jitter, or the server's
// Retry-After capped at MaxBackoff) in between. The caller's cancellation
// ends it at once with ctx's error. Every request of the Client goes
// through here (Media with a single attempt: the engine retries media), so
// each attempt's error has the server's text cleaned here, once, before it
// is logged or returned.
func (c *Client) withRetry(ctx context.Context, what string, try func(context.Context) error) error {
	return c.attempts(ctx, c.policy(), what, try)
}

func (c *Client) attempts(ctx context.Context, p retry.Policy, what string, try func(context.Context) error) error {
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
		if p.Last(attempt) {
			if attempt == 1 { // a single attempt: the caller retries and needs the mark
				return fmt.Errorf("%s: %w", what, last)
			}
			return fmt.Errorf("%s: giving up after %d attempts: %w", what, attempt, last.Err)
		}
		delay := p.Delay(attempt, last.After)
		c.log.Debug("recordings API: retrying", "request", what, "attempt", attempt, "delay", delay, "error", last.Err)
		if err := retry.Sleep(ctx, delay); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
}
