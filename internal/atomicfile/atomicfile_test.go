package atomicfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "f.txt")
	if err := WriteFile(path, []byte("hello"), FilePerm); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "hello" {
		t.Fatalf("read back %q, %v", got, err)
	}
	info, _ := os.Stat(path)
	dinfo, _ := os.Stat(dir)
	if info.Mode().Perm() != 0o600 || dinfo.Mode().Perm() != 0o700 {
		t.Errorf("modes %v %v, want 0600 0700", info.Mode().Perm(), dinfo.Mode().Perm())
	}
	// A replaced file gets the new content and perm.
	if err := WriteFile(path, []byte("bye"), 0o644); err != nil {
		t.Fatal(err)
	}
	info, _ = os.Stat(path)
	if got, _ := os.ReadFile(path); string(got) != "bye" || info.Mode().Perm() != 0o644 {
		t.Errorf("after replace: %q %v", got, info.Mode().Perm())
	}
}

// A failed size check and an abort leave neither the final nor a temp file.
func TestCommitSizeMismatchLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "g.txt"), FilePerm)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(f.Name()), TempPrefix) {
		t.Errorf("temporary name %s lacks %s", f.Name(), TempPrefix)
	}
	f.Write([]byte("abc"))
	if err := f.Commit(4); err == nil || !strings.Contains(err.Error(), "g.txt") {
		t.Errorf("commit with a wrong size: %v, want an error naming g.txt", err)
	}
	f.Abort()
	f.Abort() // twice is fine
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left in the folder: %v", entries)
	}
}

func TestCreateNamesTheFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(file, nil, 0o600)
	_, err := Create(filepath.Join(file, "sub", "x"), FilePerm)
	if err == nil || !strings.Contains(err.Error(), "create folder "+filepath.Join(file, "sub")) {
		t.Errorf("got %v, want an error naming the folder", err)
	}
}

// A batch's files are in place at Commit. Without syncfs, Sync then owes
// exactly the folders that got new entries (the new folders' parents
// included), and nothing after it; with syncfs it owes one call.
func TestBatch(t *testing.T) {
	for _, perFolder := range []bool{true, false} {
		root := t.TempDir()
		b := NewBatch(root)
		b.perFolder = perFolder
		final := filepath.Join(root, "2018", "01", "ID", "m.bin")
		if err := b.WriteFile(final, []byte("media"), FilePerm); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(final); err != nil || string(got) != "media" {
			t.Fatalf("read back %q, %v", got, err)
		}
		if !b.dirty {
			t.Errorf("perFolder=%v: a written file leaves nothing to sync", perFolder)
		}
		want := []string{root, filepath.Join(root, "2018"), filepath.Join(root, "2018", "01"), filepath.Join(root, "2018", "01", "ID")}
		if !perFolder {
			want = nil // one syncfs covers them all
		}
		for _, d := range want {
			if _, ok := b.dirs[d]; !ok {
				t.Errorf("folder %s not owed a sync", d)
			}
		}
		if len(b.dirs) != len(want) {
			t.Errorf("perFolder=%v: owed %d folders, want %d: %v", perFolder, len(b.dirs), len(want), b.dirs)
		}
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		if len(b.dirs) != 0 || b.dirty {
			t.Errorf("after Sync still owed: %v", b.dirs)
		}
		info, _ := os.Stat(filepath.Join(root, "2018"))
		if info.Mode().Perm() != DirPerm {
			t.Errorf("folder mode %v, want %v", info.Mode().Perm(), DirPerm)
		}
	}
}

// The folders a batch remembers are bounded: past maxPendingDirs they are
// synced at once, so memory does not grow with a shard's recordings.
func TestBatchBoundsPendingFolders(t *testing.T) {
	root := t.TempDir()
	b := NewBatch(root)
	b.perFolder = true
	for i := range maxPendingDirs + 10 {
		dir := filepath.Join(root, strconv.Itoa(i))
		if err := os.Mkdir(dir, DirPerm); err != nil {
			t.Fatal(err)
		}
		if err := b.touch(dir); err != nil {
			t.Fatal(err)
		}
		if len(b.dirs) >= maxPendingDirs {
			t.Fatalf("after %d folders, %d remembered", i+1, len(b.dirs))
		}
	}
}
