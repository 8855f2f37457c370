package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Batch writes many files under one root and makes their folder entries
// durable together, in Sync, instead of one folder sync per file. Each file
// is still synced before its rename, so a crash never leaves a partial file
// under a final name — on Linux by a group commit: the files ready at the
// same time share one syncfs(2) before their renames. What a crash before
// Sync may lose is a rename itself, which the caller must be able to redo
// (the backup run re-downloads a recording it finds incomplete, and
// advances its state file only after Sync). On Linux Sync is one syncfs(2)
// of the root's file system; elsewhere it syncs every folder the batch
// touched. Safe for concurrent use.
type Batch struct {
	root string
	// perFolder: no syncfs here, so Sync syncs each folder the batch
	// touched; they are remembered, at most maxPendingDirs at a time.
	perFolder bool
	mu        sync.Mutex
	dirty     bool
	dirs      map[string]struct{} // folders with new entries, when perFolder
	opts      options
	// group shares the files' data syncs; nil where there is no syncfs
	// (each file is synced on its own, concurrently).
	group *group
}

// maxPendingDirs bounds the folders a Batch remembers: memory must not grow
// with the number of recordings in a shard. Past it, they are synced early.
const maxPendingDirs = 4096

// NewBatch returns a batch for files under root; opts apply to each of
// its files.
func NewBatch(root string, opts ...Option) *Batch {
	b := &Batch{root: root, perFolder: !haveSyncFS, dirs: map[string]struct{}{}, opts: buildOptions(opts)}
	switch {
	case b.opts.custom:
		b.group = newGroup(flushEach(b.opts.sync))
	case haveSyncFS:
		b.group = newGroup(flushFS)
	}
	return b
}

// Create is Create for a file of the batch: the folders it makes and the
// final name's entry are made durable by Sync, not by Commit.
func (b *Batch) Create(final string, perm fs.FileMode) (*File, error) {
	dir := filepath.Dir(final)
	if err := b.mkdirAll(dir); err != nil {
		return nil, err
	}
	f, err := create(final, perm, b.opts)
	if err != nil {
		return nil, err
	}
	f.batch = b
	if b.group != nil {
		f.seq = b.group.opened()
	}
	if err := b.touch(dir); err != nil {
		f.Abort()
		return nil, err
	}
	return f, nil
}

// WriteFile is WriteFile for a file of the batch.
func (b *Batch) WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := b.Create(path, perm)
	if err != nil {
		return err
	}
	return f.writeAll(data)
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
		if err := b.touch(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

func (b *Batch) touch(dir string) error {
	b.mu.Lock()
	b.dirty = true
	if !b.perFolder {
		b.mu.Unlock()
		return nil
	}
	b.dirs[dir] = struct{}{}
	var early map[string]struct{}
	if len(b.dirs) >= maxPendingDirs {
		early, b.dirs = b.dirs, map[string]struct{}{}
	}
	b.mu.Unlock()
	return syncDirs(early)
}

// Sync makes every rename and folder of the batch since the last Sync
// durable.
func (b *Batch) Sync() error {
	b.mu.Lock()
	dirty, dirs := b.dirty, b.dirs
	b.dirty, b.dirs = false, map[string]struct{}{}
	b.mu.Unlock()
	if !dirty {
		return nil
	}
	if !b.perFolder {
		return syncFS(b.root)
	}
	return syncDirs(dirs)
}

// syncDirs syncs each folder, in order (parents before children).
func syncDirs(dirs map[string]struct{}) error {
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
