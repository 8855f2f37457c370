package backup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rcbs/rcbs/metadata"
	"github.com/rcbs/rcbs/sharding"
)

// prober is a Lister that can tell with one cheap request whether a range
// holds any recording; *metadata.Client is one. Without it every shard is
// listed.
type prober interface {
	Any(ctx context.Context, start, end time.Time) (bool, error)
}

// walker walks a plan's shards oldest first. A first run with maxAge=0
// has some 20,000 one-day shards, nearly all empty; listing each would
// cost as many requests. So after a shard that listed nothing, the walker
// probes the next 2 shards with one request, then 4, 8… while they stay
// empty (an empty decade costs about a dozen requests), and cuts a span
// that holds something in halves down to single shards, which it lists.
// Where every shard has recordings (the cron job's window) it lists each
// shard and never probes: no request more than before. Used by the shard
// loop only (one goroutine).
type walker struct {
	e      *engine
	shards []sharding.Window
	state  *stateMark // nil: the run does not own the state file
	probe  prober     // nil: list every shard
	step   int        // shards the next look covers: 1 lists, more probe
	held   bool       // a shard failed: the state file moves no further
	errs   []error
}

// walk visits every shard and returns the errors of shards that failed,
// or a single error that stopped the walk (see stopsRun).
func (w *walker) walk(ctx context.Context) error {
	w.step = 1
	for i := 0; i < len(w.shards); {
		n := min(w.step, len(w.shards)-i)
		empty, err := w.visit(ctx, i, n)
		if err != nil {
			return err
		}
		if empty && w.probe != nil {
			w.step = min(2*w.step, len(w.shards))
		} else {
			w.step = 1
		}
		i += n
	}
	return nil
}

// visit walks shards [i, i+n) knowing nothing of them; empty reports that
// they held no recording at all.
func (w *walker) visit(ctx context.Context, i, n int) (empty bool, err error) {
	if n == 1 || w.probe == nil {
		return w.listEach(ctx, i, n)
	}
	span := w.span(i, n)
	found, err := w.probe.Any(ctx, span.Start, span.End)
	switch {
	case ctx.Err() != nil:
		return false, w.e.stopped(ctx)
	case err != nil && stopsRun(err):
		return false, err
	case err != nil:
		// A server may refuse wide ranges: list shard by shard from here on.
		w.e.log.Warn("recordings API: probing a wide range failed; listing shard by shard", "range", span.String(), "err", err)
		w.probe = nil
		return w.listEach(ctx, i, n)
	case !found:
		w.e.prog.Shard(i+n-1, len(w.shards))
		w.complete(span)
		return true, nil
	}
	return false, w.descend(ctx, i, n)
}

// descend walks shards [i, i+n), known to hold a recording: it looks at
// the first half; when that is empty, the second half must hold it.
func (w *walker) descend(ctx context.Context, i, n int) error {
	if n == 1 {
		_, err := w.listEach(ctx, i, 1)
		return err
	}
	h := n / 2
	empty, err := w.visit(ctx, i, h)
	if err != nil {
		return err
	}
	if empty {
		return w.descend(ctx, i+h, n-h)
	}
	_, err = w.visit(ctx, i+h, n-h)
	return err
}

// listEach lists shards [i, i+n) one by one; empty reports that none of
// them listed a recording (of any instance) nor failed.
func (w *walker) listEach(ctx context.Context, i, n int) (empty bool, err error) {
	empty = true
	for k := i; k < i+n; k++ {
		e, err := w.list(ctx, k)
		if err != nil {
			return false, err
		}
		empty = empty && e
	}
	return empty, nil
}

// list lists and downloads one shard, then moves the state past it unless
// a shard failed. A listing error is collected and holds the state; one
// that no later shard could escape stops the walk.
func (w *walker) list(ctx context.Context, i int) (empty bool, err error) {
	sh := w.shards[i]
	w.e.prog.Shard(i, len(w.shards))
	before := w.e.listed()
	failed, err := w.e.shard(ctx, w.e.log.With("shard", shardName(sh)), sh)
	if ctx.Err() != nil {
		return false, w.e.stopped(ctx)
	}
	if err != nil {
		if stopsRun(err) {
			return false, err
		}
		w.errs = append(w.errs, fmt.Errorf("list %s: %w", shardName(sh), err))
		w.held = true
	}
	w.held = w.held || failed
	w.complete(sh)
	return err == nil && w.e.listed() == before, nil
}

// complete moves the state file past sh, whose recordings are all on disk,
// unless an earlier shard failed.
func (w *walker) complete(sh sharding.Window) {
	if w.held || w.state == nil {
		return
	}
	if err := w.e.syncShard(); err != nil {
		w.errs = append(w.errs, err)
		w.held = true
		return
	}
	if err := w.state.advance(sh); err != nil {
		w.errs = append(w.errs, fmt.Errorf("record the state: %w", err))
		w.held = true
	}
}

// span is shards [i, i+n) as one window.
func (w *walker) span(i, n int) sharding.Window {
	return sharding.Window{Start: w.shards[i].Start, End: w.shards[i+n-1].End}
}

// stopsRun reports a listing error that every later shard would meet as
// well, so the run stops at once (spec §9 "stopped:"): credentials
// refused, or an API that cannot be reached at all (no connection, no
// such host) after every retry.
func stopsRun(err error) bool {
	var (
		op  *net.OpError
		dns *net.DNSError
	)
	return errors.As(err, new(*metadata.AuthError)) || errors.As(err, &dns) ||
		errors.As(err, &op) && op.Op == "dial"
}
