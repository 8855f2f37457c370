package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/internal/atomicfile"
)

// job is one file to check.
type job struct {
	rel     string // relative to the root
	size    int64  // the size recording.json gives; -1 unknown
	listing *listing
	media   bool // a .bin file: decrypted under -key
	rec     Damaged
}

// checkTree walks the recording folders (one goroutine) and hands each
// folder to a worker, which parses its recording.json and hashes (and
// decrypts) its files: the folders are checked in parallel. The map of
// listings is only read once loaded; seen marks are atomic.
func (v *verifier) checkTree(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	folders := make(chan archive.Folder, v.opts.Workers)
	for range v.opts.Workers {
		g.Go(func() error {
			buf := make([]byte, 256<<10)
			for f := range folders {
				v.checkFolder(f, buf)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(folders)
		return archive.Walk(gctx, v.opts.Root, func(f archive.Folder) error {
			select {
			case folders <- f:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("walk the archive: %w", err)
	}
	return nil
}

// checkFolder checks one folder's structure and each of its files.
func (v *verifier) checkFolder(f archive.Folder, buf []byte) {
	if !f.Complete() {
		v.checkStray(f, buf)
		return
	}
	_, id := splitPath(f.Rel)
	rec := Damaged{ID: id, Dir: f.Rel}
	jsonRel := f.Rel + "/" + archive.RecordingFile
	data, err := os.ReadFile(filepath.Join(v.opts.Root, filepath.FromSlash(jsonRel)))
	var info archive.Info
	if err == nil {
		info, err = archive.ParseInfo(data)
	}
	sizes := map[string]int64{}
	if err != nil {
		v.problem(&v.res.Corrupt, "corrupt: %s: %v", jsonRel, err)
		v.markDamaged(Damaged{ID: id, Dir: f.Rel, Day: v.dayOf(jsonRel)})
	} else {
		if !v.inRange(info.Start) {
			return
		}
		rec.Start, rec.Day = info.Start, archive.Day(info.Start)
		if info.ID != id {
			v.problem(&v.res.Corrupt, "corrupt: %s: its id %q is not its folder's", jsonRel, info.ID)
			v.markDamaged(rec)
		}
		sizes = v.checkMedia(f, info, rec)
	}
	v.mu.Lock()
	v.res.Recordings++
	if err == nil && (v.res.Earliest.IsZero() || info.Start.Before(v.res.Earliest)) {
		v.res.Earliest = info.Start
	}
	v.mu.Unlock()
	for _, e := range f.Files {
		name := e.Name()
		if skipped(name) {
			continue
		}
		if name == archive.RecordingFile && data != nil {
			v.checkJSON(jsonRel, data, rec) // read once, for its content and its sha256
			continue
		}
		size, ok := sizes[name]
		if !ok {
			size = -1
		}
		v.check(f.Rel+"/"+name, size, rec, buf)
	}
}

// checkJSON checks a recording.json already read whole.
func (v *verifier) checkJSON(rel string, data []byte, rec Damaged) {
	l := v.listed[rel]
	if l == nil {
		v.unlisted(rel, rec)
	} else {
		l.seen.Store(true)
	}
	v.mu.Lock()
	v.res.Files++
	v.res.Bytes += int64(len(data))
	v.mu.Unlock()
	if sum := sha256.Sum256(data); l != nil && sum != l.sum {
		v.corrupt(job{rel: rel, rec: rec}, "sha256 %x differs from manifest %s", sum, l.day)
	}
}

// checkMedia reports the kept media files that recording.json names and
// the folder lacks, and returns the sizes it gives, by file name.
func (v *verifier) checkMedia(f archive.Folder, info archive.Info, rec Damaged) map[string]int64 {
	present := map[string]bool{}
	for _, e := range f.Files {
		present[e.Name()] = true
	}
	sizes := map[string]int64{}
	for _, m := range info.Media {
		if v.opts.Kept != nil && !v.opts.Kept(m.Type) {
			continue
		}
		sizes[m.File] = m.Size
		if present[m.File] {
			continue
		}
		path := f.Rel + "/" + m.File
		if l := v.listed[path]; l != nil {
			if l.pruned {
				continue
			}
			l.seen.Store(true)
		}
		v.problem(&v.res.Missing, "missing: %s (recording %s: media %s of type %s)", path, info.ID, m.ID, m.Type)
		v.markDamaged(rec)
	}
	return sizes
}

// checkStray checks the files of a folder that is no complete recording:
// an unfinished download or files put there by hand. Outside a range
// check only (a stray file has no start time).
func (v *verifier) checkStray(f archive.Folder, buf []byte) {
	if !v.opts.From.IsZero() || !v.opts.To.IsZero() {
		return
	}
	for _, e := range f.Files {
		if !skipped(e.Name()) {
			v.check(f.Rel+"/"+e.Name(), -1, Damaged{}, buf)
		}
	}
}

// skipped: rcbs's temporary files (the next run removes them) and the
// legal-hold mark are not archive content.
func skipped(name string) bool {
	return strings.HasPrefix(name, atomicfile.TempPrefix) || name == archive.HoldFile
}

// dayOf is the manifest day listing path, or "".
func (v *verifier) dayOf(path string) string {
	if l := v.listed[path]; l != nil {
		return l.day
	}
	return ""
}

// check checks one file, or reports it unlisted.
func (v *verifier) check(rel string, size int64, rec Damaged, buf []byte) {
	l := v.listed[rel]
	if l != nil {
		l.seen.Store(true)
	} else {
		v.unlisted(rel, rec)
	}
	v.checkFile(job{rel: rel, size: size, listing: l, media: strings.HasSuffix(rel, ".bin"), rec: rec}, buf)
}

// unlisted reports a file that no manifest of an archive with manifests
// lists, and remembers it for -adopt when it belongs to a complete
// recording.
func (v *verifier) unlisted(rel string, rec Damaged) {
	switch {
	case rec.ID == "":
		v.problem(&v.res.Unlisted, "unlisted: %s (in no manifest, and in no complete recording folder: an unfinished download, or put there by hand)", rel)
		return
	case v.manifests:
		v.problem(&v.res.Unlisted, "unlisted: %s (in no manifest)", rel)
	}
	if v.opts.Adoptable && rec.Day != "" {
		v.mu.Lock()
		v.res.Unadopted = append(v.res.Unadopted, Unlisted{Path: rel, Day: rec.Day})
		v.mu.Unlock()
	}
}

// checkFile checks one file's size, sha256 and (under -key) decryption;
// buf is the calling worker's own.
func (v *verifier) checkFile(j job, buf []byte) {
	path := filepath.Join(v.opts.Root, filepath.FromSlash(j.rel))
	f, err := os.Open(path)
	if err != nil {
		v.corrupt(j, "cannot be read: %v", errors.Unwrap(err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		v.corrupt(j, "cannot be read: %v", err)
		return
	}
	v.mu.Lock()
	v.res.Files++
	v.res.Bytes += st.Size()
	v.mu.Unlock()
	if j.size >= 0 && st.Size() != j.size {
		v.corrupt(j, "size %d, recording.json says %d", st.Size(), j.size)
		return
	}
	decrypt := j.media && v.opts.DecryptKey != nil
	if j.listing == nil && !decrypt {
		return // nothing to compare the bytes with
	}
	sum, decErr, err := v.read(f, buf, decrypt)
	switch {
	case err != nil:
		v.corrupt(j, "cannot be read: %v", err)
	case j.listing != nil && sum != j.listing.sum:
		v.corrupt(j, "sha256 %x differs from manifest %s", sum, j.listing.day)
	case errors.Is(decErr, cms.ErrNotCMS):
		v.note("note: %s is not CMS-encrypted (stored as it arrived); nothing to decrypt", j.rel)
	case decErr != nil:
		v.corrupt(j, "does not decrypt: %v", decErr)
	}
}

// read hashes the whole file and, when decrypt is set, decrypts it on the
// way (the plaintext discarded); one read serves both.
func (v *verifier) read(f *os.File, buf []byte, decrypt bool) (sum [32]byte, decErr, err error) {
	h := sha256.New()
	src := &errReader{r: f}
	if decrypt {
		decErr = cms.Decrypt(io.Discard, io.TeeReader(src, h), v.opts.DecryptKey, nil)
	}
	if _, err := io.CopyBuffer(h, src, buf); err != nil {
		return sum, nil, err
	}
	if src.err != nil {
		return sum, nil, src.err
	}
	h.Sum(sum[:0])
	return sum, decErr, nil
}

// errReader remembers a read error of the file, so that a disk error is
// not mistaken for a decryption failure.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func (v *verifier) corrupt(j job, format string, a ...any) {
	v.problem(&v.res.Corrupt, "corrupt: %s: %s", j.rel, fmt.Sprintf(format, a...))
	if j.rec.ID != "" {
		v.markDamaged(j.rec)
	}
}

func (v *verifier) note(format string, a ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.opts.Note(fmt.Sprintf(format, a...))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
