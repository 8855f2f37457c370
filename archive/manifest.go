package archive

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rcbs/rcbs/internal/atomicfile"
)

// The day manifests (spec §13) live in ManifestDir under targetDir, one set
// of files per day of the recordings' start (GMT):
//
//	yyyy-MM-dd.sha256   "<sha256 hex>  <path relative to targetDir>" per file
//	yyyy-MM-dd.pruned   "<path relative to targetDir>" per file prune removed
//	yyyy-MM-dd.sig      base64 Ed25519 signature (see SignatureMessage)
//
// Lines are only ever appended; when a path appears twice in a day's
// manifest the later line holds (a repair re-lists what it fetched again).
const (
	ManifestDir = MetaDir + "/manifest"
	ManifestExt = ".sha256"
	PrunedExt   = ".pruned"
	SigExt      = ".sig"
	DayLayout   = "2006-01-02"
	// resignMark holds the earliest day changed since the chain was last
	// signed; a run killed before it re-signed leaves it, and the next
	// OpenManifests re-signs from there.
	resignMark = ".resign-from"
	// maxOpen bounds the manifest files held open between flushes (a
	// prune over years touches thousands of days).
	maxOpen = 64
)

// Day is the manifest day of a recording that starts at t.
func Day(t time.Time) string { return t.UTC().Format(DayLayout) }

// Manifests appends to the day manifests and keeps their signature chain.
// It is the archive.Adder of a backup run. Safe for concurrent use.
type Manifests struct {
	root string
	dir  string
	key  ed25519.PrivateKey // nil: unsigned

	// ChainBroken is told when the chain was already broken where this
	// process changed it: the changed days are then left unsigned rather
	// than re-signed over an edit (which would launder it). Nil: ignored.
	ChainBroken func(problem string)

	mu     sync.Mutex
	open   map[string]*os.File // appended to since the last Sync, by file name
	first  string              // earliest day changed since the last Sync
	broken string              // why the chain may not be re-signed; "" when it may
}

// OpenManifests opens the manifests of the archive at root, signing with
// key (nil: no signatures). It finishes a re-signing that a killed process
// left undone. The folder is created on the first write, so an archive
// that never gets a manifest stays "unsigned" to verify.
func OpenManifests(root string, key ed25519.PrivateKey) (*Manifests, error) {
	m := &Manifests{root: root, dir: filepath.Join(root, filepath.FromSlash(ManifestDir)), key: key, open: map[string]*os.File{}}
	b, err := os.ReadFile(filepath.Join(m.dir, resignMark))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return m, nil
	case err != nil:
		return nil, fmt.Errorf("manifests: %w", err)
	}
	if key == nil {
		return m, nil // the chain cannot be re-made without the key; verify reports it
	}
	if err := m.resign(strings.TrimSpace(string(b))); err != nil {
		return nil, err
	}
	return m, os.Remove(filepath.Join(m.dir, resignMark))
}

// Add appends rec's files to the manifest of the day it started.
func (m *Manifests) Add(ctx context.Context, rec Recording) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var b strings.Builder
	for _, f := range rec.Files {
		sum := f.SHA256
		if sum == ([32]byte{}) {
			// The writer did not hash this file as it streamed (an engine
			// path that does not yet): read it back rather than list a lie.
			var err error
			if sum, _, err = fileDigest(filepath.Join(m.root, filepath.FromSlash(rec.Dir), f.Name)); err != nil {
				return fmt.Errorf("manifests: hash %s/%s: %w", rec.Dir, f.Name, err)
			}
		}
		fmt.Fprintf(&b, "%s  %s/%s\n", hex.EncodeToString(sum[:]), rec.Dir, f.Name)
	}
	return m.Append(Day(rec.Start), ManifestExt, b.String())
}

// Append appends text (whole lines) to day's file with the extension ext
// (ManifestExt or PrunedExt) in one write. It is durable after Sync.
func (m *Manifests) Append(day, ext, text string) error {
	if _, err := time.Parse(DayLayout, day); err != nil {
		return fmt.Errorf("manifests: bad day %q", day)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.changed(day); err != nil {
		return err
	}
	name := day + ext
	f := m.open[name]
	if f == nil && len(m.open) >= maxOpen {
		if err := m.flush(); err != nil {
			return err
		}
	}
	if f == nil {
		var err error
		if f, err = os.OpenFile(filepath.Join(m.dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, atomicfile.FilePerm); err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
		m.open[name] = f
	}
	if _, err := f.WriteString(text); err != nil {
		return fmt.Errorf("manifests: %w", err)
	}
	return nil
}

// changed notes that day's chain link must be re-made: the mark on disk
// comes first, so that a kill between the append and the signature leaves
// the next process knowing where to re-sign from.
func (m *Manifests) changed(day string) error {
	if m.first != "" && m.first <= day {
		return nil
	}
	if err := os.MkdirAll(m.dir, atomicfile.DirPerm); err != nil {
		return fmt.Errorf("manifests: %w", err)
	}
	if m.key != nil && m.broken == "" {
		// Re-signing from day on vouches for every later day: check first
		// that their links (up to what this process changed) still hold.
		problem, err := m.checkLinks(day, m.first)
		if err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
		m.broken = problem
	}
	if m.key != nil && m.broken == "" {
		if err := atomicfile.WriteFile(filepath.Join(m.dir, resignMark), []byte(day+"\n"), atomicfile.FilePerm); err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
	}
	m.first = day
	return nil
}

// Sync makes every appended line durable, then re-signs the chain from the
// first changed day forward (a late recording of an older day, or a prune,
// changes a link in the middle).
func (m *Manifests) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.first == "" {
		return nil
	}
	if err := m.flush(); err != nil {
		return err
	}
	switch {
	case m.key != nil && m.broken != "":
		if m.ChainBroken != nil {
			m.ChainBroken(m.broken)
		}
		if err := os.Remove(filepath.Join(m.dir, resignMark)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("manifests: %w", err)
		}
	case m.key != nil:
		if err := m.resign(m.first); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(m.dir, resignMark)); err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
	}
	m.first = ""
	return nil
}

// SignAll makes the appended lines durable and signs the whole chain as
// it stands, broken links included: for rcbs verify -adopt, a person's
// decision after looking at what verify reported.
func (m *Manifests) SignAll() error {
	if err := m.Sync(); err != nil {
		return err
	}
	if m.key == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.resign("")
}

// Flush makes the appended lines durable without re-signing: for a
// caller that must have its lines on disk before it acts (prune lists a
// file as pruned before it moves it) and signs once at the end. The
// re-sign mark stays until Sync.
func (m *Manifests) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flush()
}

// flush syncs and closes the open files and syncs the folder (for files
// created since). Called with mu held.
func (m *Manifests) flush() error {
	if len(m.open) == 0 {
		return nil
	}
	var errs []error
	for name, f := range m.open {
		if err := f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("manifests: sync %s: %w", name, err))
		}
		errs = append(errs, f.Close())
		delete(m.open, name)
	}
	errs = append(errs, atomicfile.SyncDir(m.dir))
	return errors.Join(errs...)
}

// Close syncs and releases the open files.
func (m *Manifests) Close() error { return m.Sync() }
