package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRangedDownloadIsByteIdentical(t *testing.T) {
	w := newWorld(t)
	data := blob(7, 10_000+13) // 40 parts of 250 bytes and a short one
	w.addRecording("BIG", day(1, 1), media{id: "big.mp4", typ: "video/mp4", data: data})
	w.addRecording("SMALL", day(1, 2), media{id: "small.mp3", typ: "audio/mp3", data: blob(8, 999)})
	cfg := w.config()
	hs := &hookStore{inner: w.store(cfg)}
	deps := w.deps()
	deps.S3 = hs
	deps.Tuning.MultipartThreshold, deps.Tuning.PartSize, deps.Tuning.PartWorkers = 1000, 250, 3
	if _, err := Run(context.Background(), cfg, deps); err != nil {
		t.Fatal(err)
	}
	checkMedia(t, w.target, map[string][]byte{
		"2018/01/01/01/BIG/big.mp4.bin":     data,
		"2018/01/01/02/SMALL/small.mp3.bin": blob(8, 999),
	})
	var parts, pinned, small int
	covered := make([]int, len(data))
	for _, in := range hs.requests() {
		if in.Key == "media/small.mp3" {
			small++
			if in.Length != 0 || in.Offset != 0 {
				t.Errorf("small object fetched by range: %+v", in)
			}
			continue
		}
		parts++
		if in.Offset > 0 && in.IfMatch != "" {
			pinned++
		}
		for i := in.Offset; i < in.Offset+in.Length; i++ {
			covered[i]++
		}
	}
	if want := (len(data) + 249) / 250; parts != want || pinned != want-1 || small != 1 {
		t.Errorf("%d part requests (%d pinned to the ETag), %d small; want %d (%d pinned), 1", parts, pinned, small, want, want-1)
	}
	for i, c := range covered {
		if c != 1 {
			t.Fatalf("byte %d asked for %d times", i, c)
		}
	}
}

// truncatingBody gives only the first n bytes of its object, then EOF.
func truncate(obj *Object, n int64) *Object {
	obj.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(obj.Body, n), obj.Body}
	return obj
}

func TestShortBodyRetriedThenSucceeds(t *testing.T) {
	w := newWorld(t)
	data := blob(3, 5000)
	w.addRecording("REC", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: data})
	cfg := w.config()
	hs := &hookStore{inner: w.store(cfg), hook: func(n int, _ GetInput, obj *Object) (*Object, error) {
		if n == 1 {
			return truncate(obj, 100), nil
		}
		return obj, nil
	}}
	deps := w.deps()
	deps.S3 = hs
	var prog countingProgress
	deps.Progress = &prog
	sum, err := Run(context.Background(), cfg, deps)
	if err != nil || sum.Downloaded != 1 {
		t.Fatalf("%+v, %v", sum, err)
	}
	if len(hs.requests()) != 2 {
		t.Errorf("%d requests, want 2 (one retry)", len(hs.requests()))
	}
	checkMedia(t, w.target, map[string][]byte{"2018/01/01/01/REC/a.mp3.bin": data})
	if got := prog.bytes.Load(); got != 5000 {
		t.Errorf("progress bytes %d, want 5000 (the failed attempt's taken back)", got)
	}
	if !strings.Contains(w.logs.String(), "retrying media") {
		t.Error("the retry is not logged")
	}
}

func TestSizeMismatchFailsAfterRetries(t *testing.T) {
	tests := []struct {
		name string
		meta string // metadata size
		data []byte
	}{
		{"object shorter than metadata", `"5001"`, blob(1, 5000)},
		{"object longer than metadata", `4999`, blob(1, 5000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.addRecording("REC", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: tt.data, size: tt.meta})
			cfg := w.config()
			hs := &hookStore{inner: w.store(cfg)}
			deps := w.deps()
			deps.S3 = hs
			sum, err := Run(context.Background(), cfg, deps)
			if !errors.Is(err, ErrRecordingsFailed) || sum.Failed != 1 {
				t.Fatalf("%+v, %v", sum, err)
			}
			if got := len(hs.requests()); got != cfg.Retries {
				t.Errorf("%d attempts, want retries=%d", got, cfg.Retries)
			}
			if got := tree(t, w.target); len(got) != 1 { // the lock file only
				t.Errorf("files left: %v", got)
			}
		})
	}
}

