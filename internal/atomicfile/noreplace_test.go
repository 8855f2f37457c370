package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCommitNoReplace: a final file that appeared after the temporary file
// was created survives the commit, which fails with fs.ErrExist and leaves
// no temporary file; without one, the commit renames into place.
func TestCommitNoReplace(t *testing.T) {
	for _, name := range []string{"native", "link"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			final := filepath.Join(dir, "out")
			commit := func(f *File) error {
				if name == "link" {
					if err := f.closeChecked(-1); err != nil {
						return err
					}
					return linkNoReplace(f.Name(), f.final)
				}
				return f.CommitNoReplace(-1)
			}
			f, err := Create(final, FilePerm)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Abort()
			f.Write([]byte("new"))
			if err := os.WriteFile(final, []byte("intruder"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := commit(f); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("commit over an existing file: %v, want fs.ErrExist", err)
			}
			f.Abort()
			if got, _ := os.ReadFile(final); string(got) != "intruder" {
				t.Fatalf("existing file replaced: %q", got)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("left in the folder: %v", entries)
			}

			os.Remove(final)
			g, err := Create(final, FilePerm)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Abort()
			g.Write([]byte("new"))
			if err := commit(g); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(final); string(got) != "new" {
				t.Fatalf("committed %q", got)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("left in the folder: %v", entries)
			}
		})
	}
}
