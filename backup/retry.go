package backup

import (
	"context"
	"errors"
	"net/http"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rcbs/rcbs/internal/retry"
	"github.com/rcbs/rcbs/metadata"
)

// errPermanent marks an error that no retry can fix (e.g. no bucket).
var errPermanent = errors.New("permanent")

// retryable classifies a failed attempt by type and status, never by the
// error's text. The caller has checked that the run's own context is live,
// so a context error here is a stalled body (requestTimeout): retried.
func retryable(err error) bool {
	var (
		auth    *metadata.AuthError
		refused *metadata.RefusedError // asking again gives the same answer
	)
	switch {
	case errors.Is(err, errInvalid), errors.Is(err, errPermanent), permanentLocal(err), errors.As(err, &auth), errors.As(err, &refused):
		return false
	}
	var st interface{ HTTPStatusCode() int } // the AWS SDK's response errors
	if errors.As(err, &st) {
		return retryableStatus(st.HTTPStatusCode())
	}
	var he *metadata.HTTPError // the API fallback's
	if errors.As(err, &he) {
		return retryableStatus(he.Status)
	}
	return true // network errors, short or long bodies
}

func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests,
		code == http.StatusPreconditionFailed: // the object changed mid-download: start over
		return true
	case code >= 500:
		return true
	}
	return code < 400
}

// throttling reports a server asking to slow down: 503 (S3's SlowDown)
// or 429, from S3 or the API fallback. The flow of recordings in flight
// halves on it.
func throttling(err error) bool {
	var st interface{ HTTPStatusCode() int }
	if errors.As(err, &st) {
		return st.HTTPStatusCode() == http.StatusServiceUnavailable || st.HTTPStatusCode() == http.StatusTooManyRequests
	}
	var he *metadata.HTTPError
	if errors.As(err, &he) {
		return he.Status == http.StatusServiceUnavailable || he.Status == http.StatusTooManyRequests
	}
	return false
}

// retryDelay is the wait before retry number attempt of a media file:
// rcbs's one retry policy (internal/retry: full jitter, Retry-After up to
// MaxBackoff) with the engine's timings. The engine is the only layer that
// retries media — the API client makes one attempt per call — so a
// Retry-After reaches it from the API (a *retry.Error) or from S3 (the
// response's header).
func (e *engine) retryDelay(attempt int, err error) time.Duration {
	p := retry.Policy{Attempts: max(e.cfg.Retries, 1), Base: e.tun.BaseBackoff, Max: e.tun.MaxBackoff}
	return p.Delay(attempt, retryAfter(err, time.Now()))
}

// retryAfter is the server's Retry-After carried by err, or 0.
func retryAfter(err error, now time.Time) time.Duration {
	if d := retry.AfterOf(err); d > 0 {
		return d
	}
	var re interface{ HTTPResponse() *smithyhttp.Response }
	if errors.As(err, &re) {
		if resp := re.HTTPResponse(); resp != nil && resp.Response != nil {
			return retry.ParseAfter(resp.Header.Get("Retry-After"), now)
		}
	}
	return 0
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
