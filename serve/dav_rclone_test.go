package serve

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/internal/archivetest"
)

// rclone's WebDAV backend, a client no one here wrote, against /dav/ over
// two archives (two instances' targetDirs): rclone ls lists every
// recording of both and nothing of .rcbs/; rclone copy of one day's folder
// brings exactly that day's files, byte-identical; a write is refused.
func TestDavRclone(t *testing.T) {
	rclone := requireRclone(t)
	roots := []string{t.TempDir(), t.TempDir()}
	day := time.Date(2024, 3, 9, 8, 0, 0, 0, time.UTC)
	for i := range 6 {
		r := archivetest.Recording{
			ID: fmt.Sprintf("01HDAV%04d", i), Start: day.Add(time.Duration(i) * 9 * time.Hour), Duration: time.Second,
			Agents: []string{"a1"}, Media: []archivetest.Media{{ID: fmt.Sprintf("m%d.mp3", i), Type: "audio/mp3", Plain: archivetest.MP3(time.Second, byte(i))}},
		}
		archivetest.Write(t, roots[i%2], r, "")
	}
	for _, root := range roots {
		if err := os.MkdirAll(filepath.Join(root, archive.MetaDir), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, archive.MetaDir, "audit.log"), []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := davServer(t, roots)
	env := rcloneEnv(t, rclone, base)

	out := runRclone(t, rclone, env, "ls", "dav:")
	for i := range 6 {
		if !strings.Contains(out, fmt.Sprintf("01HDAV%04d/m%d.mp3.bin", i, i)) {
			t.Errorf("rclone ls lacks recording %d:\n%s", i, out)
		}
	}
	if strings.Contains(out, ".rcbs") || strings.Count(out, "\n") != 12 {
		t.Errorf("rclone ls shows other than the 12 files of 6 recordings:\n%s", out)
	}

	// 2024/03/09 holds recordings 0 and 1 (08:00 and 17:00), one in each archive.
	dest := t.TempDir()
	runRclone(t, rclone, env, "copy", "dav:2024/03/09", dest)
	want := map[string][]byte{}
	for _, root := range roots {
		collect(t, filepath.Join(root, "2024", "03", "09"), want)
	}
	got := map[string][]byte{}
	collect(t, dest, got)
	if len(want) != 4 || len(got) != len(want) {
		t.Fatalf("rclone copy brought %d files, the day holds %d", len(got), len(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs after rclone copy", name)
		}
	}

	src := filepath.Join(t.TempDir(), "new.bin")
	os.WriteFile(src, []byte("x"), 0o600)
	if msg, err := exec.Command(rclone, append(env, "copy", "--retries", "1", src, "dav:2024/")...).CombinedOutput(); err == nil {
		t.Errorf("rclone copy into the archive succeeded:\n%s", msg)
	}
}

// collect maps every file under dir (by its path relative to dir) to its bytes.
func collect(t *testing.T, dir string, into map[string][]byte) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		into[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// davServer serves roots (each with its own index) on a real listener.
func davServer(t *testing.T, roots []string) string {
	t.Helper()
	ctx := context.Background()
	set := &archive.Set{}
	for _, root := range roots {
		idx, _, _, err := archive.OpenIndex(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		set.Indexes = append(set.Indexes, idx)
	}
	t.Cleanup(func() { set.Close() })
	users, err := ParseUsers(strings.NewReader(testUsersFile(t)))
	if err != nil {
		t.Fatal(err)
	}
	return listen(t, Options{Archives: roots, Index: set, Users: users, FailDelay: 100 * time.Millisecond})
}

// rcloneEnv is the flags for a remote "dav:" as user bob, with no config
// file of the machine's.
func rcloneEnv(t *testing.T, rclone, base string) []string {
	t.Helper()
	obscured, err := exec.Command(rclone, "obscure", bobPassword).Output()
	if err != nil {
		t.Fatalf("rclone obscure: %v", err)
	}
	conf := filepath.Join(t.TempDir(), "rclone.conf")
	text := fmt.Sprintf("[dav]\ntype = webdav\nurl = %s/dav/\nvendor = other\nuser = bob\npass = %s\n", base, strings.TrimSpace(string(obscured)))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--config", conf, "--low-level-retries", "1"}
}

func runRclone(t *testing.T, rclone string, flags []string, args ...string) string {
	t.Helper()
	out, err := exec.Command(rclone, append(flags, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rclone %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// requireRclone finds rclone ($RCBS_RCLONE, the rcbs cache that
// scripts/rclone installs into, or PATH); under CI=true a missing one fails.
func requireRclone(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("RCBS_CACHE")
	if home, err := os.UserHomeDir(); cache == "" && err == nil {
		cache = filepath.Join(home, ".cache", "rcbs")
	}
	return requireTool(t, "rclone (scripts/rclone install builds it)", os.Getenv("RCBS_RCLONE"), filepath.Join(cache, "bin", "rclone"), "rclone")
}
