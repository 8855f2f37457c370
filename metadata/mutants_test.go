package metadata

import (
	"strings"
	"testing"
	"time"
)

// Control characters above the Basic Multilingual Plane take the long
// escape, U+FFFF and below the short one (found by scripts/mutate:
// `r > 0xFFFF` → `r >= 0xFFFF` lived).
func TestPrintableEscapeWidth(t *testing.T) {
	for in, want := range map[string]string{"\uFFFF": `\uFFFF`, "\U000E0001": `\U000E0001`, "a\u0007b": `a\u0007b`} {
		if got := printable(in, 100); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// An overflow names at most five ranges and counts the rest.
func TestOverflowErrorNamesFive(t *testing.T) {
	at := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	var e OverflowError
	for i := range 7 {
		s := at.Add(time.Duration(i) * time.Hour)
		e.Ranges = append(e.Ranges, Range{Start: s, End: s.Add(time.Second)})
	}
	msg := e.Error()
	if n := strings.Count(msg, ".."); n != 5 || !strings.HasSuffix(msg, ", and 2 more") || !strings.Contains(msg, e.Ranges[4].String()) {
		t.Errorf("%d ranges named in %q; want the first 5 and \"and 2 more\"", n, msg)
	}
	e.Ranges = e.Ranges[:5]
	if msg := e.Error(); strings.Count(msg, "..") != 5 || strings.Contains(msg, "more") {
		t.Errorf("five ranges: %q", msg)
	}
}

// A relative reference that is not a path from the root (e.g. "?offset=100")
// is resolved against the URL it came from; a base that is no URL refuses it.
func TestResolveRelativeReference(t *testing.T) {
	c := testClient(t, "http://127.0.0.1:9/api/v2")
	base := "http://127.0.0.1:9/api/v2/recordings?startTime=1"
	for ref, want := range map[string]string{
		"?offset=100":           "http://127.0.0.1:9/api/v2/recordings?offset=100",
		"recordings?offset=200": "http://127.0.0.1:9/api/v2/recordings?offset=200",
		"../v3/recordings":      "http://127.0.0.1:9/api/v3/recordings",
	} {
		if got, err := c.resolve("paging.next", ref, base); err != nil || got != want {
			t.Errorf("resolve(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	if got, err := c.resolve("paging.next", "?offset=1", "http://[::1"); err == nil {
		t.Errorf("against a base that is no URL: %q, want refused", got)
	}
}
