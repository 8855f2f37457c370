package archive

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Folder is a folder of the recording tree that holds files: a recording
// folder (recording.json and its <mediaId>.bin files), or wherever else
// files were left (a stray file in an hour folder is a Folder too, so that
// verify can report it).
type Folder struct {
	Rel   string        // relative to the archive's root, slash-separated
	Files []fs.DirEntry // its regular files (and anything else but folders), sorted by name
}

// Complete reports whether the folder holds a recording.json, the mark of
// a complete recording (spec §4).
func (f Folder) Complete() bool {
	return slices.ContainsFunc(f.Files, func(e fs.DirEntry) bool { return e.Name() == RecordingFile })
}

// Walk calls fn for every Folder under root in lexical order, which is
// chronological for the time-based folder formats. It skips the
// bookkeeping folder MetaDir at the root. fn returning an error, or ctx
// ending, stops the walk with that error.
func Walk(ctx context.Context, root string, fn func(Folder) error) error {
	return walk(ctx, root, "", fn)
}

// walk reads one folder level; a folder's own files are reported before
// its subfolders are walked.
func walk(ctx context.Context, root, rel string, fn func(Folder) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	var files []fs.DirEntry
	var dirs []string
	for _, e := range entries {
		switch {
		case e.IsDir() && rel == "" && e.Name() == MetaDir:
		case e.IsDir():
			dirs = append(dirs, e.Name())
		case rel == "":
			// targetDir's own files: the lock and the state file.
		default:
			files = append(files, e)
		}
	}
	if len(files) > 0 {
		if err := fn(Folder{Rel: rel, Files: files}); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		if err := walk(ctx, root, path(rel, d), fn); err != nil {
			return err
		}
	}
	return nil
}

func path(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}
