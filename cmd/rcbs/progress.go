package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// progressMeter counts a long job in items (recordings, files) and bytes,
// and shows it through a view: a bar on a terminal, plain lines for cron.
// A job may run in phases (a backup's shards) whose items are only known as
// the phase goes (recordings are listed lazily): the percentage is then the
// phases done plus the known part of the current one, so it does not reach
// 100% after the first shard; within a phase only the items listed so far
// count, so its share is approximate. Safe for concurrent use.
type progressMeter struct {
	mu    sync.Mutex
	st    progressState
	view  progressView
	stop  chan struct{}
	done  chan struct{}
	close sync.Once
}

// progressState is a snapshot of the counts.
type progressState struct {
	noun                 string // "recordings", "files"
	total, done, failed  int
	bytes                int64
	phase, phases        int // current phase (0-based) of phases; phases 0: none
	phaseBase, phaseFrom int // finished items and total when the phase began
	started, lastPrinted time.Time
}

func (s progressState) finished() int { return s.done + s.failed }

// permille of the job done, 0..1000.
func (s progressState) permille() int {
	frac := func(done, total int) float64 {
		if total <= 0 {
			return 0
		}
		return float64(done) / float64(total)
	}
	if s.phases <= 0 {
		return int(1000 * frac(s.finished(), s.total))
	}
	cur := frac(s.finished()-s.phaseBase, s.total-s.phaseFrom)
	return min(int(1000*(float64(s.phase)+cur)/float64(s.phases)), 1000)
}

func (s progressState) percent() int { return s.permille() / 10 }

// progressView shows the counts; called with the meter's lock held.
type progressView interface {
	update(s progressState, now time.Time) (printed bool)
	tick(s progressState, now time.Time) (printed bool) // at least once per interval
	finish(s progressState)
}

// newProgressMeter picks the view: a bar on w when terminal (w is stderr,
// which must be the terminal: see newEnv; pass the *console the log writes
// to, so log lines clear and redraw the bar), else lines through log (so
// that logFormat=json keeps stderr all JSON). interval is the longest
// silence of the line view (a minute for cron).
func newProgressMeter(noun string, terminal bool, w io.Writer, log *slog.Logger, interval time.Duration) *progressMeter {
	now := time.Now()
	m := &progressMeter{st: progressState{noun: noun, started: now, lastPrinted: now},
		stop: make(chan struct{}), done: make(chan struct{})}
	if terminal {
		m.view = newBarView(noun, w)
	} else {
		m.view = &lineView{log: log, interval: interval}
	}
	go m.ticker(interval)
	return m
}

func (m *progressMeter) ticker(interval time.Duration) {
	defer close(m.done)
	t := time.NewTicker(min(250*time.Millisecond, interval)) // the bar's bytes refresh
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.mu.Lock()
			if m.view.tick(m.st, now) {
				m.st.lastPrinted = now
			}
			m.mu.Unlock()
		}
	}
}

// change applies f and lets the view react; show is false for byte counts,
// which change on every write and are shown at the next tick.
func (m *progressMeter) change(show bool, f func(*progressState)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(&m.st)
	if !show {
		return
	}
	now := time.Now()
	if m.view.update(m.st, now) {
		m.st.lastPrinted = now
	}
}

// Phase: phase i (0-based) of n begins.
func (m *progressMeter) Phase(i, n int) {
	m.change(true, func(s *progressState) {
		s.phase, s.phases, s.phaseBase, s.phaseFrom = i, n, s.finished(), s.total
	})
}

// AddTotal: n more items are known.
func (m *progressMeter) AddTotal(n int) { m.change(true, func(s *progressState) { s.total += n }) }

// ItemDone: one item finished (done or skipped).
func (m *progressMeter) ItemDone() { m.change(true, func(s *progressState) { s.done++ }) }

// ItemFailed: one item failed.
func (m *progressMeter) ItemFailed() { m.change(true, func(s *progressState) { s.failed++ }) }

// AddBytes: n bytes written (negative: taken back after a failed attempt).
func (m *progressMeter) AddBytes(n int64) { m.change(false, func(s *progressState) { s.bytes += n }) }

