package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Batch writes many files under one root and makes their folder entries
// durable together, in Sync, instead of one folder sync per file. Each file
// is still synced before its rename, so a crash never leaves a partial file
// under a final name; what a crash before Sync may lose is a rename itself,
// which the caller must be able to redo (the backup run re-downloads a
// recording it finds incomplete, and advances its state file only after
// Sync). On Linux Sync is one syncfs(2) of the root's file system; elsewhere
// it syncs every folder the batch touched. Safe for concurrent use.
type Batch struct {
	root string
	mu   sync.Mutex
	dirs map[string]struct{} // folders with new entries since the last Sync
}

// errNoSyncFS: this OS has no syncfs; Sync syncs folder by folder.
var errNoSyncFS = errors.New("syncfs not available")

// NewBatch returns a batch for files under root.
func NewBatch(root string) *Batch {
	return &Batch{root: root, dirs: map[string]struct{}{}}
}

// Create is Create for a file of the batch: the folders it makes and the
// final name's entry are made durable by Sync, not by Commit.
func (b *Batch) Create(final string, perm fs.FileMode) (*File, error) {
	dir := filepath.Dir(final)
	if err := b.mkdirAll(dir); err != nil {
		return nil, err
	}
	f, err := create(final, perm)
	if err != nil {
		return nil, err
	}
	f.batch = b
	b.touch(dir)
	return f, nil
}

// WriteFile is WriteFile for a file of the batch.
func (b *Batch) WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := b.Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return pathErr("write", path, err)
	}
	return f.Commit(int64(len(data)))
}

// mkdirAll creates dir and records the parent of every folder it creates:
// a new folder is durable only once its parent's entry is.
func (b *Batch) mkdirAll(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return pathErr("create folder", dir, err)
	}
	for _, d := range missing {
		b.touch(filepath.Dir(d))
	}
	return nil
}

func (b *Batch) touch(dir string) {
	b.mu.Lock()
	b.dirs[dir] = struct{}{}
	b.mu.Unlock()
}

// Sync makes every rename and folder of the batch since the last Sync
// durable.
func (b *Batch) Sync() error {
	b.mu.Lock()
	dirs := b.dirs
	b.dirs = map[string]struct{}{}
	b.mu.Unlock()
	if len(dirs) == 0 {
		return nil
	}
	if err := syncFS(b.root); err != errNoSyncFS {
		return err
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}
