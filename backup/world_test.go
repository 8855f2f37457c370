package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/metadata"
)

// The engine tests run against an in-process S3 (gofakes3) and a fake
// recordings API (fakeLister). The full simulator (cloudsim) is used by the
// end-to-end suite of cmd/rcbs.

const (
	testBucket = "recordings"
	testKeyID  = "AKIDTEST"
	testSecret = "test-secret-never-shown"
)

// day is 2018-01-d at hour h, GMT.
func day(d, h int) time.Time { return time.Date(2018, 1, d, h, 0, 0, 0, time.UTC) }

// world is one test's recording cloud and configuration: three shards,
// 2018-01-01..2018-01-04, one day each: the cron job's window (maxAge=3 at
// 2018-01-04), which owns the state file.
type world struct {
	t       testing.TB
	backend *s3mem.Backend
	srv     *httptest.Server
	lister  *fakeLister
	target  string
	extra   string // more properties
	want    map[string][]byte
	logs    *syncBuffer
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, backend: s3mem.New(), lister: &fakeLister{media: map[string][]byte{}},
		target: filepath.Join(t.TempDir(), "target"), want: map[string][]byte{}, logs: &syncBuffer{}}
	w.srv = httptest.NewServer(gofakes3.New(w.backend).Server())
	t.Cleanup(w.srv.Close)
	if err := w.backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	return w
}

// config parses a real properties text, as rcbs would.
func (w *world) config() *config.Config {
	w.t.Helper()
	text := fmt.Sprintf("gwsUriPrefix=http://127.0.0.1:1/api/v2\ntargetDir=%s\nmaxAge=3\n"+
		"awsEndpoint=%s\nretries=3\nnumThreads=3\n%s", filepath.ToSlash(w.target), w.srv.URL, w.extra)
	env := map[string]string{"AWS_ACCESS_KEY_ID": testKeyID, "AWS_SECRET_ACCESS_KEY": testSecret}
	cfg, _, err := config.Parse(text, "test.properties", func(k string) string { return env[k] })
	if err != nil {
		w.t.Fatal(err)
	}
	return cfg
}

