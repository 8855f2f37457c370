package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Files that become ready while a flush runs wait for the next one and
// share it: eight files, two flushes. Each flush sees whole temporary files
// and no final name (sync before rename); a file's failed sync fails that
// file only.
func TestBatchGroupCommit(t *testing.T) {
	const n = 8
	root := t.TempDir()
	b := NewBatch(root)
	first := make(chan struct{})
	var flushes [][]string
	b.group.flush = func(files []*queued) {
		if len(flushes) == 0 {
			<-first // hold the first flush until every other file is queued
		}
		var names []string
		for _, q := range files {
			data, _ := os.ReadFile(q.f.Name())
			final := filepath.Join(filepath.Dir(q.f.Name()), string(data))
			if _, err := os.Lstat(final); err == nil {
				t.Errorf("%s exists before its data was synced", final)
			}
			names = append(names, string(data))
			if string(data) == "f5" {
				q.err = &os.PathError{Op: "sync", Path: q.f.Name(), Err: syscall.EIO}
			}
		}
		flushes = append(flushes, names)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	commit := func(i int) {
		defer wg.Done()
		name := fmt.Sprint("f", i)
		errs[i] = b.WriteFile(filepath.Join(root, name), []byte(name), FilePerm)
	}
	wg.Add(1)
	go commit(0)
	waitQueued(t, b.group, 0, true) // f0 leads the first flush, which holds
	for i := 1; i < n; i++ {
		wg.Add(1)
		go commit(i)
	}
	waitQueued(t, b.group, n-1, true)
	close(first)
	wg.Wait()
	if len(flushes) != 2 || len(flushes[0]) != 1 || len(flushes[1]) != n-1 {
		t.Fatalf("flushes %v; want [f0] then the other seven together", flushes)
	}
	for i, err := range errs {
		final := filepath.Join(root, fmt.Sprint("f", i))
		_, statErr := os.Stat(final)
		if i == 5 {
			if !errors.Is(err, syscall.EIO) || statErr == nil {
				t.Errorf("f5: %v, final file %v; want the sync error and no file", err, statErr)
			}
			continue
		}
		if err != nil || statErr != nil {
			t.Errorf("f%d: %v, %v", i, err, statErr)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != n-1 {
		t.Errorf("folder holds %d entries, want the %d committed files", len(entries), n-1)
	}
}

// waitQueued waits until the group has queued files waiting and its
// running state is as given.
func waitQueued(t *testing.T, g *group, queued int, running bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		got, r := len(g.queue), g.running
		g.mu.Unlock()
		if got == queued && r == running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group: %d queued (running %v), want %d (running %v)", got, r, queued, running)
		}
		time.Sleep(time.Millisecond)
	}
}

// The file-system flush is taken on the oldest file of the group: its
// descriptor reports every write-back error since it was opened.
func TestOldest(t *testing.T) {
	files := []*queued{{seq: 7}, {seq: 3}, {seq: 9}, {seq: 4}}
	if got := oldest(files); got.seq != 3 {
		t.Errorf("oldest seq %d, want 3", got.seq)
	}
	if got := oldest(files[2:]); got.seq != 4 {
		t.Errorf("oldest seq %d, want 4", got.seq)
	}
}

// Without a custom sync, a Linux batch commits through syncfs; the files
// are written whole and the numbering follows creation.
func TestBatchGroupDefault(t *testing.T) {
	if !haveSyncFS {
		t.Skip("no syncfs on this system: files are synced one by one")
	}
	root := t.TempDir()
	b := NewBatch(root)
	if b.group == nil {
		t.Fatal("no group commit on Linux")
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := filepath.Join(root, fmt.Sprint(i%4), fmt.Sprint("f", i))
			if err := b.WriteFile(name, []byte(name), FilePerm); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 20 {
		name := filepath.Join(root, fmt.Sprint(i%4), fmt.Sprint("f", i))
		if got, err := os.ReadFile(name); err != nil || string(got) != name {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	if b.group.seq != 20 {
		t.Errorf("group numbered %d files, want 20", b.group.seq)
	}
}
