//go:build unix

package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// TestBadConfigFile: a config path that is a directory, a file of binary
// garbage, an unreadable file, or no file at all: exit 2 with one line on
// stderr naming the file, nothing on stdout, nothing written, nothing
// asked of the API.
func TestBadConfigFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 2, Seed: 85, Start: t0().Add(-day), End: t0()})
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.properties")
	b := make([]byte, 4096)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, b, 0o600); err != nil {
		t.Fatal(err)
	}
	asDir := filepath.Join(dir, "config.properties")
	if err := os.Mkdir(asDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"directory": asDir, "garbage": garbage, "missing": filepath.Join(dir, "missing.properties"),
	} {
		t.Run(name, func(t *testing.T) {
			before := snapshot(t, dir)
			r := w.rcbs(t, "run", "-config", path, "-now", t0().Format(time.RFC3339))
			checkOneLineError(t, r, []int{2}, path)
			if after := snapshot(t, dir); !slices.Equal(before, after) {
				t.Errorf("the config's folder changed:\nbefore %q\n after %q", before, after)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		r, path := runUnreadableConfig(t, w)
		checkOneLineError(t, r, []int{2}, path)
		if !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("want the cause (permission denied) named, got %s", r)
		}
	})
	if st := w.cloud.Stats(); st.Settings+st.Listings+st.S3Get != 0 {
		t.Errorf("a run with an unusable config file contacted the cloud (%+v)", st)
	}
}

// runUnreadableConfig runs rcbs on a config file it may not read. Root
// reads any file whatever its mode, so as root the binary runs as nobody
// (uid/gid 65534) from a world-readable copy; as anyone else the file is
// simply chmod 000.
func runUnreadableConfig(t *testing.T, w *world) (result, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "rcbs-e2e-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.properties")
	if err := os.WriteFile(path, []byte(w.cloud.Properties(filepath.Join(dir, "target"))), 0o000); err != nil {
		t.Fatal(err)
	}
	bin := rcbsBin
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		bin = filepath.Join(dir, "rcbs")
		copyFile(t, rcbsBin, bin, 0o755)
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	args := []string{"run", "-config", path, "-now", t0().Format(time.RFC3339)}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir = w.env, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rcbs as nobody: %v", err)
	}
	w.checkNoSecrets(t, r)
	return r, path
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// TestBadTargetDir: a targetDir that is a file, or lies under a file:
// exit 1 or 2 with one line naming it, the file untouched, nothing else
// written, the API not contacted (rcbs fails before it asks anything).
func TestBadTargetDir(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 2, Seed: 86, Start: t0().Add(-day), End: t0()})
	parent := t.TempDir()
	file := filepath.Join(parent, "not-a-folder")
	if err := os.WriteFile(file, []byte("an admin's file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"file": file, "under a file": filepath.Join(file, "target")} {
		t.Run(name, func(t *testing.T) {
			checkUnwritableTarget(t, w, parent, target)
		})
	}
}

// checkUnwritableTarget runs rcbs on target, which it cannot write, and
// checks that it fails in one line naming target and writes nothing under
// parent.
func checkUnwritableTarget(t *testing.T, w *world, parent, target string) {
	t.Helper()
	cfg := w.writeConfig(t, target)
	before := snapshot(t, parent)
	gets := w.cloud.Stats()
	r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	checkOneLineError(t, r, []int{1, 2}, target)
	t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	if after := snapshot(t, parent); !slices.Equal(before, after) {
		t.Errorf("something was written:\nbefore %q\n after %q", before, after)
	}
	if st := w.cloud.Stats(); st.Settings+st.Listings != gets.Settings+gets.Listings {
		t.Errorf("a run that cannot write targetDir asked the API %d times", st.Settings+st.Listings-gets.Settings-gets.Listings)
	}
}

// checkOneLineError: the exit code is one of codes, stdout is empty, and
// stderr is exactly one line, "rcbs: …", naming culprit.
func checkOneLineError(t *testing.T, r result, codes []int, culprit string) {
	t.Helper()
	if !slices.Contains(codes, r.code) {
		t.Errorf("want exit %v, got %s", codes, r)
	}
	if r.stdout != "" {
		t.Errorf("want nothing on stdout, got %s", r)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "rcbs: ") || !strings.Contains(lines[0], culprit) {
		t.Errorf("want one stderr line \"rcbs: …\" naming %s, got %s", culprit, r)
	}
	checkNoPanic(t, r)
}
