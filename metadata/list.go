package metadata

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// Range is a time range [Start, End).
type Range struct{ Start, End time.Time }

func (r Range) String() string {
	const layout = "2006-01-02T15:04:05.000Z"
	return r.Start.UTC().Format(layout) + ".." + r.End.UTC().Format(layout)
}

// OverflowError reports one-second ranges that a server capping every query
// at one page (and ignoring offset) still filled: the recordings beyond its
// cap cannot be listed, so some may be missing. List returns it only after
// listing everything else, so the caller backs up all it can yet knows the
// shard is incomplete (and must not advance its state past it).
type OverflowError struct {
	Ranges []Range
}

func (e *OverflowError) Error() string {
	parts := make([]string, 0, min(len(e.Ranges), 5))
	for i, r := range e.Ranges {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Ranges)-5))
			break
		}
		parts = append(parts, r.String())
	}
	return fmt.Sprintf("recordings API returns only its first page and ignores offset even for one second; recordings may be missing in %s",
		strings.Join(parts, ", "))
}

// List calls fn for every recording with start <= startTime < end, each ID
// once, paging lazily (fn runs before the next page is asked for). It returns
// fn's first error, or the listing's.
//
// A recording that does not decode or validate is delivered all the same
// (Validate tells why) so the caller can name it and count it as failed. The
// server's window is trusted: List does not drop what it returns. Only one
// page is held at a time; the IDs already delivered are kept, one string each,
// to skip duplicates across pages and range splits. fn is called from List's
// goroutine only.
func (c *Client) List(ctx context.Context, start, end time.Time, fn func(Recording) error) error {
	l := &lister{c: c, fn: fn, seen: make(map[string]struct{})}
	if err := l.listRange(ctx, start.UnixMilli(), end.UnixMilli()); err != nil {
		return err
	}
	if len(l.overflow) > 0 {
		return &OverflowError{Ranges: l.overflow}
	}
	return nil
}

// lister is the state of one List call.
type lister struct {
	c        *Client
	fn       func(Recording) error
	seen     map[string]struct{}
	overflow []Range
	split    bool // a split was logged at info already
}

// listRange lists [s, e) (epoch ms) page by page. A server that ignores
// offset (a full page brings back only IDs of the page before) or whose
// paging.next loops back after a full page gets the range split in two.
func (l *lister) listRange(ctx context.Context, s, e int64) error {
	if s >= e {
		return nil
	}
	u := l.c.rangeURL(s, e, 0)
	visited := make(map[string]bool)
	var prev map[string]struct{}
	offset := 0
	for n := 0; ; n++ {
		if n >= l.c.opts.MaxPages {
			return fmt.Errorf("list recordings %s: more than %d pages; giving up", rangeOf(s, e), l.c.opts.MaxPages)
		}
		visited[u] = true
		p, err := l.c.fetchPage(ctx, u)
		if err != nil {
			return fmt.Errorf("list recordings %s: %w", rangeOf(s, e), err)
		}
		full := len(p.recordings) > 0 && len(p.recordings) >= l.c.opts.PageLimit
		if n > 0 && full && onlyIn(p, prev) {
			return l.splitRange(ctx, s, e, "the server ignores offset")
		}
		if err := l.deliver(ctx, p); err != nil {
			return err
		}
		prev = pageKeys(p)
		next, err := l.next(p, u, s, e, &offset)
		if err != nil || next == "" {
			return err
		}
		if visited[next] {
			if !full {
				return nil // nothing new can come from a page read already
			}
			return l.splitRange(ctx, s, e, "paging.next loops back")
		}
		u = next
	}
}

// next is the URL of the page after p, "" when p was the last: paging.next
// when the server gives one, else offset+limit while pages come back full.
// A full page without next is probed too: a server capping its answers
// looks just like one that had exactly a page left, and the probe (one
// request, only when the count is a multiple of the limit) tells them apart.
// offset counts the recordings received in this range, so a server that
// ignores limit is still paged correctly.
func (l *lister) next(p *page, u string, s, e int64, offset *int) (string, error) {
	*offset += len(p.recordings)
	if p.next != "" {
		next, err := l.c.resolve("paging.next", p.next, u)
		if err != nil {
			return "", fmt.Errorf("list recordings %s: %w", rangeOf(s, e), err)
		}
		return next, nil
	}
	if len(p.recordings) == 0 || len(p.recordings) < l.c.opts.PageLimit {
		return "", nil
	}
	return l.c.rangeURL(s, e, *offset), nil
}

// splitRange lists both halves of [s, e). A range of one second or less is
// not split further (spec §7): what its first page gave was delivered, and
// the range is reported in the final OverflowError.
func (l *lister) splitRange(ctx context.Context, s, e int64, why string) error {
	if e-s <= 1000 {
		l.overflow = append(l.overflow, rangeOf(s, e))
		l.c.log.Warn("recordings API: a one-second range overflows its only page; recordings may be missing",
			"range", rangeOf(s, e).String(), "reason", why)
		return nil
	}
	if !l.split {
		l.split = true
		l.c.log.Info("recordings API: listing by splitting the time range", "reason", why)
	}
	m := s + (e-s)/2
	l.c.log.Debug("recordings API: splitting", "range", rangeOf(s, e).String(), "reason", why)
	if err := l.listRange(ctx, s, m); err != nil {
		return err
	}
	return l.listRange(ctx, m, e)
}

// deliver hands the page's new recordings to fn, in the server's order.
func (l *lister) deliver(ctx context.Context, p *page) error {
	for _, r := range p.recordings {
		k := dedupKey(r)
		if _, dup := l.seen[k]; dup {
			continue
		}
		l.seen[k] = struct{}{}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := l.fn(r); err != nil {
			return err
		}
	}
	return nil
}

// dedupKey is the recording's ID; a recording without one is told apart by
// its bytes, so that every such broken entry is still reported.
func dedupKey(r Recording) string {
	if r.ID != "" {
		return r.ID
	}
	sum := sha256.Sum256(r.Raw)
	return "\x00" + string(sum[:])
}

func pageKeys(p *page) map[string]struct{} {
	keys := make(map[string]struct{}, len(p.recordings))
	for _, r := range p.recordings {
		keys[dedupKey(r)] = struct{}{}
	}
	return keys
}

// onlyIn reports whether every recording of p was on the previous page.
func onlyIn(p *page, prev map[string]struct{}) bool {
	for _, r := range p.recordings {
		if _, ok := prev[dedupKey(r)]; !ok {
			return false
		}
	}
	return true
}

// fetchPage gets and decodes one page, retrying; Timeout bounds the whole
// page, body included (fn does not run inside it).
func (c *Client) fetchPage(ctx context.Context, u string) (*page, error) {
	var p *page
	err := c.withRetry(ctx, "GET "+pathOf(u), func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
		resp, err := c.get(ctx, u)
		if err != nil {
			return err
		}
		defer drainClose(resp.Body)
		if err := c.checkStatus(resp); err != nil {
			return err
		}
		p, err = decodePage(resp.Body, c.opts.MaxPageBytes)
		return retryUnlessStatus(err)
	})
	return p, err
}

func (c *Client) rangeURL(s, e int64, offset int) string {
	sep := "?"
	if strings.Contains(c.opts.RecordingsURI, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%s%sstartTime=%d&endTime=%d&fields=*&limit=%d&offset=%d",
		c.prefix, c.opts.RecordingsURI, sep, s, e, c.opts.PageLimit, offset)
}

func rangeOf(s, e int64) Range {
	return Range{Start: time.UnixMilli(s).UTC(), End: time.UnixMilli(e).UTC()}
}
