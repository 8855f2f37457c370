package cloudsim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault kinds.
const (
	Fault500      = "500"      // 500 Internal Server Error
	Fault503      = "503"      // 503 SlowDown
	Fault429      = "429"      // 429 Too Many Requests with Retry-After
	FaultReset    = "reset"    // connection reset (RST) after part of the body
	FaultTruncate = "truncate" // body shorter than its Content-Length, then EOF
)

// allFaults is the default set of kinds; read only.
var allFaults = []string{Fault500, Fault503, Fault429, FaultReset, FaultTruncate}

// ParseFaults reads a -faults spec such as
//
//	api=0.1,s3=0.05,kinds=500+503+reset,latency=20ms,never=KEY1+KEY2,retry-after=0.2s
//
// api and s3 are the failing shares of each server's requests; kinds,
// latency, never and retry-after apply to both. An empty spec means no faults.
func ParseFaults(spec string) (api, s3 Faults, err error) {
	var shared Faults
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return Faults{}, Faults{}, fmt.Errorf("faults: %q is not key=value", item)
		}
		if err := setFault(&api, &s3, &shared, strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return Faults{}, Faults{}, fmt.Errorf("faults: %s: %w", k, err)
		}
	}
	for _, f := range []*Faults{&api, &s3} {
		f.Kinds, f.Latency, f.Never, f.RetryAfter = shared.Kinds, shared.Latency, shared.Never, shared.RetryAfter
	}
	return api, s3, nil
}

func setFault(api, s3, shared *Faults, k, v string) error {
	switch k {
	case "api", "s3":
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || rate < 0 || rate > 1 {
			return fmt.Errorf("want a share in 0..1, got %q", v)
		}
		if k == "api" {
			api.Rate = rate
		} else {
			s3.Rate = rate
		}
	case "kinds":
		for _, kind := range strings.Split(v, "+") {
			if !slices.Contains(allFaults, kind) {
				return fmt.Errorf("unknown kind %q (want %s)", kind, strings.Join(allFaults, ", "))
			}
			shared.Kinds = append(shared.Kinds, kind)
		}
	case "latency", "retry-after":
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 20ms, got %q", v)
		}
		if k == "latency" {
			shared.Latency = d
		} else {
			shared.RetryAfter = d
		}
	case "never":
		shared.Never = append(shared.Never, strings.Split(v, "+")...)
	default:
		return fmt.Errorf("unknown key (want api, s3, kinds, latency, never, retry-after)")
	}
	return nil
}

// faulter decides which requests fail. The decision for the n-th request of
// a name (S3 object path, API path and query) is a hash of (seed, name, n),
// so a given object's attempts fail the same way in every run, whatever the
// order in which concurrent workers ask. Safe for concurrent use.
type faulter struct {
	f    Faults
	seed uint64

	mu       sync.Mutex
	attempts map[string]uint64
	injected map[string]int64
}

func newFaulter(f Faults, seed int64) *faulter {
	if len(f.Kinds) == 0 {
		f.Kinds = slices.Clone(allFaults)
	}
	return &faulter{f: f, seed: uint64(seed), attempts: map[string]uint64{}, injected: map[string]int64{}}
}

// decide returns the fault kind for this request of name, or "" for none.
// never reports whether the request names one of the Never keys.
func (fl *faulter) decide(name string, never bool) string {
	if fl.f.Rate == 0 && !never {
		return "" // the common case costs no lock and no memory
	}
	fl.mu.Lock()
	n := fl.attempts[name]
	fl.attempts[name] = n + 1
	fl.mu.Unlock()
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rand.New(rand.NewPCG(h.Sum64()^fl.seed, n))
	if !never && r.Float64() >= fl.f.Rate {
		return ""
	}
	kind := fl.f.Kinds[r.IntN(len(fl.f.Kinds))]
	fl.mu.Lock()
	fl.injected[kind]++
	fl.mu.Unlock()
	return kind
}

func (fl *faulter) isNever(names ...string) bool {
	for _, n := range names {
		if n != "" && slices.Contains(fl.f.Never, n) {
			return true
		}
	}
	return false
}

// counts returns a copy of the injected faults by kind.
func (fl *faulter) counts() map[string]int64 {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	out := make(map[string]int64, len(fl.injected))
	for k, v := range fl.injected {
		out[k] = v
	}
	return out
}

// retryAfter is the Retry-After header value: whole or fractional seconds
// ("1", "0.05"). Fractions are not standard HTTP but let tests run fast;
// the default is 1 second.
func (fl *faulter) retryAfter() string {
	d := fl.f.RetryAfter
	if d == 0 {
		d = time.Second
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// sleep waits the configured latency, or less if the request is cancelled.
func (fl *faulter) sleep(ctx context.Context) {
	if fl.f.Latency <= 0 {
		return
	}
	t := time.NewTimer(fl.f.Latency)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// errorResponse writes a status answer for the 500/503/429 kinds; body formats
// it for the server (JSON envelope or S3 XML).
func (fl *faulter) errorResponse(w http.ResponseWriter, r *http.Request, kind string, body func(status int) (contentType string, b []byte)) {
	status := map[string]int{Fault500: 500, Fault503: 503, Fault429: 429}[kind]
	if kind == Fault429 {
		w.Header().Set("Retry-After", fl.retryAfter())
	}
	ct, b := body(status)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// serveCut runs next but breaks the connection half-way through the body:
// with an RST (reset) or a plain close after a Content-Length that promises
// more (truncate).
func serveCut(w http.ResponseWriter, r *http.Request, next http.Handler, reset bool) {
	cw := &cutWriter{w: w, rc: http.NewResponseController(w), reset: reset, head: r.Method == http.MethodHead}
	next.ServeHTTP(cw, r)
	cw.cut()
}

// cutWriter lets through half of the body its handler writes, then hijacks
// the connection and closes it. A response with no body is cut before its
// headers, so that the client never sees a complete answer.
type cutWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	reset bool
	head  bool

	wroteHeader bool
	limit, sent int64
	done        bool
}

var errCut = errors.New("cloudsim: connection cut by fault injection")

func (c *cutWriter) Header() http.Header { return c.w.Header() }

func (c *cutWriter) WriteHeader(status int) {
	if c.wroteHeader || c.done {
		return
	}
	n, err := strconv.ParseInt(c.w.Header().Get("Content-Length"), 10, 64)
	if c.head || err != nil || n <= 0 {
		c.cut() // nothing to break half-way: no answer at all
		return
	}
	c.wroteHeader = true
	c.limit = n / 2
	c.w.WriteHeader(status)
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if !c.wroteHeader && !c.done {
		c.WriteHeader(http.StatusOK)
	}
	if c.done {
		return 0, errCut
	}
	room := c.limit - c.sent
	if int64(len(p)) < room {
		n, err := c.w.Write(p)
		c.sent += int64(n)
		return n, err
	}
	n, _ := c.w.Write(p[:room])
	c.sent += int64(n)
	c.cut()
	return n, errCut
}

func (c *cutWriter) cut() {
	if c.done {
		return
	}
	c.done = true
	if c.wroteHeader {
		c.rc.Flush()
	}
	conn, buf, err := c.rc.Hijack()
	if err != nil {
		return
	}
	buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok && c.reset {
		tc.SetLinger(0) // close sends RST instead of FIN
	}
	conn.Close()
}
