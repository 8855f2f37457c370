//go:build unix

// Package e2e runs the user journeys of spec §1–§9 against the built rcbs
// binary and the simulated recording cloud on 127.0.0.1 (style item 11):
// each journey checks the exit code, the summary line, stderr and the exact
// tree on disk. TestMain builds ./cmd/rcbs once.
//
// The real-S3 journey needs versitygw (scripts/versitygw install); without
// it that journey is skipped, or fails when CI=true. openssl must be on
// PATH. Unix only: the journeys send signals, flock the lock file and check
// permission bits.
//
//	go test ./e2e/ -count=1
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// rcbsBin is the binary under test. TestMain sets it once before any test
// runs and nothing writes it afterwards: the one piece of package state,
// shared read-only by every journey.
var rcbsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rcbs-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := buildAndRun(m, dir)
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildAndRun builds ./cmd/rcbs into dir once, then runs the tests.
func buildAndRun(m *testing.M, dir string) int {
	bin := filepath.Join(dir, "rcbs")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/rcbs/rcbs/cmd/rcbs")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // the static binary the README ships
	// scripts/test in CI: the journeys again under the race detector, which
	// needs cgo (the one build that is not CGO_ENABLED=0).
	if raceBuild() {
		build = exec.Command("go", "build", "-race", "-o", bin, "github.com/rcbs/rcbs/cmd/rcbs")
		build.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building ./cmd/rcbs:", err)
		return 1
	}
	rcbsBin = bin
	return m.Run()
}

// t0 is the fixed "now" the journeys are built around (a Sunday midnight,
// so day and hour folders are easy to reason about).
func t0() time.Time { return time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC) }

// Credentials of the simulated API. The password is a secret: no output may
// show it.
const (
	gwsUser     = "e2e-operator"
	gwsPassword = "e2e-gws-password-NEVER-SHOWN"
)

// world is one journey's simulated cloud and the environment the binary
// runs in. Not safe for concurrent use.
type world struct {
	cloud *cloudsim.Cloud
	// env is the environment of every rcbs process: PATH, HOME and
	// AWS_CA_BUNDLE inherited, the cloud's credentials added. Journeys may
	// replace it.
	env []string
}

// newWorld starts a cloud with opts (Basic auth on unless opts says
// otherwise) on 127.0.0.1 until the test ends.
func newWorld(t *testing.T, opts cloudsim.Options) *world {
	t.Helper()
	if opts.Username == "" && opts.Password == "" {
		opts.Username, opts.Password = gwsUser, gwsPassword
	}
	cloud, err := cloudsim.New(opts)
	if err != nil {
		t.Fatalf("cloudsim.New: %v", err)
	}
	t.Cleanup(cloud.Close)
	if err := cloud.Start(); err != nil {
		t.Fatalf("cloud.Start: %v", err)
	}
	w := &world{cloud: cloud}
	w.env = append(inherited(), cloud.Env()...)
	return w
}

// inherited is the part of the test's own environment a run may see.
func inherited() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "AWS_CA_BUNDLE", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// secrets are the values no output may contain: the API password and the
// S3 secret key of the environment.
func (w *world) secrets() []string {
	var s []string
	for _, kv := range w.env {
		k, v, _ := strings.Cut(kv, "=")
		if (k == "GWS_PASSWORD" || k == "AWS_SECRET_ACCESS_KEY") && v != "" {
			s = append(s, v)
		}
	}
	return s
}

// writeConfig writes the cloud's config.properties for target into a new
// file, with kv pairs ("key", "value", ...) replacing or adding keys; an
// empty value removes the key. It returns the file's path.
func (w *world) writeConfig(t *testing.T, target string, kv ...string) string {
	t.Helper()
	if len(kv)%2 != 0 {
		t.Fatalf("writeConfig: odd key/value list %q", kv)
	}
	set := map[string]bool{}
	for i := 0; i < len(kv); i += 2 {
		set[kv[i]] = true
	}
	var b strings.Builder
	for line := range strings.Lines(w.cloud.Properties(target)) {
		key, _, _ := strings.Cut(line, "=")
		if !set[strings.TrimSpace(key)] {
			b.WriteString(line)
		}
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] != "" {
			fmt.Fprintf(&b, "%s=%s\n", kv[i], kv[i+1])
		}
	}
	f, err := os.CreateTemp(t.TempDir(), "config-*.properties")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// result is one finished rcbs process.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("rcbs %s: exit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// proc is an rcbs process running in the background.
