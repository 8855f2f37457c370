package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTerm is a terminal as far as the bar uses one: it keeps the screen's
// lines, honouring carriage return and erase-line.
type fakeTerm struct {
	mu    sync.Mutex
	lines []string // finished lines
	cur   []rune   // the line the cursor is on
	col   int
}

func (f *fakeTerm) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := string(p)
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, "\x1b[K"):
			f.cur, s = f.cur[:f.col], s[3:]
			continue
		case s[0] == '\r':
			f.col = 0
		case s[0] == '\n':
			f.lines, f.cur, f.col = append(f.lines, string(f.cur)), nil, 0
		default:
			r := []rune(s)[0]
			if f.col < len(f.cur) {
				f.cur[f.col] = r
			} else {
				f.cur = append(f.cur, r)
			}
			f.col++
			s = s[len(string(r)):]
			continue
		}
		s = s[1:]
	}
	return len(p), nil
}

// screen is every line, the cursor's last.
func (f *fakeTerm) screen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(append([]string(nil), f.lines...), string(f.cur))
}

// Log lines written while the bar is shown each get a whole line of their
// own, and the bar is drawn again below them: nothing tears.
func TestConsoleLogLinesAboveTheBar(t *testing.T) {
	term := &fakeTerm{}
	con := newConsole(term)
	log := slog.New(slog.NewTextHandler(con, &slog.HandlerOptions{ReplaceAttr: noTime}))
	m := newProgressMeter("recordings", true, con, log, time.Minute)
	m.Phase(0, 1)
	m.AddTotal(4)
	m.ItemDone()
	log.Warn("first warning", "id", "REC1")
	m.ItemFailed()
	log.Error("recording failed", "id", "REC2")
	m.ItemDone()
	m.ItemDone()
	m.Close()
	screen := term.screen()
	want := []string{`level=WARN msg="first warning" id=REC1`, `level=ERROR msg="recording failed" id=REC2`}
	if len(screen) != 4 || screen[0] != want[0] || screen[1] != want[1] || screen[3] != "" {
		t.Fatalf("screen:\n%s\nwant the two log lines whole, then the bar, then an empty line", strings.Join(screen, "\n"))
	}
	if bar := screen[2]; !strings.HasPrefix(bar, "100% |") || !strings.Contains(bar, "recordings 4/4, 0 B, 1 failed") {
		t.Errorf("last bar %q, want 100%% and the counts", bar)
	}
}

// Without a bar (cron), the console passes log lines through untouched.
func TestConsoleWithoutBar(t *testing.T) {
	var buf bytes.Buffer
	con := newConsole(&buf)
	con.Write([]byte("a line\n"))
	if buf.String() != "a line\n" {
		t.Errorf("wrote %q", buf.String())
	}
}

func noTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
