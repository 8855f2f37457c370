//go:build unix

package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// Crash runs: how many kill/recover pairs per signal, the seed of the kill
// moments, and the range they are drawn from.
const (
	crashPairs    = 20
	crashSeed     = 0x7263627363726173 // "rcbscras"
	crashMinDelay = 5 * time.Millisecond
	crashMaxDelay = 400 * time.Millisecond
)

// TestCrashes: 20 runs killed at random moments (seeded), each followed by
// a normal run. After each killed run: no file under a final name is
// partial, the state file is 13 digits and a newline and never ahead of
// the disk (every recording starting before it is complete). After each
// recovery run: the archive is complete and byte-identical, with no
// temporary file left. SIGKILL leaves temporary files that only the next
// run can remove, however fresh. SIGTERM must exit 130 and leave no
// temporary file itself (in-flight files are discarded).
func TestCrashes(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(strings.ToUpper(sig.String()), func(t *testing.T) {
			t.Parallel()
			crashJourney(t, sig)
		})
	}
}

func crashJourney(t *testing.T, sig syscall.Signal) {
	// S3 latency keeps a full run at about a second on a quiet machine, so
	// that kills in [5 ms, 400 ms] land mid-flight; 6-hour shards let the
	// state file move during the run.
	w := newWorld(t, cloudsim.Options{Recordings: 40, Seed: 83, Start: t0().Add(-2 * day), End: t0(),
		S3Faults: cloudsim.Faults{Latency: 40 * time.Millisecond}})
	all := w.cloud.Recordings()
	rng := rand.New(rand.NewPCG(crashSeed, uint64(sig)))
	t.Logf("kill moments: math/rand/v2 PCG(%#x, %d), in [%v, %v]", uint64(crashSeed), sig, crashMinDelay, crashMaxDelay)
	midFlight := 0
	for i := range crashPairs {
		delay := crashMinDelay + time.Duration(rng.Int64N(int64(crashMaxDelay-crashMinDelay)+1))
		target := filepath.Join(t.TempDir(), fmt.Sprintf("target%02d", i))
		cfg := w.writeConfig(t, target, relative(2, "shardBy", "PT6H")...)
		c := crashRun(t, w, cfg, target, all, sig, delay)
		t.Logf("pair %2d: %v after %v: %d of %d recordings complete, %d temporary files, state %s",
			i, sig, delay.Round(time.Millisecond), c.complete, len(all), len(c.temps), c.state)
		if c.complete > 0 && c.complete < len(all) {
			midFlight++
		}
		s := w.run(t, cfg, t0())
		checkCounts(t, s, counts{shards: 8, listed: len(all), mine: len(all), downloaded: len(all) - c.complete, skipped: c.complete})
		checkTree(t, target, treeWant{recs: all, state: t0()})
		if t.Failed() {
			t.Fatalf("pair %d failed (signal after %v)", i, delay)
		}
	}
	if midFlight == 0 {
		t.Errorf("no signal of %d landed mid-run (some but not all recordings complete): the test proves nothing", crashPairs)
	}
}

// crashed is what a killed run left.
type crashed struct {
	complete int      // recordings complete on disk
	temps    []string // temporary files left
	state    string   // the state file's time, or "none"
}

// crashRun starts a run, sends sig after delay (for SIGTERM, counted from
// when the run holds the lock: a signal before Go's runtime has installed
// the handler would kill it the default way, which is not what is tested)
// and checks what the run left on disk.
func crashRun(t *testing.T, w *world, cfg, target string, all []cloudsim.Recording, sig syscall.Signal, delay time.Duration) crashed {
	t.Helper()
	p := start(t, w.env, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	if sig == syscall.SIGTERM {
		pid := strconv.Itoa(p.cmd.Process.Pid)
		waitFor(t, p, "the run held the lock", func() bool {
			b, err := os.ReadFile(filepath.Join(target, lockFile))
			return err == nil && strings.TrimSpace(string(b)) == pid
		})
	}
	select {
	case <-p.done: // finished first: nothing to kill
	case <-time.After(delay):
		if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
	}
	<-p.done
	checkSignalled(t, p, sig)
	if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
		return crashed{state: "none"} // killed before it created targetDir: nothing to check
	}
	complete, temps := checkCrashedTree(t, target, all, sig == syscall.SIGKILL)
	c := crashed{complete: complete, temps: temps, state: "none"}
	if st := stateValue(t, target); !st.IsZero() {
		c.state = stamp(st)
	}
	return c
}

// checkSignalled: a run that got SIGKILL died of it; one that got SIGTERM
// exited 130 (spec §9). Either may have finished (exit 0) before the signal.
func checkSignalled(t *testing.T, p *proc, sig syscall.Signal) {
	t.Helper()
	ps := p.cmd.ProcessState
	if ps.Success() {
		return
	}
	r := result{args: p.args, stdout: p.stdout.String(), stderr: p.stderr.String(), code: ps.ExitCode()}
	w := &world{env: p.cmd.Env}
	w.checkNoSecrets(t, r)
	ws, _ := ps.Sys().(syscall.WaitStatus)
	switch {
	case sig == syscall.SIGKILL && ws.Signaled() && ws.Signal() == syscall.SIGKILL:
	case sig == syscall.SIGTERM && ps.Exited() && ps.ExitCode() == 130:
		for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			if strings.Contains(line, "panic") || strings.HasPrefix(line, "goroutine ") {
				t.Errorf("SIGTERM: a panic in %s", r)
			}
		}
	default:
		t.Errorf("after %v: want %s, got %v\n%s", sig, map[syscall.Signal]string{syscall.SIGKILL: "death by SIGKILL", syscall.SIGTERM: "exit 130"}[sig], ps, r)
	}
}
