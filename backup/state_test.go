package backup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/sharding"
)

func TestReadState(t *testing.T) {
	jan9 := time.Date(2018, 1, 9, 0, 0, 0, 0, time.UTC) // 1515456000000
	tests := []struct {
		name    string
		content string // "-" for no file
		want    time.Time
		ok      bool
		wantErr string
	}{
		{"absent", "-", time.Time{}, false, ""},
		{"newline", "1515456000000\n", jan9, true, ""},
		{"CRLF", "1515456000000\r\n", jan9, true, ""},
		{"trailing blanks", "1515456000000 \t\n\n", jan9, true, ""},
		{"no newline", "1515456000123", jan9.Add(123 * time.Millisecond), true, ""},
		{"empty", "", time.Time{}, false, `is corrupt: want 13-digit epoch milliseconds, got ""`},
		{"text", "yesterday\n", time.Time{}, false, `is corrupt: want 13-digit epoch milliseconds, got "yesterday"`},
		{"seconds", "1515456000\n", time.Time{}, false, `got "1515456000"`},
		{"14 digits", "15154560000000\n", time.Time{}, false, `got "15154560000000"`},
		{"leading blank", " 1515456000000\n", time.Time{}, false, `got " 1515456000000"`},
		{"two lines", "1515456000000\n1515456000000\n", time.Time{}, false, `got "1515456000000\n1515456000000"`},
		{"long garbage", strings.Repeat("x", 100), time.Time{}, false, `got "` + strings.Repeat("x", 40) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "-" {
				if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := ReadState(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), filepath.Join(dir, StateFileName)) {
					t.Fatalf("ReadState error = %v, want one naming the file and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ok != tt.ok || !got.Equal(tt.want) {
				t.Fatalf("ReadState = %v, %v, %v; want %v, %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func TestReadStateDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, StateFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadState(dir)
	if err == nil || !strings.Contains(err.Error(), "state file "+filepath.Join(dir, StateFileName)+": is a directory") {
		t.Errorf("ReadState on a directory = %v", err)
	}
}

// TestStateOwnership: only a run contiguous with the state file may touch
// it (spec §4). A one-off export (maxDate) or a run with
// skipLastRecordingCheck=true neither creates, reads nor moves it, even
// when it is corrupt.
func TestStateOwnership(t *testing.T) {
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		extra  string
		before string // "" for no file
		want   string // "" for no file
	}{
		{"export: not created", "maxDate=2018-01-01\nminDate=2018-01-04\n", "", ""},
		{"export: an older state not moved", "maxDate=2018-01-01\nminDate=2018-01-04\n", stateLine(day(1, 0)), stateLine(day(1, 0))},
		{"export: a corrupt state neither read nor fixed", "maxDate=2018-01-01\nminDate=2018-01-04\n", "garbage\n", "garbage\n"},
		{"skipLastRecordingCheck: not created", "skipLastRecordingCheck=true\n", "", ""},
		{"skipLastRecordingCheck: not moved", "skipLastRecordingCheck=true\n", stateLine(day(2, 0)), stateLine(day(2, 0))},
		{"cron: created", "", "", stateLine(day(4, 0))},
		{"cron: moved", "", stateLine(day(2, 0)), stateLine(day(4, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.extra = tt.extra
			w.addRecording("REC1", day(1, 1), media{id: "REC1.mp3", typ: "audio/mp3", data: blob(1, 10)})
			path := filepath.Join(w.target, StateFileName)
			if tt.before != "" {
				if err := os.MkdirAll(w.target, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.before), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(path, old, old); err != nil {
					t.Fatal(err)
				}
			}
			sum, err := w.run(context.Background(), w.deps())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if sum.Downloaded != 1 {
				t.Fatalf("downloaded %d, want 1: the run did not cover REC1", sum.Downloaded)
			}
			if got := readState(t, w.target); got != tt.want {
				t.Errorf("state %q, want %q", got, tt.want)
			}
			if tt.before != "" && tt.before == tt.want {
				if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
					t.Errorf("state file rewritten (%v)", err)
				}
			}
		})
	}
}

// TestStateMovesOnlyContiguously: a completed shard that starts after the
// state leaves it alone (the time between was never covered); one that
// starts at or before it moves it.
func TestStateMovesOnlyContiguously(t *testing.T) {
	tests := []struct {
		name      string
		state     time.Time
		shard     sharding.Window
		wantMoved bool
	}{
		{"starts before", day(2, 0), sharding.Window{Start: day(1, 18), End: day(2, 18)}, true},
		{"starts at", day(2, 0), sharding.Window{Start: day(2, 0), End: day(3, 0)}, true},
		{"starts after: a gap", day(2, 0), sharding.Window{Start: day(4, 0), End: day(5, 0)}, false},
		{"ends before: never back", day(2, 0), sharding.Window{Start: day(1, 0), End: day(1, 12)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte(stateLine(tt.state)), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := newStateMark(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.advance(tt.shard); err != nil {
				t.Fatal(err)
			}
			want := tt.state
			if tt.wantMoved {
				want = tt.shard.End
			}
			if got := readState(t, dir); got != stateLine(want) {
				t.Errorf("state %q, want %q", got, stateLine(want))
			}
		})
	}
}
