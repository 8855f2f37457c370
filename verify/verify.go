// Package verify proves an archive whole (spec §13): every file a manifest
// lists is there with its sha256, every media file a recording.json names
// is there with its size, no file is in no manifest, the signature chain
// holds; optionally every media file decrypts to the end (-key), and the
// recordings API has nothing the archive lacks (-remote).
//
// Memory: the manifests of the checked days are held as one map entry per
// listed file (~150 bytes each); files are streamed through fixed buffers,
// whatever their size.
package verify

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// Options is one verification. Root is required.
type Options struct {
	Root     string
	From, To time.Time // recordings by startTime, From ≤ start < To; zero: unbounded
	// Kept says whether a media file of this type is backed up
	// (mediaTypePattern; metadataOnly keeps none); nil keeps all.
	Kept func(mediaType string) bool
	// SignatureKey checks the manifest signatures; nil: not checked.
	SignatureKey ed25519.PublicKey
	// DecryptKey also decrypts every media file to its end (-key).
	DecryptKey *rsa.PrivateKey
	// Workers is how many folders are checked at once; default twice the
	// cores, so that while one worker waits for the disk another hashes.
	Workers int
	// Report receives each problem as one line; Note a remark that is not a
	// problem. Called from one goroutine at a time.
	Report, Note func(line string)
	// Adoptable collects the files of complete recordings that no manifest
	// lists, for -adopt.
	Adoptable bool
}

// Result is what a verification found.
type Result struct {
	Recordings, Files                int
	Bytes                            int64
	Missing, Corrupt, Unlisted       int
	Signatures                       string // ok, broken, absent; unsigned when there is no manifest at all
	Duration                         time.Duration
	Damaged                          []Damaged // recordings with a missing or corrupt file
	Earliest                         time.Time // earliest recording start seen; zero when none
	Unadopted                        []Unlisted
	signatureProblems, otherProblems int
}

// Damaged is a recording a repair must fetch again.
type Damaged struct {
	ID, Dir string    // Dir relative to the root, slash-separated
	Day     string    // manifest day (yyyy-MM-dd) of its start
	Start   time.Time // zero when its recording.json is unreadable
	Gone    bool      // its folder is gone altogether
}

// Unlisted is a file of a complete recording that no manifest lists.
type Unlisted struct {
	Path string // relative to the root
	Day  string
}

// Problems counts what makes verify exit 1.
func (r Result) Problems() int {
	return r.Missing + r.Corrupt + r.Unlisted + r.signatureProblems + r.otherProblems
}

// AddGaps counts the recordings the cloud has and the archive lacks as
// missing, one each.
func (r *Result) AddGaps(gaps []Gap) { r.Missing += len(gaps) }

// Line is the spec §13 summary line.
func (r Result) Line() string {
	return fmt.Sprintf("verified: recordings %d, files %d, bytes %d, missing %d, corrupt %d, unlisted %d, signatures %s, %s",
		r.Recordings, r.Files, r.Bytes, r.Missing, r.Corrupt, r.Unlisted, r.Signatures, r.Duration.Round(time.Millisecond))
}

