package metadata

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Range is a time range [Start, End).
type Range struct{ Start, End time.Time }

// rangeLayout is how times appear in messages: UTC, milliseconds.
const rangeLayout = "2006-01-02T15:04:05.000Z"

func (r Range) String() string {
	return r.Start.UTC().Format(rangeLayout) + ".." + r.End.UTC().Format(rangeLayout)
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
// server's window is trusted: List does not drop what it returns. Only when
// it must split a range (the server caps its answers) does it check that the
// server honours the range, and stops with ErrRangeIgnored when it does not. Only one
// page is held at a time; the IDs already delivered are kept, one string each,
// to skip duplicates across pages and range splits. fn is called from List's
// goroutine only.
func (c *Client) List(ctx context.Context, start, end time.Time, fn func(Recording) error) error {
	l := &lister{c: c, fn: fn, seen: make(map[string]struct{})}
	if _, err := l.listRange(ctx, span{s: start.UnixMilli(), e: end.UnixMilli()}); err != nil {
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

// ErrRangeIgnored is wrapped by List's error when the server answers a
// split range with recordings that cannot lie in it: it ignores
// startTime/endTime, so splitting cannot list what its cap hides, and going
// on would cost hundreds of thousands of requests per shard.
var ErrRangeIgnored = errors.New("the recordings API ignores the time range")

// maxEmptyPages is how many consecutive empty pages that still carry
// paging.next are followed before the range counts as listed. A server
// that puts next on its last, empty page (and on every empty page after
// it) would otherwise be asked MaxPages times; a few are still followed in
// case a server filters its pages after paging and leaves gaps.
const maxEmptyPages = 3

// span is a time range [s, e) (epoch ms) to list. split marks a half of a
// range that was split; sibling holds the first page of the half before it
// (nil for a first half), to tell a server that ignores the range.
type span struct {
	s, e    int64
	split   bool
	sibling map[string]struct{}
}

// listRange lists r page by page and returns the keys of its first page. A
// server that ignores offset (a full page brings back only IDs of the page
// before) or whose paging.next loops back after a full page gets the range
// split in two.
func (l *lister) listRange(ctx context.Context, r span) (first map[string]struct{}, err error) {
	if r.s >= r.e {
		return nil, nil
	}
	u := l.c.rangeURL(r.s, r.e, 0)
	visited := make(map[string]bool)
	var prev map[string]struct{}
	offset, empty := 0, 0
	var ahead *pageAhead
	defer func() { ahead.drop() }()
	for n := 0; ; n++ {
		if n >= l.c.opts.MaxPages {
			return first, fmt.Errorf("list recordings %s: more than %d pages; giving up", rangeOf(r.s, r.e), l.c.opts.MaxPages)
		}
		visited[u] = true
		p, err := ahead.take(ctx, l.c, u)
		ahead = nil
		if err != nil {
			return first, fmt.Errorf("list recordings %s: %w", rangeOf(r.s, r.e), err)
		}
		full := len(p.recordings) > 0 && len(p.recordings) >= l.c.opts.PageLimit
		if n == 0 {
			if err := l.checkHonoured(p, r, full); err != nil {
				return nil, err
			}
			first = pageKeys(p)
		}
		if n > 0 && full && onlyIn(p, prev) {
			return first, l.splitRange(ctx, r.s, r.e, "the server ignores offset")
		}
		// The next page is asked for before this one's recordings are
		// handed out: its round trip overlaps their downloads.
		empty = emptyRun(p, empty)
		emptyStop := empty >= maxEmptyPages && p.next != ""
		next, nextErr := "", error(nil)
		if !emptyStop {
			next, nextErr = l.next(p, u, r.s, r.e, &offset)
		}
		if nextErr == nil && next != "" && !visited[next] && n+1 < l.c.opts.MaxPages {
			ahead = l.c.fetchAhead(ctx, next)
		}
		if err := l.deliver(ctx, p); err != nil {
			return first, err
		}
		prev = pageKeys(p)
		if emptyStop {
			l.c.log.Warn("recordings API: empty pages that still name a next page; taking the range as listed",
				"range", rangeOf(r.s, r.e).String(), "pages", empty)
			return first, nil
		}
		if nextErr != nil || next == "" {
			return first, nextErr
		}
		if visited[next] {
			if !full {
				return first, nil // nothing new can come from a page read already
			}
			return first, l.splitRange(ctx, r.s, r.e, "paging.next loops back")
		}
		u = next
	}
}

// pageAhead is a page requested before the page before it was delivered.
type pageAhead struct {
	url    string
	done   chan struct{}
	p      *page
	err    error
	cancel context.CancelFunc
}

// fetchAhead starts fetching the page at u.
func (c *Client) fetchAhead(ctx context.Context, u string) *pageAhead {
	ctx, cancel := context.WithCancel(ctx)
	a := &pageAhead{url: u, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(a.done)
		a.p, a.err = c.fetchPage(ctx, u)
	}()
	return a
}

// take is the page at u: the one fetched ahead when it is that page, else
// fetched now.
func (a *pageAhead) take(ctx context.Context, c *Client, u string) (*page, error) {
	if a == nil || a.url != u {
		a.drop()
		return c.fetchPage(ctx, u)
	}
	<-a.done
	a.cancel()
	return a.p, a.err
}

// drop abandons a page fetched ahead and waits for its request to end.
func (a *pageAhead) drop() {
	if a == nil {
		return
	}
	a.cancel()
	<-a.done
}

// emptyRun counts consecutive empty pages: run+1 for an empty page, else 0.
func emptyRun(p *page, run int) int {
	if len(p.recordings) == 0 {
		return run + 1
	}
	return 0
}

// checkHonoured tells a server that ignores startTime/endTime from a legacy
// one that caps each answer at its first page (and ignores offset) but
// honours the range, which splitting lists in full. It looks at the full
// first page of a half of a split range only. The server ignores the range
// when the page repeats the first page of the other half (a recording
// cannot lie in two disjoint ranges), or when it holds a recording lying
// wholly outside the range: starting after its end, or ending before its
// start. A recording that started before the range but ends in it, or that
// starts exactly at its end, is tolerated (a server may select by overlap,
// or with an inclusive end); one that did not decode is not looked at.
// "Brings no new IDs" alone would not do: a capped server that honours the
// range gives the first half the very page its parent had.
func (l *lister) checkHonoured(p *page, r span, full bool) error {
	if !r.split || !full {
		return nil
	}
	if r.sibling != nil && onlyIn(p, r.sibling) {
		return fmt.Errorf("list recordings %s: %w: it answered the same recordings as for the range before it",
			rangeOf(r.s, r.e), ErrRangeIgnored)
	}
	for _, rec := range p.recordings {
		if outside(rec, r.s, r.e) {
			return fmt.Errorf("list recordings %s: %w: it answered recording %s, which starts at %s",
				rangeOf(r.s, r.e), ErrRangeIgnored, rec.ID, rec.StartTime.UTC().Format(rangeLayout))
		}
	}
	return nil
}

// outside reports whether a recording lies wholly outside [s, e] (epoch
// ms). A recording without a valid id or start time is never outside.
func outside(rec Recording, s, e int64) bool {
	if rec.Validate() != nil || rec.StartTime.IsZero() {
		return false
	}
	start, end := rec.StartTime.UnixMilli(), rec.StartTime.UnixMilli()
	if !rec.StopTime.IsZero() {
		end = max(end, rec.StopTime.UnixMilli())
	}
	return start > e || end < s
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
// the range is reported in the final OverflowError. The second half is
// given the first half's first page, to tell a server that ignores the range.
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
	first, err := l.listRange(ctx, span{s: s, e: m, split: true})
	if err != nil {
		return err
	}
	_, err = l.listRange(ctx, span{s: m, e: e, split: true, sibling: first})
	return err
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

// Any reports whether [start, end) holds at least one recording, with one
// request for a page of one (limit=1): a wide range with nothing in it
// costs one request instead of a listing per shard. A server that ignores
// limit answers a full page, which is just as good an answer. An empty
// page that still names a next page is taken as "maybe": true, so the
// caller lists the range and nothing is skipped on a guess.
func (c *Client) Any(ctx context.Context, start, end time.Time) (bool, error) {
	s, e := start.UnixMilli(), end.UnixMilli()
	if s >= e {
		return false, nil
	}
	p, err := c.fetchPage(ctx, c.pageURL(s, e, 1, 0))
	if err != nil {
		return false, fmt.Errorf("probe recordings %s: %w", rangeOf(s, e), err)
	}
	return len(p.recordings) > 0 || p.next != "", nil
}

func (c *Client) rangeURL(s, e int64, offset int) string {
	return c.pageURL(s, e, c.opts.PageLimit, offset)
}

func (c *Client) pageURL(s, e int64, limit, offset int) string {
	sep := "?"
	if strings.Contains(c.opts.RecordingsURI, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%s%sstartTime=%d&endTime=%d&fields=*&limit=%d&offset=%d",
		c.prefix, c.opts.RecordingsURI, sep, s, e, limit, offset)
}

func rangeOf(s, e int64) Range {
	return Range{Start: time.UnixMilli(s).UTC(), End: time.UnixMilli(e).UTC()}
}