func TestBodyLongerThanObjectSize(t *testing.T) {
	// A body with more bytes than the object's size: refused, never written past.
	w := newWorld(t)
	w.addRecording("REC", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 100)})
	cfg := w.config()
	hs := &hookStore{inner: w.store(cfg), hook: func(_ int, _ GetInput, obj *Object) (*Object, error) {
		obj.Body = io.NopCloser(io.MultiReader(obj.Body, strings.NewReader("extra")))
		return obj, nil
	}}
	deps := w.deps()
	deps.S3 = hs
	if _, err := Run(context.Background(), cfg, deps); !errors.Is(err, ErrRecordingsFailed) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(w.logs.String(), "longer than 100 bytes") {
		t.Errorf("log does not say why:\n%s", w.logs)
	}
}

func TestNotFoundIsNotRetried(t *testing.T) {
	w := newWorld(t)
	w.addRecording("REC", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 100), noPut: true})
	w.addRecording("API", day(1, 2), media{id: "b.mp3", typ: "audio/mp3", data: blob(1, 100), api: true, noPut: true})
	cfg := w.config()
	hs := &hookStore{inner: w.store(cfg)}
	deps := w.deps()
	deps.S3 = hs
	sum, err := Run(context.Background(), cfg, deps)
	if !errors.Is(err, ErrRecordingsFailed) || sum.Failed != 2 {
		t.Fatalf("%+v, %v", sum, err)
	}
	if n := len(hs.requests()); n != 1 {
		t.Errorf("%d requests for a missing object, want 1 (404 is not retried)", n)
	}
}

// stallStore sends half of each body, then blocks until the request's
// context ends: a download in flight when the run is cancelled.
type stallStore struct {
	inner   ObjectStore
	stalled chan struct{}
	once    sync.Once
}

func (s *stallStore) Get(ctx context.Context, in GetInput) (*Object, error) {
	obj, err := s.inner.Get(ctx, in)
	if err != nil {
		return nil, err
	}
	half := io.LimitReader(obj.Body, obj.Length/2)
	obj.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(half, &blockReader{ctx: ctx, s: s}), obj.Body}
	return obj, nil
}

type blockReader struct {
	ctx context.Context
	s   *stallStore
}

func (b *blockReader) Read([]byte) (int, error) {
	b.s.once.Do(func() { close(b.s.stalled) })
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

func TestCancelMidDownload(t *testing.T) {
	w := newWorld(t)
	w.addRecording("DONE", day(1, 1), media{id: "d.mp3", typ: "audio/mp3", data: blob(1, 100)})
	for i := range 5 {
		id := fmt.Sprintf("REC%d", i)
		w.addRecording(id, day(2, i), media{id: id + ".mp3", typ: "audio/mp3", data: blob(byte(i), 50_000)})
	}
	cfg := w.config()
	real := w.store(cfg)
	ss := &stallStore{inner: real, stalled: make(chan struct{})}
	deps := w.deps()
	deps.S3 = &shardSwitch{first: real, rest: ss, firstKey: "media/d.mp3"}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-ss.stalled; cancel() }()
	_, err := Run(ctx, cfg, deps)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	checkNoTemps(t, w.target)
	for rel := range tree(t, w.target) {
		if strings.Contains(rel, "/02/") {
			t.Errorf("file of an interrupted shard under a final name: %s", rel)
		}
	}
	if got := readState(t, w.target); got != stateLine(day(2, 0)) {
		t.Errorf("state %q, want only the completed shard %q", got, stateLine(day(2, 0)))
	}
	// The lock is released: a new run works and completes the rest.
	if sum, err := w.run(context.Background(), w.deps()); err != nil || sum.Downloaded != 5 {
		t.Errorf("after the interruption: %+v, %v", sum, err)
	}
}

// shardSwitch sends one key to first and everything else to rest.
type shardSwitch struct {
	first, rest ObjectStore
	firstKey    string
}

