package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/metadata"
)

// A disk that cannot make a file durable fails the recording: neither the
// media nor recording.json gets its final name, and the state file does not
// move past the shard (spec §6, §7).
func TestFailedSyncFailsTheRecording(t *testing.T) {
	w := newWorld(t)
	good := w.addRecording("GOOD", day(1, 10), media{id: "GOOD.mp3", typ: "audio/mp3", data: blob(1, 500)})
	bad := w.addRecording("BAD", day(2, 10), media{id: "BAD.mp3", typ: "audio/mp3", data: blob(2, 700)})
	var failed atomic.Int64
	deps := w.deps()
	deps.Tuning.FileSync = func(f *os.File) error {
		// Only BAD's media fails: its temporary file sits in BAD's folder.
		if filepath.Base(filepath.Dir(f.Name())) == bad.ID {
			failed.Add(1)
			return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
		}
		return f.Sync()
	}
	sum, err := w.run(context.Background(), deps)
	if failed.Load() == 0 {
		t.Fatal("premise: no sync of BAD's files was made to fail")
	}
	if !errors.Is(err, ErrRecordingsFailed) || sum.Failed != 1 || sum.Downloaded != 1 {
		t.Fatalf("run: %v, summary %+v; want BAD failed and GOOD downloaded", err, sum)
	}
	if !strings.Contains(w.logs.String(), "input/output error") {
		t.Errorf("the log does not give the sync error:\n%s", w.logs.String())
	}
	badDir := w.recDir(bad.ID, bad.StartTime)
	entries, _ := os.ReadDir(badDir)
	if len(entries) != 0 {
		t.Errorf("left in %s: %v", badDir, entries)
	}
	checkMedia(t, w.target, map[string][]byte{"2018/01/01/10/GOOD/GOOD.mp3.bin": blob(1, 500)})
	if _, err := os.Stat(filepath.Join(w.recDir(good.ID, good.StartTime), RecordingFile)); err != nil {
		t.Errorf("GOOD is not complete: %v", err)
	}
	if got := readState(t, w.target); got != stateLine(day(2, 0)) {
		t.Errorf("state %q, want %q: the failed shard must hold it", got, stateLine(day(2, 0)))
	}
}

// Summary.FailedIDs keeps the first MaxFailedIDs ids and Failed counts
// them all: a run where every recording fails holds no more ids than that.
func TestFailedIDsBounded(t *testing.T) {
	w := newWorld(t)
	e := newEngine(w.config(), w.deps())
	n := MaxFailedIDs + 50
	for i := range n {
		rec := metadata.Recording{ID: fmt.Sprintf("../BAD%03d", i)} // invalid: fails without any I/O
		if hold := e.handle(context.Background(), e.log, rec, nil); hold {
			t.Fatalf("an invalid recording holds the state")
		}
	}
	if e.sum.Failed != n || len(e.sum.FailedIDs) != MaxFailedIDs || e.sum.FailedIDs[0] != "../BAD000" {
		t.Errorf("failed %d, %d ids kept (first %q); want %d failed, the first %d ids kept", e.sum.Failed, len(e.sum.FailedIDs), e.sum.FailedIDs[0], n, MaxFailedIDs)
	}
}

// apiMediaLister serves media through the real API client, as rcbs does,
// from a test server.
type apiMediaLister struct {
	*fakeLister
	client *metadata.Client
}

func (l apiMediaLister) Media(ctx context.Context, m metadata.MediaFile) (io.ReadCloser, error) {
	return l.client.Media(ctx, metadata.MediaFile{MediaID: m.MediaID, MediaPath: "/media/" + m.MediaID})
}

// mediaAPIRun runs one recording whose media comes from the API, which
// answers every request with status (and Retry-After), and returns how
// many media requests it got.
func mediaAPIRun(t *testing.T, status int, retryAfter string, tun Tuning) (int64, *world) {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if retryAfter != "" {
			rw.Header().Set("Retry-After", retryAfter)
		}
		rw.WriteHeader(status)
	}))
	defer srv.Close()
	w := newWorld(t)
	w.addRecording("BUSY", day(1, 10), media{id: "BUSY.mp3", typ: "audio/mp3", data: blob(1, 100), api: true})
	cfg := w.config()
	deps := w.deps()
	deps.Tuning.BaseBackoff, deps.Tuning.MaxBackoff = tun.BaseBackoff, tun.MaxBackoff
	client, err := metadata.NewClient(metadata.Options{Prefix: srv.URL + "/api/v2", Attempts: cfg.Retries,
		BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	deps.Lister = apiMediaLister{fakeLister: w.lister, client: client}
	sum, err := Run(context.Background(), cfg, deps)
	if sum.Failed != 1 || err == nil {
		t.Fatalf("run: %v, %+v; want the recording failed", err, sum)
	}
	return requests.Load(), w
}

// One retry layer: under a constant 429 a media file costs exactly
// `retries` requests (not retries², as when the API client retried inside
// the engine's loop), and each wait is the server's Retry-After.
func TestMediaRetriesOneLayer(t *testing.T) {
	n, w := mediaAPIRun(t, http.StatusTooManyRequests, "0.2", Tuning{BaseBackoff: time.Millisecond, MaxBackoff: time.Second})
	retries := w.config().Retries
	if n != int64(retries) {
		t.Errorf("%d media requests, want retries=%d", n, retries)
	}
	if got := strings.Count(w.logs.String(), "in=200ms"); got != retries-1 {
		t.Errorf("%d retries waited the Retry-After of 200ms, want %d:\n%s", got, retries-1, w.logs.String())
	}
}

// A 403 is an answer, not a hiccup: one request.
func TestMediaForbiddenNotRetried(t *testing.T) {
	if n, _ := mediaAPIRun(t, http.StatusForbidden, "", Tuning{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}); n != 1 {
		t.Errorf("%d media requests, want 1", n)
	}
}
