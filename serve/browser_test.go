package serve

import (
	"archive/zip"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms/cmstest"
	"github.com/rcbs/rcbs/internal/archivetest"
)

// The page in a real browser (headless Chromium): sign in, search, page,
// play and seek a recording, download its zip; a user with a narrower
// scope sees only their rows; no console error and no CSP violation.
// Screenshots go to $RCBS_ARTIFACTS (else the test's temp folder).
func TestBrowser(t *testing.T) {
	chromium := requireChromium(t)
	base, recs := browserServer(t)
	artifacts := artifactDir(t)
	downloads := t.TempDir()

	ctx, problems := newChromium(t, chromium)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Do(actx, actions...); err != nil {
			shot(ctx, t, artifacts, "failed")
			t.Fatalf("%s: %v", what, err)
		}
	}
	events := true
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &events,
	}); err != nil {
		t.Fatalf("download folder: %v", err)
	}
	run("open the page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	shot(ctx, t, artifacts, "web-signin")
	signIn(t, run, "bob", bobPassword)

	// Newest first, 20 per page: the 25 recordings are 20 + 5.
	run("first page", chromedp.WaitVisible(chromedp.CSS("#results tbody tr")))
	if got := rowIDs(t, ctx); len(got) != 20 || got[0] != recs[len(recs)-1].ID {
		t.Fatalf("first page rows: %v", got)
	}
	shot(ctx, t, artifacts, "web-results")
	run("next page", chromedp.Click(chromedp.CSS("#next")), chromedp.WaitEnabled(chromedp.CSS("#prev")))
	status := eval[string](t, ctx, `document.getElementById("status").textContent`)
	if got := rowIDs(t, ctx); len(got) != 5 || got[4] != recs[0].ID || !strings.Contains(status, "21–25") {
		t.Fatalf("second page rows %v, status %q", got, status)
	}

	// Filter by ANI, then play: currentTime must advance, then seek.
	run("search by ANI", chromedp.SendKeys(chromedp.CSS(`input[name="ani"]`), recs[10].ANI),
		chromedp.Click(chromedp.CSS(`#search button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#results tbody tr[data-id="`+recs[10].ID+`"]`)))
	if got := rowIDs(t, ctx); len(got) != 1 {
		t.Fatalf("ANI %s gives rows %v", recs[10].ANI, got)
	}
	play(t, ctx)
	shot(ctx, t, artifacts, "web-playing")

	// The zip button downloads spec §15's zip.
	run("download zip", chromedp.Click(chromedp.CSS(`#results a[download$=".zip"]`)))
	zipFile := waitDownload(t, downloads, recs[10].ID+".zip")
	checkZip(t, zipFile, recs[10])

	// Phone width: the table becomes cards.
	run("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Sleep(200*time.Millisecond))
	shot(ctx, t, artifacts, "web-phone")
	run("desktop", chromedp.EmulateViewport(1280, 900))

	// Sign out; alice (agent=a1) sees only her three rows.
	run("sign out", chromedp.Click(chromedp.CSS(`form.signout button`)), chromedp.WaitVisible(chromedp.CSS("#signin")))
	// With the keyboard only: the name field has the focus, Tab moves to
	// the password, Enter signs in.
	// The page has just loaded after the sign-out's redirect: give autofocus
	// a moment before reading where the focus is.
	_, _ = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.activeElement && document.activeElement.name === "user"`,
		chromedp.WithPollingTimeout(5*time.Second)))
	focused := eval[string](t, ctx, `document.activeElement ? (document.activeElement.name || document.activeElement.tagName) : ""`)
	if focused != "user" {
		t.Errorf("the sign-in page opens with the focus on %q, want the name field", focused)
	}
	run("sign in as alice with the keyboard", chromedp.KeyEvent("alice\t"+alicePassword+"\r"), chromedp.WaitVisible(chromedp.CSS("#search")))
	run("alice's rows", chromedp.WaitVisible(chromedp.CSS("#results tbody tr")))
	got := rowIDs(t, ctx)
	if len(got) != 3 || got[0] != recs[2].ID || got[2] != recs[0].ID {
		t.Errorf("alice sees %v, want the three recordings of agent a1", got)
	}
	shot(ctx, t, artifacts, "web-scoped")
	if p := problems(); len(p) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(p, "\n"))
	}
}

func signIn(t *testing.T, run func(string, ...chromedp.Action[chromedp.Void]), user, password string) {
	t.Helper()
	run("sign in as "+user,
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), user), chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#search")))
}

func rowIDs(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `[...document.querySelectorAll("#results tbody tr")].map(r => r.dataset.id)`)
}

// eval evaluates a JavaScript expression in the page; opts as chromedp's.
func eval[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// play presses play on the first player (a user gesture, as a click is),
// waits for currentTime to advance, then seeks to 10 s and waits for the
// playback to go on from there (the seek needs HTTP Range).
func play(t *testing.T, ctx context.Context) {
	t.Helper()
	gesture := func(p *runtime.EvaluateParams) {
		chromedp.EvalAwaitPromise(p)
		yes := true
		p.UserGesture = &yes
	}
	const audio = `document.querySelector("#results audio")`
	eval[bool](t, ctx, audio+`.play().then(() => true)`, gesture)
	waitFor(t, ctx, "currentTime to advance", audio+`.currentTime`, func(at float64) bool { return at > 0.5 })
	eval[bool](t, ctx, `(() => { `+audio+`.currentTime = 10; return true })()`)
	waitFor(t, ctx, "playback after the seek", audio+`.currentTime`, func(at float64) bool { return at > 10.3 })
	state := eval[struct {
		Duration float64 `json:"duration"`
		Error    *string `json:"error"`
	}](t, ctx, `(() => { const a = `+audio+`; return {duration: a.duration, error: a.error && a.error.message} })()`)
	if state.Error != nil || state.Duration < 19 || state.Duration > 21 {
		t.Errorf("player: duration %.2f s (want 20), error %v", state.Duration, state.Error)
	}
}

func waitFor(t *testing.T, ctx context.Context, what, expr string, done func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := eval[float64](t, ctx, expr)
		if done(v) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: last value %v", what, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitDownload waits for a finished download named name (Chromium names
// it by GUID with AllowAndName; the event gives the suggested name).
func waitDownload(t *testing.T, dir, name string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if zr, err := zip.OpenReader(p); err == nil {
				zr.Close()
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no complete zip (%s) downloaded into %s", name, dir)
	return ""
}

func checkZip(t *testing.T, name string, rec archivetest.Recording) {
	t.Helper()
	zr, err := zip.OpenReader(name)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	folder := rec.Start.Format("2006-01-02_15-04-05") + "_" + rec.ID + "/"
	want := []string{folder + rec.Media[0].ID, folder + "recording.json", folder + "call-info.pdf", "SHA256SUMS"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("downloaded zip holds %v, want %v", names, want)
	}
}

// browserServer serves 25 encrypted recordings with real MP3 audio of
// 20 s on a real listener; the first three belong to agent a1.
func browserServer(t *testing.T) (string, []archivetest.Recording) {
	t.Helper()
	root := t.TempDir()
	pki := cmstest.NewPKI(t, t.TempDir(), "serve")
	start := time.Date(2024, 3, 9, 8, 0, 0, 0, time.UTC)
	var recs []archivetest.Recording
	for i := range 25 {
		agent := "a2"
		if i < 3 {
			agent = "a1"
		}
		id := fmt.Sprintf("01HREC%04d", i)
		r := archivetest.Recording{
			ID: id, Start: start.Add(time.Duration(i) * 17 * time.Minute), Duration: 20 * time.Second,
			Direction: []string{"Inbound", "Outbound"}[i%2], ANI: fmt.Sprintf("+49301%04d", i), DNIS: "5000",
			Tenant: "Zoë Müller GmbH", Agents: []string{agent},
			Media: []archivetest.Media{{ID: id + "_1.mp3", Type: "audio/mp3", Plain: archivetest.MP3(20*time.Second, byte(i))}},
		}
		archivetest.Write(t, root, r, pki.CertFile)
		recs = append(recs, r)
	}
	ctx := context.Background()
	idx, _, _, err := archive.OpenIndex(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := idx.Rebuild(ctx, func(dir string, err error) { t.Errorf("index %s: %v", dir, err) }); err != nil || n != 25 {
		t.Fatalf("index rebuild: %d %v", n, err)
	}
	set := &archive.Set{Indexes: []*archive.Index{idx}}
	t.Cleanup(func() { set.Close() })
	users, err := ParseUsers(strings.NewReader(testUsersFile(t)))
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, Options{Archives: []string{root}, Index: set, Users: users, Key: pki.Key, Cert: pki.Cert, FailDelay: 100 * time.Millisecond})
	return base, recs
}

// requireChromium finds the browser; under CI=true a missing one fails.
func requireChromium(t *testing.T) string {
	t.Helper()
	return requireTool(t, "chromium (scripts/test installs it)", os.Getenv("RCBS_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser")
}

// requireTool returns the first of names found; none found skips the
// test, or fails it under CI=true, where every part must run.
func requireTool(t *testing.T, what string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing", what)
	}
	t.Skipf("%s is missing", what)
	return ""
}

// listen serves a server made from opt on a real 127.0.0.1 listener
// (opt.Listen is set to it, so links point there) and returns its base URL.
func listen(t *testing.T, opt Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opt.Listen = ln.Addr().String()
	srv, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer(opt.Listen)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + opt.Listen
}

// newChromium starts a headless Chromium with a fresh profile and returns
// its context and a func listing the console errors, uncaught exceptions
// and browser log entries (CSP violations among them) seen so far.
func newChromium(t *testing.T, path string) (context.Context, func() []string) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("mute-audio", true),
	}
	var mu sync.Mutex
	var problems []string
	note := func(s string) { mu.Lock(); problems = append(problems, s); mu.Unlock() }
	listen := func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				note(fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			note(fmt.Sprintf("exception: %s %s:%d", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				note(fmt.Sprintf("log %s/%s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
			}
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(listen))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), problems...) }
}

func artifactDir(t *testing.T) string {
	dir := os.Getenv("RCBS_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func shot(ctx context.Context, t *testing.T, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}
