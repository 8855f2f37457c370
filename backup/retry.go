package backup

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

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

// backoff is the delay before attempt+1: base doubled per attempt, capped,
// half of it random so that workers failing together do not retry together.
func backoff(attempt int, base, maxDelay time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half)
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
