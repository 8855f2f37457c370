package decrypt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rcbs/rcbs/internal/atomicfile"
)

const (
	suffix     = ".bin"
	tempPrefix = atomicfile.TempPrefix // never a final file
	metadata   = "recording.json"
)

// job is one file to decrypt (or, with copy, to copy) from src to dst.
// root is the top of the tree dst is written in (Out, or the PATH): the
// outputs under one root are made durable together.
type job struct {
	src, dst, root string
	size           int64
	copy           bool
}

type plan struct {
	jobs  []job
	errs  []*FileError // PATHs that cannot be read, outputs claimed twice
	bytes int64
}

// planJobs walks the PATHs. With out, a folder's contents go under out by
// their path relative to the folder and a file PATH straight into out;
// recording.json files under a folder PATH are copied too (a file PATH
// brings only itself). A folder that is out itself is not walked, so
// `-out ./plain .` does not feed on its own output. Two inputs that would
// write the same output: the second fails rather than overwrite the first.
func planJobs(paths []string, out string) plan {
	var p plan
	seen := map[string]string{} // dst -> src
	absOut := ""
	if out != "" {
		absOut, _ = filepath.Abs(out)
	}
	add := func(j job) {
		key := filepath.Clean(j.dst)
		if prev, dup := seen[key]; dup {
			p.errs = append(p.errs, &FileError{j.src, fmt.Errorf("output %s is also the output of %s", j.dst, prev)})
			return
		}
		seen[key] = j.src
		p.jobs = append(p.jobs, j)
		p.bytes += j.size
	}
	fail := func(path string, err error) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named once, by FileError
		}
		p.errs = append(p.errs, &FileError{path, err})
	}
	for _, root := range paths {
		if err := walk(root, out, absOut, add, fail); err != nil {
			fail(root, err)
		}
	}
	return p
}

// walk finds the jobs of one PATH; an unreadable entry inside it is
// reported with fail and the walk goes on.
func walk(root, out, absOut string, addJob func(job), fail func(string, error)) error {
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	top := out
	if top == "" {
		top = root
		if !st.IsDir() {
			top = filepath.Dir(root)
		}
	}
	add := func(j job) { j.root = top; addJob(j) }
	if !st.IsDir() {
		if !strings.HasSuffix(root, suffix) || !st.Mode().IsRegular() {
			return fmt.Errorf("not a %s file", suffix)
		}
		dst := strings.TrimSuffix(root, suffix)
		if out != "" {
			dst = filepath.Join(out, filepath.Base(dst))
		}
		add(job{src: root, dst: dst, size: st.Size()})
		return nil
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			fail(path, err)
			return nil
		}
		err = visit(root, path, d, out, absOut, add)
		if err != nil && err != filepath.SkipDir {
			fail(path, err)
			return nil
		}
		return err
	})
}

func visit(root, path string, d fs.DirEntry, out, absOut string, add func(job)) error {
	if d.IsDir() {
		if abs, _ := filepath.Abs(path); absOut != "" && abs == absOut && path != root {
			return filepath.SkipDir
		}
		return nil
	}
	name := d.Name()
	isBin := strings.HasSuffix(name, suffix) && len(name) > len(suffix)
	isMeta := name == metadata && out != ""
	if strings.HasPrefix(name, tempPrefix) || (!isBin && !isMeta) {
		return nil
	}
	st, err := os.Stat(path) // follows a symlink to a file
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return nil
	}
	dst := path
	if out != "" {
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		dst = filepath.Join(out, rel)
	}
	if isMeta {
		add(job{src: path, dst: dst, size: st.Size(), copy: true})
		return nil
	}
	add(job{src: path, dst: strings.TrimSuffix(dst, suffix), size: st.Size()})
	return nil
}
