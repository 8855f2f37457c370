package archive

import (
	"bufio"
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rcbs/rcbs/internal/atomicfile"
)

// SignatureMessage is what a day's signature signs: the day, the previous
// day's signature (the chain: removing or editing a day breaks every later
// link) and the sha256 of the day's manifest and pruned list (a pruned list
// cannot hide a deleted file either). Digests rather than the files
// themselves keep signing and checking streamed.
func SignatureMessage(day string, prev []byte, manifest, pruned [32]byte) []byte {
	p := "-"
	if prev != nil {
		p = base64.StdEncoding.EncodeToString(prev)
	}
	return fmt.Appendf(nil, "rcbs-manifest-v1\nday %s\nprevious %s\nmanifest %x\npruned %x\n", day, p, manifest, pruned)
}

// ManifestDays lists the days of dir's manifests (and of stray signatures
// and pruned lists), sorted; none when dir does not exist.
func ManifestDays(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var days []string
	for _, e := range entries {
		name := e.Name()
		for _, ext := range []string{ManifestExt, PrunedExt, SigExt} {
			if day, ok := strings.CutSuffix(name, ext); ok && len(day) == len(DayLayout) && !slices.Contains(days, day) {
				days = append(days, day)
			}
		}
	}
	slices.Sort(days)
	return days, nil
}

// fileDigest is the sha256 of a file, and of nothing when it is absent.
func fileDigest(path string) (sum [32]byte, exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return sha256.Sum256(nil), false, nil
	}
	if err != nil {
		return sum, false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, true, err
	}
	h.Sum(sum[:0])
	return sum, true, nil
}

// dayMessage is SignatureMessage for day as it is on disk in dir.
func dayMessage(dir, day string, prev []byte) ([]byte, error) {
	man, _, err := fileDigest(filepath.Join(dir, day+ManifestExt))
	if err != nil {
		return nil, err
	}
	pr, _, err := fileDigest(filepath.Join(dir, day+PrunedExt))
	if err != nil {
		return nil, err
	}
	return SignatureMessage(day, prev, man, pr), nil
}

// ReadSignature reads a day's .sig file; nil when absent.
func ReadSignature(dir, day string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, day+SigExt))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return []byte{}, nil // present but unreadable: never verifies
	}
	return sig, nil
}

// resign re-makes the signatures of every day from from onward, each over
// the one before it. The link before from is taken as it is on disk.
func (m *Manifests) resign(from string) error {
	days, err := ManifestDays(m.dir)
	if err != nil {
		return fmt.Errorf("manifests: %w", err)
	}
	var prev []byte
	for _, day := range days {
		if day < from {
			if prev, err = ReadSignature(m.dir, day); err != nil {
				return fmt.Errorf("manifests: %w", err)
			}
			continue
		}
		msg, err := dayMessage(m.dir, day, prev)
		if err != nil {
			return fmt.Errorf("manifests: sign %s: %w", day, err)
		}
		prev = ed25519.Sign(m.key, msg)
		text := base64.StdEncoding.EncodeToString(prev) + "\n"
		if err := atomicfile.WriteFile(filepath.Join(m.dir, day+SigExt), []byte(text), atomicfile.FilePerm); err != nil {
			return fmt.Errorf("manifests: sign %s: %w", day, err)
		}
	}
	return nil
}

// checkLinks checks the signatures of the days in [from, to) (to "" for
// the end) with the public half of m.key, each over the previous day's
// signature as stored. It returns the first broken link, "" when all hold.
func (m *Manifests) checkLinks(from, to string) (string, error) {
	pub := m.key.Public().(ed25519.PublicKey)
	days, err := ManifestDays(m.dir)
	if err != nil {
		return "", err
	}
	var prev []byte
	for _, day := range days {
		if to != "" && day >= to {
			break
		}
		sig, err := ReadSignature(m.dir, day)
		if err != nil {
			return "", err
		}
		if day >= from {
			msg, err := dayMessage(m.dir, day, prev)
			if err != nil {
				return "", err
			}
			if sig == nil || !ed25519.Verify(pub, msg, sig) {
				return fmt.Sprintf("the signature of %s does not verify (an edit, a removal or another key); the days from %s on are not re-signed; see rcbs verify, and rcbs verify -adopt to sign the archive as it stands", day, from), nil
			}
		}
		prev = sig
	}
	return "", nil
}