type proc struct {
	cmd            *exec.Cmd
	args           []string
	stdout, stderr *syncBuffer
	done           chan struct{} // closed when the process has exited
	err            error         // Wait's error, once done is closed
	cancel         context.CancelFunc
}

// runTimeout bounds one rcbs process: a hang fails the journey instead of
// the whole suite.
const runTimeout = 90 * time.Second

// start runs rcbs with args and env in the background.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startWithin(t, runTimeout, env, args...)
}

// startWithin is start with another bound than runTimeout: a test that
// claims rcbs ends in bounded time against a hostile server says how long.
func startWithin(t *testing.T, timeout time.Duration, env []string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, rcbsBin, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	p := &proc{cmd: cmd, args: args, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{}), cancel: cancel}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start rcbs: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

// wait waits for p to exit and returns what it did. Only an exit status is
// a result; anything else (killed by the timeout, not started) fails t.
func (p *proc) wait(t *testing.T) result {
	t.Helper()
	<-p.done
	p.cancel()
	r := result{args: p.args, stdout: p.stdout.String(), stderr: p.stderr.String()}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
	case errors.As(p.err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("rcbs %s: %v\n%s", strings.Join(p.args, " "), p.err, r)
	}
	return r
}

// rcbs runs the binary in w's environment and waits for it, checking that
// no secret appears in its output.
func (w *world) rcbs(t *testing.T, args ...string) result {
	t.Helper()
	r := start(t, w.env, args...).wait(t)
	w.checkNoSecrets(t, r)
	return r
}

func (w *world) checkNoSecrets(t *testing.T, r result) {
	t.Helper()
	for _, s := range w.secrets() {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Errorf("a secret appears in the output of %s", r)
		}
	}
}

// run is one backup run with -now fixed; it must exit 0 with a clean
// stderr, and it returns the summary line.
func (w *world) run(t *testing.T, cfg string, now time.Time, extra ...string) summary {
	t.Helper()
	r := w.rcbs(t, append([]string{"run", "-config", cfg, "-now", now.Format(time.RFC3339Nano)}, extra...)...)
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	checkQuietStderr(t, r)
	return parseSummary(t, r)
}

// checkQuietStderr fails on warnings or errors in a successful run's logs:
// the configurations here are valid, so a warning is a bug.
func checkQuietStderr(t *testing.T, r result) {
	t.Helper()
	for line := range strings.Lines(r.stderr) {
		l := strings.ToLower(line)
		if strings.Contains(l, "warning") || strings.Contains(l, "level=error") || strings.HasPrefix(l, "rcbs: ") {
			t.Errorf("unexpected stderr line %q in %s", strings.TrimSpace(line), r)
		}
	}
}

// summary is the numbers of the §9 summary line.
type summary struct {
	start, end                                        time.Time
	shards, listed, mine, downloaded, skipped, failed int
	bytes                                             int64
}

var summaryRE = regexp.MustCompile(`^done: window (\S+)\.\.(\S+), shards (\d+), recordings listed (\d+), mine (\d+), downloaded (\d+), skipped (\d+), failed (\d+), bytes (\d+), (\S+)$`)

// parseSummary finds the one summary line on stdout.
func parseSummary(t *testing.T, r result) summary {
	t.Helper()
	var found []string
	for line := range strings.Lines(r.stdout) {
		if strings.HasPrefix(line, "done:") {
			found = append(found, strings.TrimRight(line, "\r\n"))
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one summary line on stdout, got %d in %s", len(found), r)
	}
	m := summaryRE.FindStringSubmatch(found[0])
	if m == nil {
		t.Fatalf("summary line %q does not match %s", found[0], summaryRE)
	}
	var s summary
	var err error
	s.start, err = time.Parse(time.RFC3339Nano, m[1])
	if err == nil {
		s.end, err = time.Parse(time.RFC3339Nano, m[2])
	}
	if err == nil {
		_, err = time.ParseDuration(m[10])
	}
	if err != nil {
		t.Fatalf("summary line %q: %v", found[0], err)
	}
	ints := []*int{&s.shards, &s.listed, &s.mine, &s.downloaded, &s.skipped, &s.failed}
	for i, p := range ints {
		*p, _ = strconv.Atoi(m[3+i]) // \d+: cannot fail short of overflow
	}
	s.bytes, _ = strconv.ParseInt(m[9], 10, 64)
	return s
}

// planOut is `rcbs plan -json`.
type planOut struct {
	Start, End string
	Shards     []struct{ Start, End string }
	Instance   int
	Instances  int
	StateFile  string
	Recovered  bool
}

// plan runs `rcbs plan -json` with env.
func (w *world) plan(t *testing.T, cfg string, now time.Time) planOut {
	t.Helper()
	r := w.rcbs(t, "plan", "-config", cfg, "-json", "-now", now.Format(time.RFC3339Nano))
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	var p planOut
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("plan -json: %v in %s", err, r)
	}
	return p
}