// Close stops the ticker and shows the final state once.
func (m *progressMeter) Close() {
	m.close.Do(func() {
		close(m.stop)
		<-m.done
		m.mu.Lock()
		defer m.mu.Unlock()
		m.view.finish(m.st)
	})
}

// lineView prints a plain line at each 10% reached and at least once per
// interval, for cron mails and log collectors.
type lineView struct {
	log      *slog.Logger
	interval time.Duration
	decile   int // highest 10% step printed
}

func (v *lineView) update(s progressState, now time.Time) bool {
	d := s.percent() / 10
	if d <= v.decile {
		return false
	}
	v.decile = d
	v.print(s)
	return true
}

func (v *lineView) tick(s progressState, now time.Time) bool {
	if now.Sub(s.lastPrinted) < v.interval {
		return false
	}
	v.print(s)
	return true
}

func (v *lineView) finish(progressState) {} // the summary line says the rest

func (v *lineView) print(s progressState) {
	v.log.Info("progress", "percent", s.percent(), s.noun, fmt.Sprintf("%d/%d", s.finished(), s.total),
		"failed", s.failed, "bytes", s.bytes, "elapsed", time.Since(s.started).Round(time.Second).String())
}

// barView draws one line, redrawn in place: percent, a bar, counts and
// bytes. It draws through a console so that log lines written meanwhile
// clear it and have it drawn again below them, instead of tearing it.
type barView struct {
	con      *console
	noun     string
	lastDraw time.Time
}

// barRedraw bounds how often the bar is drawn: a terminal need not show
// every recording.
const barRedraw = 100 * time.Millisecond

const barWidth = 30

func newBarView(noun string, w io.Writer) *barView {
	con, ok := w.(*console)
	if !ok {
		con = newConsole(w)
	}
	return &barView{con: con, noun: noun}
}

func (v *barView) update(s progressState, now time.Time) bool {
	if now.Sub(v.lastDraw) >= barRedraw {
		v.lastDraw = now
		v.con.drawBar(v.render(s, now))
	}
	return true
}

// tick refreshes the bytes; it is not a "printed line" of the cron view.
func (v *barView) tick(s progressState, now time.Time) bool {
	v.update(s, now)
	return false
}

func (v *barView) finish(s progressState) { v.con.endBar(v.render(s, time.Now())) }

func (v *barView) render(s progressState, now time.Time) string {
	filled := s.permille() * barWidth / 1000
	bar := strings.Repeat("█", filled) + strings.Repeat(" ", barWidth-filled)
	return fmt.Sprintf("%3d%% |%s| %s (%s)", s.percent(), bar, v.describe(s), now.Sub(s.started).Round(time.Second))
}

func (v *barView) describe(s progressState) string {
	d := fmt.Sprintf("%s %d/%d, %s", s.noun, s.finished(), s.total, humanBytes(s.bytes))
	if s.failed > 0 {
		d += fmt.Sprintf(", %d failed", s.failed)
	}
	return d
}

// humanBytes is n in IEC units, e.g. "35.2 MiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// console is stderr as the log and the progress bar share it: a log line
// clears the bar's line, is written whole, and the bar is drawn again below
// it. Without a bar it passes writes through. Safe for concurrent use.
type console struct {
	mu  sync.Mutex
	w   io.Writer
	bar string // the bar as last drawn; "" when none is on screen
}

func newConsole(w io.Writer) *console { return &console{w: w} }

// clearLine returns to the start of the line and erases it (ANSI EL).
const clearLine = "\r\x1b[K"

// Write writes a log line (slog hands over one whole line per call).
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar == "" {
		return c.w.Write(p)
	}
	io.WriteString(c.w, clearLine)
	n, err := c.w.Write(p)
	io.WriteString(c.w, c.bar)
	return n, err
}

// drawBar replaces the bar's line with line.
func (c *console) drawBar(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bar = line
	io.WriteString(c.w, clearLine+line)
}

// endBar draws the bar a last time and ends its line: what follows is
// written below it.
func (c *console) endBar(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bar = ""
	io.WriteString(c.w, clearLine+line+"\n")
}