func (w *world) deps() Deps {
	return Deps{
		Lister: w.lister,
		Logger: slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		At:     day(4, 0),
		Tuning: Tuning{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	}
}

func (w *world) run(ctx context.Context, deps Deps) (Summary, error) {
	w.t.Helper()
	return Run(ctx, w.config(), deps)
}

// media describes one media file of a test recording.
type media struct {
	id, typ string
	data    []byte
	size    string // metadata size as JSON; "" = len(data) as a string
	api     bool   // no S3 descriptor: fetched through the API
	noPut   bool   // not stored anywhere
}

// addRecording stores the media and lists the recording. Raw carries an
// unknown key that must round-trip into recording.json.
func (w *world) addRecording(id string, start time.Time, ms ...media) metadata.Recording {
	w.t.Helper()
	var files []string
	for _, m := range ms {
		size := m.size
		if size == "" {
			size = js(fmt.Sprint(len(m.data)))
		}
		desc := fmt.Sprintf(`,"mediaDescriptor":{"storage":"awsS3","data":{"bucket":%s},"path":%s}`, js(testBucket), js("media/"+m.id))
		if m.api {
			desc = `,"mediaUri":` + js("http://127.0.0.1:1/media/"+m.id)
		}
		files = append(files, fmt.Sprintf(`{"mediaId":%s,"type":%s,"size":%s%s}`, js(m.id), js(m.typ), size, desc))
		switch {
		case m.noPut:
		case m.api:
			w.lister.media[m.id] = m.data
		default:
			w.put("media/"+m.id, m.data)
		}
	}
	raw := fmt.Sprintf(`{"id":%s,"startTime":%s,"customField":{"keep":[1,2,3]},"mediaFiles":[%s]}`,
		js(id), js(start.Format("2006-01-02T15:04:05.000-0700")), strings.Join(files, ","))
	rec, err := metadata.DecodeRecording([]byte(raw))
	if err != nil { // unsafe ids decode fine: Validate reports them
		w.t.Fatalf("decode %s: %v", raw, err)
	}
	w.lister.add(rec)
	return rec
}

// store is the real S3 client on the test server, for wrapping.
func (w *world) store(cfg *config.Config) ObjectStore {
	w.t.Helper()
	s, err := NewS3Store(context.Background(), cfg, "us-east-1", 8, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// hookStore wraps a store: it records every request and may fail or
// replace it.
type hookStore struct {
	inner ObjectStore
	mu    sync.Mutex
	gets  []GetInput
	hook  func(n int, in GetInput, obj *Object) (*Object, error) // n counts from 1
}

func (h *hookStore) Get(ctx context.Context, in GetInput) (*Object, error) {
	h.mu.Lock()
	h.gets = append(h.gets, in)
	n := len(h.gets)
	h.mu.Unlock()
	obj, err := h.inner.Get(ctx, in)
	if err != nil || h.hook == nil {
		return obj, err
	}
	return h.hook(n, in, obj)
}

func (h *hookStore) requests() []GetInput {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.gets)
}

// js is s as a JSON string.
func js(s string) string { b, _ := json.Marshal(s); return string(b) }

func (w *world) put(key string, data []byte) {
	w.t.Helper()
	if _, err := w.backend.PutObject(testBucket, key, nil, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		w.t.Fatal(err)
	}
}

// recDir is where a recording of start lands with the default folder format.
func (w *world) recDir(id string, start time.Time) string {
	return filepath.Join(w.target, start.UTC().Format("2006/01/02/15"), id)
}

// fakeLister is the recordings API: it lists by startTime as the real one,
// serves API-fallback media, and can fail a shard's listing.
type fakeLister struct {
	mu       sync.Mutex
	settings metadata.Settings
	recs     []metadata.Recording
	media    map[string][]byte
	listErr  map[time.Time]error // by shard start
	mediaErr error
	lists    int
}

func (f *fakeLister) add(r metadata.Recording) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs = append(f.recs, r)
}

func (f *fakeLister) Settings(context.Context) (metadata.Settings, error) { return f.settings, nil }

func (f *fakeLister) List(ctx context.Context, start, end time.Time, fn func(metadata.Recording) error) error {
	f.mu.Lock()
	f.lists++
	err := f.listErr[start]
	recs := slices.Clone(f.recs)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if !r.StartTime.Before(start) && r.StartTime.Before(end) {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakeLister) Media(ctx context.Context, m metadata.MediaFile) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mediaErr != nil {
		return nil, f.mediaErr
	}
	b, ok := f.media[m.MediaID]
	if !ok {
		return nil, &metadata.HTTPError{Status: 404}
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// tree is every file under root: relative slash path → sha256 and mode.
type treeFile struct {
	sum  string
	mode fs.FileMode
}

func tree(t *testing.T, root string) map[string]treeFile {
	t.Helper()
	out := map[string]treeFile{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		out[filepath.ToSlash(rel)] = treeFile{sum: sha(b), mode: info.Mode().Perm()}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:8]) }

// checkMedia asserts that each path (relative to target) holds exactly the
// source bytes.
func checkMedia(t *testing.T, target string, want map[string][]byte) {
	t.Helper()
	got := tree(t, target)
	for _, rel := range slices.Sorted(maps.Keys(want)) {
		f, ok := got[rel]
		switch {
		case !ok:
			t.Errorf("%s: missing", rel)
		case f.sum != sha(want[rel]):
			t.Errorf("%s: sha256 %s, want %s (the source's)", rel, f.sum, sha(want[rel]))
		case f.mode != 0o600:
			t.Errorf("%s: mode %v, want 0600", rel, f.mode)
		}
	}
}

// checkNoTemps asserts that no temporary file is left under root.
func checkNoTemps(t *testing.T, root string) {
	t.Helper()
	for rel := range tree(t, root) {
		if strings.HasPrefix(filepath.Base(rel), TempPrefix) {
			t.Errorf("temporary file left: %s", rel)
		}
	}
}

// checkJSON asserts that recording.json holds the API's JSON (same value,
// unknown keys kept), indented.
func checkJSON(t *testing.T, path string, raw json.RawMessage) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	json.Unmarshal(raw, &want)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s holds %s, want %s", path, gb, wb)
	}
	if !bytes.Contains(b, []byte("\n  \"customField\"")) {
		t.Errorf("%s is not indented or lost the unknown key:\n%s", path, b)
	}
}

func readState(t *testing.T, target string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(target, StateFileName))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func stateLine(tm time.Time) string { return fmt.Sprintf("%d\n", tm.UnixMilli()) }

// syncBuffer is a bytes.Buffer for a logger used by several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// blob is n deterministic bytes that do not look like CMS.
func blob(seed byte, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	if n > 0 {
		b[0] = 'I' // "ID3", an MP3's start
	}
	return b
}
