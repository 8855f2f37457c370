package backup

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// slowDown is S3's 503 SlowDown as the SDK reports it: by status.
type slowDown struct{}

func (slowDown) Error() string       { return "api error SlowDown: Please reduce your request rate." }
func (slowDown) HTTPStatusCode() int { return http.StatusServiceUnavailable }

// TestRunThrottledNarrowsTheFlow: the window grows while the server keeps
// up; once every fifth GET is answered 503 SlowDown the run still
// completes every recording intact, and the window ends far below its
// peak.
func TestRunThrottledNarrowsTheFlow(t *testing.T) {
	w := newWorld(t)
	const n = 300
	for i := range n {
		id := fmt.Sprintf("REC%04d", i)
		w.addRecording(id, day(1+i%3, i%24), media{id: id + ".mp3", typ: "audio/mp3", data: blob(byte(i), 2000+i)})
	}
	w.extra = "retries=10\n" // one in five GETs fails: three tries would lose a recording now and then
	cfg := w.config()
	hs := &hookStore{inner: w.store(cfg), hook: func(k int, _ GetInput, obj *Object) (*Object, error) {
		if k > 150 && k%5 == 0 {
			obj.Body.Close()
			return nil, slowDown{}
		}
		return obj, nil
	}}
	deps := w.deps()
	deps.S3 = hs
	deps.Tuning.MaxInFlight = 64
	sum, err := Run(context.Background(), cfg, deps)
	if err != nil {
		t.Fatalf("run under 20%% SlowDown: %v", err)
	}
	if sum.Downloaded != n || sum.Failed != 0 {
		t.Fatalf("downloaded %d, failed %d; want %d, 0", sum.Downloaded, sum.Failed, n)
	}
	gets := len(hs.requests())
	if gets < n+(n-150)/5 {
		t.Fatalf("%d GETs for %d objects: the premise (one in five throttled) did not happen", gets, n)
	}
	if sum.InFlightCuts == 0 {
		t.Errorf("the window was never halved under SlowDown (peak %d)", sum.InFlightPeak)
	}
	if sum.InFlightPeak <= 2*cfg.NumThreads {
		t.Errorf("peak in flight %d: the window never grew past its start (%d)", sum.InFlightPeak, 2*cfg.NumThreads)
	}
	if sum.InFlightWindow*2 > sum.InFlightPeak {
		t.Errorf("window at the end %d, peak %d: throttling did not narrow it", sum.InFlightWindow, sum.InFlightPeak)
	}
	for i := range n {
		id := fmt.Sprintf("REC%04d", i)
		got, err := os.ReadFile(filepath.Join(w.recDir(id, day(1+i%3, i%24)), id+".mp3.bin"))
		if err != nil || !bytes.Equal(got, blob(byte(i), 2000+i)) {
			t.Fatalf("%s: not intact on disk (%v)", id, err)
		}
	}
}

// TestRunSingleModeOneInFlight: downloadMode=single keeps the manual's
// meaning, one recording at a time, whatever the flow would allow.
func TestRunSingleModeOneInFlight(t *testing.T) {
	w := newWorld(t)
	for i := range 20 {
		id := fmt.Sprintf("S%02d", i)
		w.addRecording(id, day(1, i), media{id: id + ".mp3", typ: "audio/mp3", data: blob(byte(i), 100)})
	}
	w.extra = "downloadMode=single\n"
	sum, err := w.run(context.Background(), w.deps())
	if err != nil || sum.Downloaded != 20 {
		t.Fatalf("single mode: downloaded %d, err %v", sum.Downloaded, err)
	}
	if sum.InFlightPeak != 1 {
		t.Errorf("single mode had %d recordings in flight at once, want 1", sum.InFlightPeak)
	}
}

// TestRecordingMediaAtOnce: a recording's media files are requested
// together — on a link 80 ms away, one round trip for all of them, not
// one each — and in downloadMode=single one after the other.
func TestRecordingMediaAtOnce(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single=%v", single), func(t *testing.T) {
			w := newWorld(t)
			ms := []media{
				{id: "R1.mp3", typ: "audio/mp3", data: blob(1, 3000)},
				{id: "R2.mp4", typ: "video/mp4", data: blob(2, 4000)},
				{id: "R3.mp3", typ: "audio/mp3", data: blob(3, 5000)},
			}
			w.addRecording("R", day(1, 1), ms...)
			if single {
				w.extra = "downloadMode=single\n"
			}
			cfg := w.config()
			var hs *hookStore
			together := make(chan bool, len(ms))
			hs = &hookStore{inner: w.store(cfg), hook: func(k int, _ GetInput, obj *Object) (*Object, error) {
				if k != 1 {
					return obj, nil
				}
				// The first GET waits for the others: they come at once unless
				// the media are fetched one by one.
				deadline := time.Now().Add(map[bool]time.Duration{false: 10 * time.Second, true: 300 * time.Millisecond}[single])
				for len(hs.requests()) < len(ms) && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				together <- len(hs.requests()) == len(ms)
				return obj, nil
			}}
			deps := w.deps()
			deps.S3 = hs
			sum, err := Run(context.Background(), cfg, deps)
			if err != nil || sum.Downloaded != 1 {
				t.Fatalf("run: downloaded %d, %v", sum.Downloaded, err)
			}
			if got := <-together; got == single {
				t.Errorf("single=%v: the other GETs came while the first was open: %v", single, got)
			}
			checkMedia(t, w.target, map[string][]byte{
				"2018/01/01/01/R/R1.mp3.bin": ms[0].data, "2018/01/01/01/R/R2.mp4.bin": ms[1].data, "2018/01/01/01/R/R3.mp3.bin": ms[2].data,
			})
		})
	}
}

// TestSlotBackBeforeSync: a media file gives its slot back once its bytes
// are in, before it waits for the disk: with one slot, the other
// recording's GET goes out while the first recording's file is synced.
func TestSlotBackBeforeSync(t *testing.T) {
	w := newWorld(t)
	w.addRecording("A", day(1, 1), media{id: "A.mp3", typ: "audio/mp3", data: blob(1, 3000)})
	w.addRecording("B", day(1, 2), media{id: "B.mp3", typ: "audio/mp3", data: blob(2, 3000)})
	cfg := w.config()
	hs := &hookStore{inner: w.store(cfg)}
	deps := w.deps()
	deps.S3 = hs
	deps.Tuning.MaxInFlight, deps.Tuning.StartInFlight = 1, 1
	overlapped := make(chan bool, 1)
	deps.Tuning.FileSync = func(f *os.File) error {
		if len(overlapped) == 0 { // the first recording's sync
			deadline := time.Now().Add(10 * time.Second)
			for len(hs.requests()) < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			overlapped <- len(hs.requests()) == 2
		}
		return f.Sync()
	}
	sum, err := Run(context.Background(), cfg, deps)
	if err != nil || sum.Downloaded != 2 {
		t.Fatalf("run: downloaded %d, %v", sum.Downloaded, err)
	}
	select {
	case ok := <-overlapped:
		if !ok {
			t.Error("the second GET waited for the first file's sync: the slot came back only at the recording's end")
		}
	default:
		t.Fatal("premise: no media file was synced through the hook")
	}
	if sum.InFlightPeak != 1 {
		t.Errorf("peak %d requests in flight, want 1 (the window)", sum.InFlightPeak)
	}
}
