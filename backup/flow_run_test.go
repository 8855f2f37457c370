package backup

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
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
