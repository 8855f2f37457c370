package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// percents are the "percent" values of the progress lines logged in JSON.
func percents(t *testing.T, log string) []int {
	t.Helper()
	var out []int
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec struct {
			Msg     string
			Percent int
		}
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if rec.Msg == "progress" {
			out = append(out, rec.Percent)
		}
	}
	return out
}

func TestProgressLinesEveryTenPercentOverShards(t *testing.T) {
	var buf lockedBuffer
	m := newProgressMeter("recordings", false, nil, slog.New(slog.NewJSONHandler(&buf, nil)), time.Hour)
	// Two shards of 10 recordings, each listed in one page.
	for shard := range 2 {
		m.Phase(shard, 2)
		m.AddTotal(10)
		for range 10 {
			m.AddBytes(100)
			m.ItemDone()
		}
	}
	m.Close()
	got := percents(t, buf.String())
	want := []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	if len(got) != len(want) {
		t.Fatalf("percents %v, want one line per 10%%: %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("percents %v, want %v", got, want)
		}
	}
}

func TestProgressLineAtLeastEveryInterval(t *testing.T) {
	var buf lockedBuffer
	m := newProgressMeter("recordings", false, nil, slog.New(slog.NewJSONHandler(&buf, nil)), 20*time.Millisecond)
	defer m.Close()
	m.AddTotal(100)
	m.ItemDone() // 1%: no decile line
	for i := 0; i < 500 && len(percents(t, buf.String())) < 2; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := percents(t, buf.String()); len(got) < 2 || got[0] != 1 {
		t.Errorf("periodic lines %v, want repeated lines at 1%%", got)
	}
}

func TestProgressBar(t *testing.T) {
	var buf lockedBuffer
	m := newProgressMeter("recordings", true, &buf, slog.New(slog.DiscardHandler), time.Minute)
	m.Phase(0, 1)
	m.AddTotal(3)
	m.AddBytes(3 << 20)
	m.ItemDone()
	m.ItemDone()
	m.ItemFailed()
	m.Close()
	out := buf.String()
	for _, want := range []string{"100%", "recordings 3/3, 3.0 MiB, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q: %q", want, out)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 30: "5.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