func (s *shardSwitch) Get(ctx context.Context, in GetInput) (*Object, error) {
	if in.Key == s.firstKey {
		return s.first.Get(ctx, in)
	}
	return s.rest.Get(ctx, in)
}

type countingProgress struct {
	listed, done, failed atomic.Int64
	bytes                atomic.Int64
}

func (p *countingProgress) Shard(int, int)                {}
func (p *countingProgress) Listed(n int)                  { p.listed.Add(int64(n)) }
func (p *countingProgress) RecordingDone(string, int64)   { p.done.Add(1) }
func (p *countingProgress) RecordingFailed(string, error) { p.failed.Add(1) }
func (p *countingProgress) Bytes(n int64)                 { p.bytes.Add(n) }

func TestProgressCounts(t *testing.T) {
	w := newWorld(t)
	w.addRecording("A", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 300)})
	w.addRecording("B", day(2, 1), media{id: "b.mp3", typ: "audio/mp3", data: blob(2, 200), noPut: true})
	var p countingProgress
	deps := w.deps()
	deps.Progress = &p
	w.run(context.Background(), deps)
	if p.listed.Load() != 2 || p.done.Load() != 1 || p.failed.Load() != 1 || p.bytes.Load() != 300 {
		t.Errorf("listed %d done %d failed %d bytes %d", p.listed.Load(), p.done.Load(), p.failed.Load(), p.bytes.Load())
	}
}

func TestInstanceSplit(t *testing.T) {
	w := newWorld(t)
	ids := []string{"A1", "B2", "C3", "D4", "E5", "F6", "G7", "H8"}
	for i, id := range ids {
		w.addRecording(id, day(1, i), media{id: id + ".mp3", typ: "audio/mp3", data: blob(byte(i), 10)})
	}
	seen := map[string]int{}
	for inst := range 3 {
		w.extra = fmt.Sprintf("totalRcbsInstances=3\nrcbsInstanceId=%d\n", inst)
		w.target = filepath.Join(t.TempDir(), "target")
		sum, err := w.run(context.Background(), w.deps())
		if err != nil || sum.Listed != len(ids) || sum.Downloaded != sum.Mine {
			t.Fatalf("instance %d: %+v, %v", inst, sum, err)
		}
		for rel := range tree(t, w.target) {
			if strings.HasSuffix(rel, ".bin") {
				seen[filepath.Base(rel)]++
			}
		}
	}
	for _, id := range ids {
		if seen[id+".mp3.bin"] != 1 {
			t.Errorf("%s downloaded by %d instances, want exactly 1", id, seen[id+".mp3.bin"])
		}
	}
}

func TestLeftoverTempFilesRemoved(t *testing.T) {
	w := newWorld(t)
	w.addRecording("REC", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 10)})
	deep := filepath.Join(w.target, "2017", "12", "31", "23", "OLD")
	os.MkdirAll(deep, 0o700)
	stale := filepath.Join(deep, TempPrefix+"123")
	fresh := filepath.Join(w.target, TempPrefix+"456")
	other := filepath.Join(deep, "keep.bin")
	for _, p := range []string{stale, fresh, other} {
		os.WriteFile(p, []byte("x"), 0o600)
	}
	if _, err := w.run(context.Background(), w.deps()); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{stale: false, fresh: false, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", p, err == nil, want)
		}
	}
}

func TestCopyExact(t *testing.T) {
	e := newEngine(newWorld(t).config(), Deps{})
	tests := []struct {
		in   string
		size int64
		ok   bool
	}{
		{"abcdef", 6, true},
		{"abcdef", -1, true},
		{"abcde", 6, false},
		{"abcdefg", 6, false},
		{"", 0, true},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		n, err := e.copyExact(&out, strings.NewReader(tt.in), tt.size)
		if (err == nil) != tt.ok {
			t.Errorf("copyExact(%q, %d): %v", tt.in, tt.size, err)
		}
		if tt.size >= 0 && out.Len() > int(tt.size) {
			t.Errorf("copyExact(%q, %d) wrote %d bytes, past the size", tt.in, tt.size, out.Len())
		}
		if err != nil && !errors.Is(err, errSize) {
			t.Errorf("copyExact(%q, %d): %v is not errSize", tt.in, tt.size, err)
		}
		_ = n
	}
}
