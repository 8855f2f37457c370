package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// adderLog records the calls of an Adder and fails them with its errors.
type adderLog struct {
	name            string
	calls           *[]string
	addErr, syncErr error
}

func (a adderLog) Add(_ context.Context, rec Recording) error {
	*a.calls = append(*a.calls, a.name+".Add "+rec.ID)
	return a.addErr
}

func (a adderLog) Sync() error {
	*a.calls = append(*a.calls, a.name+".Sync")
	return a.syncErr
}

// The manifests are proof: their errors fail the recording, and they are
// written before the index. The index is a cache: its errors go to
// IndexFailed and never fail the recording; the index flushes first, the
// manifests' Sync decides. (Found by scripts/mutate: no test ran Writer.)
func TestWriter(t *testing.T) {
	ctx, rec := context.Background(), Recording{ID: "R1"}
	var calls []string
	var indexErrs []error
	manifestErr, indexErr := errors.New("manifest disk full"), errors.New("index locked")
	w := &Writer{Manifests: adderLog{name: "m", calls: &calls}, Index: adderLog{name: "i", calls: &calls, addErr: indexErr, syncErr: indexErr},
		IndexFailed: func(err error) { indexErrs = append(indexErrs, err) }}
	if err := w.Add(ctx, rec); err != nil {
		t.Errorf("Add with a failing index: %v, want nil", err)
	}
	if err := w.Sync(); err != nil {
		t.Errorf("Sync with a failing index: %v, want nil", err)
	}
	if want := []string{"m.Add R1", "i.Add R1", "i.Sync", "m.Sync"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	if len(indexErrs) != 2 {
		t.Errorf("IndexFailed got %v, want both index errors", indexErrs)
	}

	calls, indexErrs = nil, nil
	w = &Writer{Manifests: adderLog{name: "m", calls: &calls, addErr: manifestErr, syncErr: manifestErr}, Index: adderLog{name: "i", calls: &calls}}
	if err := w.Add(ctx, rec); !errors.Is(err, manifestErr) {
		t.Errorf("Add with failing manifests: %v", err)
	}
	if err := w.Sync(); !errors.Is(err, manifestErr) {
		t.Errorf("Sync with failing manifests: %v", err)
	}
	if want := []string{"m.Add R1", "i.Sync", "m.Sync"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v (no index entry for a recording the manifests refused)", calls, want)
	}

	empty := &Writer{Index: adderLog{name: "i", calls: &calls, addErr: indexErr}} // nil IndexFailed: dropped
	if err := empty.Add(ctx, rec); err != nil || empty.Sync() != nil {
		t.Errorf("no manifests, index errors dropped: %v", err)
	}
}

// A size that is no number is unknown (-1); ReadInfo names the file it
// could not parse and passes a missing one through.
func TestReadInfo(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadInfo(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no recording.json: %v", err)
	}
	path := filepath.Join(dir, RecordingFile)
	os.WriteFile(path, []byte(`{"id":`), 0o600)
	if _, err := ReadInfo(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("broken recording.json: %v, want an error naming %s", err, path)
	}
	os.WriteFile(path, []byte(`{"id":"X","startTime":"2018-02-12T19:01:07Z","mediaFiles":[{"mediaId":"m","size":"lots"}]}`), 0o600)
	info, err := ReadInfo(dir)
	if err != nil || info.ID != "X" || len(info.Media) != 1 || info.Media[0].Size != -1 {
		t.Errorf("ReadInfo = %+v, %v; want X with one media of unknown size", info, err)
	}
}