// ChainStatus is the state of a signature chain as a whole.
type ChainStatus string

const (
	ChainOK     ChainStatus = "ok"
	ChainBroken ChainStatus = "broken"
	ChainAbsent ChainStatus = "absent"
)

// CheckChain checks every day's signature in dir with pub, each over the
// previous day's signature as stored. It returns one problem per broken
// link, naming the day. No signature at all is ChainAbsent; so is a chain
// that cannot be checked for want of a key (unchecked is true then).
func CheckChain(dir string, pub ed25519.PublicKey) (status ChainStatus, problems []string, unchecked bool, err error) {
	days, err := ManifestDays(dir)
	if err != nil {
		return ChainAbsent, nil, false, err
	}
	sigs := 0
	for _, day := range days {
		if _, err := os.Stat(filepath.Join(dir, day+SigExt)); err == nil {
			sigs++
		}
	}
	if sigs == 0 {
		return ChainAbsent, nil, false, nil
	}
	if pub == nil {
		return ChainAbsent, nil, true, nil
	}
	var prev []byte
	for _, day := range days {
		sig, err := ReadSignature(dir, day)
		if err != nil {
			return ChainBroken, problems, false, err
		}
		_, hasManifest, err := fileDigest(filepath.Join(dir, day+ManifestExt))
		if err != nil {
			return ChainBroken, problems, false, err
		}
		msg, err := dayMessage(dir, day, prev)
		if err != nil {
			return ChainBroken, problems, false, err
		}
		switch {
		case !hasManifest:
			problems = append(problems, fmt.Sprintf("signature %s: its manifest %s%s is gone", day, day, ManifestExt))
		case sig == nil:
			problems = append(problems, fmt.Sprintf("signature %s: missing (%s%s is not signed)", day, day, ManifestExt))
		case !ed25519.Verify(pub, msg, sig):
			problems = append(problems, fmt.Sprintf("signature %s: does not verify: %s%s, its pruned list, the previous day's signature or the signing key changed", day, day, ManifestExt))
		}
		prev = sig
	}
	if len(problems) > 0 {
		return ChainBroken, problems, false, nil
	}
	return ChainOK, nil, false, nil
}

// Entry is one line of a manifest: a file and its sha256.
type Entry struct {
	Path string // relative to targetDir, slash-separated
	Sum  [32]byte
}

// ReadManifest calls fn for each line of a day's manifest file, in order.
// A line that does not parse is skipped, so that one damaged line does not
// hide the others, and reported in the error returned at the end, naming
// the file and the first such line.
func ReadManifest(path string, fn func(Entry) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first, bad := 0, 0
	for n := 1; sc.Scan(); n++ {
		e, ok := parseEntry(sc.Text())
		if !ok {
			first, bad = cmp.Or(first, n), bad+1
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%s line %d: not \"<sha256>  <path>\" (%d such lines)", path, first, bad)
	}
	return nil
}

func parseEntry(line string) (Entry, bool) {
	sum, path, ok := strings.Cut(line, "  ")
	var e Entry
	if !ok || len(sum) != 64 || path == "" {
		return e, false
	}
	if _, err := hex.Decode(e.Sum[:], []byte(sum)); err != nil {
		return e, false
	}
	e.Path = path
	return e, true
}

// ReadPruned calls fn for each path of a day's pruned list; an absent list
// is empty.
func ReadPruned(path string, fn func(string)) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			fn(l)
		}
	}
	return sc.Err()
}