// stamp formats a time as plan and the summary do.
func stamp(tm time.Time) string { return tm.UTC().Format("2006-01-02T15:04:05.000Z") }

// checkWindow checks a summary's window.
func checkWindow(t *testing.T, s summary, start, end time.Time) {
	t.Helper()
	if !s.start.Equal(start) || !s.end.Equal(end) {
		t.Errorf("summary window %s..%s, want %s..%s", stamp(s.start), stamp(s.end), stamp(start), stamp(end))
	}
}

// counts is what a summary should say besides its window.
type counts struct{ shards, listed, mine, downloaded, skipped, failed int }

func checkCounts(t *testing.T, s summary, want counts) {
	t.Helper()
	got := counts{s.shards, s.listed, s.mine, s.downloaded, s.skipped, s.failed}
	if got != want {
		t.Errorf("summary counts %+v, want %+v", got, want)
	}
}

// inWindow is the recordings with start ≤ startTime < end.
func inWindow(recs []cloudsim.Recording, start, end time.Time) []cloudsim.Recording {
	var out []cloudsim.Recording
	for _, r := range recs {
		if !r.StartTime.Before(start) && r.StartTime.Before(end) {
			out = append(out, r)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a process's output goroutine and a
// test reading it meanwhile.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fwdProxy is a plain HTTP forward proxy (absolute-form request URLs, no
// CONNECT) that counts the requests it forwards by target host. It can
// also stand for a fault that never clears until the test says so: a
// request whose path contains a blocked string is answered 500 instead of
// being forwarded.
type fwdProxy struct {
	srv      *httptest.Server
	mu       sync.Mutex
	hosts    map[string]int64
	blocked  map[string]bool  // path substrings refused while set
	refusals map[string]int64 // requests refused, by blocked substring
}

func startProxy(t *testing.T) *fwdProxy {
	t.Helper()
	p := &fwdProxy{hosts: map[string]int64{}, blocked: map[string]bool{}, refusals: map[string]int64{}}
	rp := &httputil.ReverseProxy{
		// The request URL is already the absolute target; Host (which SigV4
		// signs) passes unchanged, and no X-Forwarded-* is added.
		Rewrite:   func(*httputil.ProxyRequest) {},
		Transport: &http.Transport{}, // no proxy of its own
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "forward proxy: want an absolute-form request URL", http.StatusBadRequest)
			return
		}
		if p.refuse(r.URL.Path) {
			http.Error(w, "fault injected by the e2e proxy", http.StatusInternalServerError)
			return
		}
		p.mu.Lock()
		p.hosts[r.URL.Host]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// block makes every request whose URL path contains one of subs fail with
// HTTP 500 until unblock: a fault that never clears by itself.
func (p *fwdProxy) block(subs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range subs {
		p.blocked[s] = true
	}
}

// unblock lets every request through again; refused keeps its counts.
func (p *fwdProxy) unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.blocked)
}

// refuse reports whether path is blocked, counting the refusal.
func (p *fwdProxy) refuse(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.blocked {
		if strings.Contains(path, s) {
			p.refusals[s]++
			return true
		}
	}
	return false
}

// refused is how many requests were refused for sub so far.
func (p *fwdProxy) refused(sub string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refusals[sub]
}

// port is the proxy's port, for the *ProxyPort keys.
func (p *fwdProxy) port() string {
	return p.srv.URL[strings.LastIndex(p.srv.URL, ":")+1:]
}

// seen returns the requests forwarded so far, by host:port.
func (p *fwdProxy) seen() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.hosts)
}

// hostOf is a URL's host:port.
func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