// Run verifies the archive at opts.Root. Problems are reported, not
// returned: the error is for a verification that could not run (an
// unreadable folder, ctx ended).
func Run(ctx context.Context, opts Options) (Result, error) {
	started := time.Now()
	v := &verifier{opts: opts, listed: map[string]*listing{}, damaged: map[string]*Damaged{}}
	if v.opts.Workers <= 0 {
		v.opts.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if v.opts.Report == nil {
		v.opts.Report = func(string) {}
	}
	if v.opts.Note == nil {
		v.opts.Note = func(string) {}
	}
	if err := v.loadManifests(); err != nil {
		return v.res, err
	}
	if err := v.checkSignatures(); err != nil {
		return v.res, err
	}
	if err := v.checkTree(ctx); err != nil {
		return v.res, err
	}
	v.reportUnseen()
	v.res.Damaged = v.sortedDamaged()
	v.res.Duration = time.Since(started)
	return v.res, nil
}

// listing is one manifest line as loaded.
type listing struct {
	sum    [32]byte
	day    string
	pruned bool
	seen   atomic.Bool // found on disk, or already reported
}

type verifier struct {
	opts      Options
	manifests bool                // the archive has a manifest folder with days in it
	listed    map[string]*listing // by path, for the days in range

	mu      sync.Mutex // guards res, damaged and the Report calls from workers
	res     Result
	damaged map[string]*Damaged // by Dir
}

func (v *verifier) manifestDir() string {
	return filepath.Join(v.opts.Root, filepath.FromSlash(archive.ManifestDir))
}

// dayInRange reports whether a manifest day may hold recordings of the range.
func (v *verifier) dayInRange(day string) bool {
	if !v.opts.From.IsZero() && day < archive.Day(v.opts.From) {
		return false
	}
	return v.opts.To.IsZero() || day <= archive.Day(v.opts.To.Add(-time.Millisecond))
}

func (v *verifier) inRange(start time.Time) bool {
	return (v.opts.From.IsZero() || !start.Before(v.opts.From)) && (v.opts.To.IsZero() || start.Before(v.opts.To))
}

// loadManifests reads the manifests and pruned lists of the days in range.
func (v *verifier) loadManifests() error {
	dir := v.manifestDir()
	days, err := archive.ManifestDays(dir)
	if err != nil {
		return fmt.Errorf("read the manifests: %w", err)
	}
	v.manifests = len(days) > 0
	for _, day := range days {
		if !v.dayInRange(day) {
			continue
		}
		err := archive.ReadManifest(filepath.Join(dir, day+archive.ManifestExt), func(e archive.Entry) error {
			v.listed[e.Path] = &listing{sum: e.Sum, day: day}
			return nil
		})
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			v.problem(&v.res.otherProblems, "manifest %s%s: %v", day, archive.ManifestExt, err)
		}
		err = archive.ReadPruned(filepath.Join(dir, day+archive.PrunedExt), func(path string) {
			if l := v.listed[path]; l != nil {
				l.pruned = true
			}
		})
		if err != nil {
			return fmt.Errorf("read the pruned list of %s: %w", day, err)
		}
	}
	return nil
}

// checkSignatures checks the whole chain: a link broken before the range
// breaks every day in it.
func (v *verifier) checkSignatures() error {
	if !v.manifests {
		v.res.Signatures = "unsigned"
		v.opts.Note("unsigned: the archive has no manifests (written before rcbs kept them); checked by structure and size; rcbs verify -adopt lists it as it stands")
		return nil
	}
	status, problems, unchecked, err := archive.CheckChain(v.manifestDir(), v.opts.SignatureKey)
	if err != nil {
		return fmt.Errorf("check the manifest signatures: %w", err)
	}
	if unchecked {
		v.opts.Note("signatures: the manifests are signed but not checked: set verifyKey (or manifestKey) in the configuration")
	}
	v.res.Signatures = string(status)
	for _, p := range problems {
		v.problem(&v.res.signatureProblems, "%s", p)
	}
	return nil
}

// problem counts one problem and reports its line. Callers other than
// the workers hold no lock.
func (v *verifier) problem(counter *int, format string, a ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	*counter++
	v.opts.Report(fmt.Sprintf(format, a...))
}

// markDamaged remembers a recording for -repair.
func (v *verifier) markDamaged(d Damaged) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old := v.damaged[d.Dir]; old != nil {
		if old.Start.IsZero() {
			old.Start = d.Start
		}
		return
	}
	v.damaged[d.Dir] = &d
}

// reportUnseen reports every listed file that the walk did not find and
// prune did not remove: per file, or once for a recording folder that is
// gone altogether.
func (v *verifier) reportUnseen() {
	byDir := map[string][]string{}
	days := map[string]string{}
	for path, l := range v.listed {
		if l.seen.Load() || l.pruned {
			continue
		}
		dir, _ := splitPath(path)
		byDir[dir] = append(byDir[dir], path)
		days[dir] = l.day
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		paths := byDir[dir]
		sort.Strings(paths)
		gone := !exists(filepath.Join(v.opts.Root, filepath.FromSlash(dir)))
		_, id := splitPath(dir)
		if gone {
			v.mu.Lock()
			v.res.Missing += len(paths)
			v.opts.Report(fmt.Sprintf("missing: recording %s: its folder %s is gone (%d files listed in manifest %s)", id, dir, len(paths), days[dir]))
			v.mu.Unlock()
		} else {
			for _, p := range paths {
				v.problem(&v.res.Missing, "missing: %s (listed in manifest %s)", p, days[dir])
			}
		}
		v.markDamaged(Damaged{ID: id, Dir: dir, Day: days[dir], Gone: gone})
	}
}

func (v *verifier) sortedDamaged() []Damaged {
	out := make([]Damaged, 0, len(v.damaged))
	for _, d := range v.damaged {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out
}

// splitPath cuts a slash path into its folder and base name.
func splitPath(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}
