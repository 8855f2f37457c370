//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// TestDiskFull: targetDir on a 1 MiB tmpfs that ~2.5 MB of recordings
// cannot fit in. The run exits 1 with a clear "no space left on device"
// error naming the file it was writing; every file under a final name is
// complete, no temporary file is left, and the state file is not written
// (the only shard failed). Once the disk has room (the tmpfs grows in
// place), the next run completes the archive.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "target")
	mountTmpfs(t, target, 0, "size=1m,mode=0700")
	w := newWorld(t, cloudsim.Options{Recordings: 60, Seed: 84, Start: t0().Add(-day), End: t0()})
	all := w.cloud.Recordings()
	cfg := w.writeConfig(t, target, relative(1)...)

	r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	if r.code != 1 {
		t.Fatalf("want exit 1 on a full disk, got %s", clip(r.String()))
	}
	checkNoSpaceNamed(t, r, target)
	checkNoPanic(t, r)
	n := checkPartialTree(t, target, all)
	if n == len(all) {
		t.Fatalf("all %d recordings fit on the 1 MiB disk: the test proves nothing", n)
	}
	if _, err := os.Stat(filepath.Join(target, stateFile)); !os.IsNotExist(err) {
		t.Errorf("state file written by a run whose only shard failed (%v)", err)
	}
	s := parseSummary(t, r)
	if s.failed == 0 || s.downloaded+s.failed != len(all) || s.downloaded != n {
		t.Errorf("summary downloaded %d failed %d, want %d complete on disk and the other %d failed", s.downloaded, s.failed, n, len(all)-n)
	}

	remountTmpfs(t, target, "size=64m")
	s = w.run(t, cfg, t0())
	checkCounts(t, s, counts{shards: 1, listed: len(all), mine: len(all), downloaded: len(all) - n, skipped: n})
	checkTree(t, target, treeWant{recs: all, state: t0()})
}

// checkNoSpaceNamed: some stderr line says "no space left on device" and
// names a file under target (a media file or a recording.json, by its
// final name: the temporary name would tell the admin nothing).
func checkNoSpaceNamed(t *testing.T, r result, target string) {
	t.Helper()
	named := regexp.MustCompile(regexp.QuoteMeta(target) + `/\S+(\.bin|recording\.json)\b`)
	for line := range strings.Lines(r.stderr) {
		if strings.Contains(line, "no space left on device") && named.MatchString(line) && !strings.Contains(line, tempPfx) {
			return
		}
	}
	t.Errorf("no stderr line says \"no space left on device\" naming the file under %s: %s", target, clip(r.String()))
}

// checkNoPanic: rcbs never panics, whatever the input.
func checkNoPanic(t *testing.T, r result) {
	t.Helper()
	for line := range strings.Lines(r.stderr) {
		if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "goroutine ") || strings.Contains(line, "fatal error:") {
			t.Errorf("rcbs panicked: %s", clip(r.String()))
			return
		}
	}
}

// TestReadOnlyTargetDir: targetDir on a read-only file system (a tmpfs
// mounted ro), as the folder itself and as a folder to create in it: one
// line naming it, exit 1 or 2, nothing written, the API not contacted.
func TestReadOnlyTargetDir(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 2, Seed: 87, Start: t0().Add(-day), End: t0()})
	ro := filepath.Join(t.TempDir(), "ro")
	mountTmpfs(t, ro, syscall.MS_RDONLY, "size=1m,mode=0700")
	for name, target := range map[string]string{"mount point": ro, "inside": filepath.Join(ro, "target")} {
		t.Run(name, func(t *testing.T) {
			checkUnwritableTarget(t, w, ro, target)
		})
	}
}
