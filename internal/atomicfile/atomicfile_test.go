package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// syncRecorder is the sync seam: it records what was on disk when the data
// sync ran, and answers with err.
type syncRecorder struct {
	final   string
	calls   int
	synced  []string // the temporary file's content at each sync
	present bool     // the final name existed at a sync
	err     error
}

func (r *syncRecorder) sync(f *os.File) error {
	r.calls++
	data, _ := os.ReadFile(f.Name())
	r.synced = append(r.synced, string(data))
	if _, err := os.Lstat(r.final); err == nil {
		r.present = true
	}
	return r.err
}

// The data is synced, whole, before it gets its final name: a power cut
// never leaves a partial file under that name (spec §6). Both ways of
// writing, on their own and in a batch.
func TestCommitSyncsBeforeRename(t *testing.T) {
	for _, batch := range []bool{false, true} {
		dir := t.TempDir()
		final := filepath.Join(dir, "x", "m.bin")
		rec := &syncRecorder{final: final}
		var err error
		if batch {
			err = NewBatch(dir, WithSync(rec.sync)).WriteFile(final, []byte("media"), FilePerm)
		} else {
			err = WriteFile(final, []byte("media"), FilePerm, WithSync(rec.sync))
		}
		if err != nil {
			t.Fatalf("batch=%v: %v", batch, err)
		}
		if rec.calls != 1 || rec.synced[0] != "media" {
			t.Errorf("batch=%v: synced %d times, contents %q; want once, with the whole file", batch, rec.calls, rec.synced)
		}
		if rec.present {
			t.Errorf("batch=%v: the final name existed when the data was synced", batch)
		}
		if got, err := os.ReadFile(final); err != nil || string(got) != "media" {
			t.Errorf("batch=%v: final file %q, %v", batch, got, err)
		}
	}
}

// A sync that fails (a disk error) fails the write and leaves neither the
// final file nor the temporary one; a file system with no fsync at all
// (ENOTSUP, EINVAL) does not fail it.
func TestCommitSyncFailure(t *testing.T) {
	for _, tc := range []struct {
		err  syscall.Errno
		fail bool
	}{
		{syscall.EIO, true},
		{syscall.ENOSPC, true},
		{syscall.ENOTSUP, false},
		{syscall.EINVAL, false},
	} {
		for _, batch := range []bool{false, true} {
			dir := t.TempDir()
			final := filepath.Join(dir, "m.bin")
			rec := &syncRecorder{final: final, err: &fs.PathError{Op: "sync", Path: "tmp", Err: tc.err}}
			var err error
			if batch {
				err = NewBatch(dir, WithSync(rec.sync)).WriteFile(final, []byte("media"), FilePerm)
			} else {
				err = WriteFile(final, []byte("media"), FilePerm, WithSync(rec.sync))
			}
			if rec.calls != 1 {
				t.Fatalf("%v batch=%v: sync called %d times, want 1", tc.err, batch, rec.calls)
			}
			entries, _ := os.ReadDir(dir)
			if !tc.fail {
				if err != nil || len(entries) != 1 || entries[0].Name() != "m.bin" {
					t.Errorf("%v batch=%v: %v, folder %v; want the file written", tc.err, batch, err, entries)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), "sync "+final) || !errors.Is(err, tc.err) {
				t.Errorf("%v batch=%v: got %v, want the sync error naming %s", tc.err, batch, err, final)
			}
			if len(entries) != 0 {
				t.Errorf("%v batch=%v: left in the folder: %v", tc.err, batch, entries)
			}
		}
	}
}

// TestCommitNoReplaceSyncs: the no-replace commit takes the same sync step
// as Commit — the seam sees it, a failed sync leaves nothing, and a file
// system without fsync does not fail the write.
func TestCommitNoReplaceSyncs(t *testing.T) {
	for _, tc := range []struct {
		err  syscall.Errno
		fail bool
	}{{syscall.EIO, true}, {syscall.ENOTSUP, false}} {
		dir := t.TempDir()
		final := filepath.Join(dir, "m")
		rec := &syncRecorder{final: final, err: &fs.PathError{Op: "sync", Path: "tmp", Err: tc.err}}
		f, err := Create(final, FilePerm, WithSync(rec.sync))
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("plain"))
		err = f.CommitNoReplace(5)
		f.Abort()
		entries, _ := os.ReadDir(dir)
		switch {
		case rec.calls != 1:
			t.Errorf("%v: sync called %d times, want 1", tc.err, rec.calls)
		case tc.fail && (!errors.Is(err, tc.err) || len(entries) != 0):
			t.Errorf("%v: got %v, folder %v; want the sync error and nothing left", tc.err, err, entries)
		case !tc.fail && (err != nil || len(entries) != 1):
			t.Errorf("%v: got %v, folder %v; want the file written", tc.err, err, entries)
		}
	}
}
