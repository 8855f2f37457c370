//go:build unix

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// Names rcbs writes at the top of targetDir (spec §5, §6).
const (
	stateFile = "last_recording_endtime.txt"
	lockFile  = ".rcbs.lock"
	tempPfx   = ".rcbs-tmp-"
	metaDir   = ".rcbs"
)

// treeWant is the exact content a targetDir must have.
type treeWant struct {
	recs         []cloudsim.Recording // every recording on disk, complete
	state        time.Time            // the state file's value; zero: no state file
	metadataOnly bool                 // recording.json only, no media
	// toolEncrypted: media stored in plain text were encrypted by rcbs
	// (encryptionCertificate), so they are not the stored bytes.
	toolEncrypted bool
	// emptyOK are failed recordings whose folder may remain, empty: the
	// folder is made before the download that failed, and the spec does
	// not ask for it to be removed (the next run fills it).
	emptyOK []cloudsim.Recording
}

// recDir is a recording's folder under the default recordingFolderFormat.
func recDir(r cloudsim.Recording) string {
	return filepath.Join(r.StartTime.UTC().Format("2006/01/02/15"), r.ID)
}

// checkTree compares targetDir with want: the exact set of files, their
// content, their permissions, and no temporary files. The lock file may be
// there (it is left after a run) but nothing else unexpected may.
func checkTree(t *testing.T, target string, want treeWant) {
	t.Helper()
	files, dirs := walk(t, target)
	expect := map[string]func([]byte) string{}
	if !want.state.IsZero() {
		expect[stateFile] = stateChecker(want.state)
	}
	for _, r := range want.recs {
		expect[filepath.Join(recDir(r), "recording.json")] = jsonChecker(r.JSON)
		if want.metadataOnly {
			continue
		}
		for _, m := range r.Media {
			check := mediaChecker(m)
			if want.toolEncrypted && !m.Encrypted {
				check = reencryptedChecker(m)
			}
			expect[filepath.Join(recDir(r), m.MediaID+".bin")] = check
		}
	}
	for path := range expect {
		if _, ok := files[path]; !ok {
			t.Errorf("%s: missing", path)
		}
	}
	for path, mode := range files {
		check, ok := expect[path]
		if !ok && path != lockFile {
			t.Errorf("%s: unexpected file", path)
			continue
		}
		if mode.Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, mode.Perm())
		}
		if check == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(target, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
		} else if problem := check(b); problem != "" {
			t.Errorf("%s: %s", path, problem)
		}
	}
	checkDirs(t, dirs, want)
}

// checkDirs checks that every folder is a recording folder or one of its
// parents, and is 0700.
func checkDirs(t *testing.T, dirs map[string]fs.FileMode, want treeWant) {
	t.Helper()
	allowed := map[string]bool{}
	for _, r := range append(slices.Clone(want.recs), want.emptyOK...) {
		for d := recDir(r); d != "."; d = filepath.Dir(d) {
			allowed[d] = true
		}
	}
	for d, mode := range dirs {
		if !allowed[d] {
			t.Errorf("%s/: unexpected folder", d)
		}
		if mode.Perm() != 0o700 {
			t.Errorf("%s/: mode %v, want 0700", d, mode.Perm())
		}
	}
}

// walk lists targetDir's files and folders (relative paths, without the
// root) with their modes. Temporary files are an error.
func walk(t *testing.T, target string) (files, dirs map[string]fs.FileMode) {
	t.Helper()
	files, dirs, _ = walkTemps(t, target, false)
	return files, dirs
}

// walkTemps is walk that, with tempsOK, lists temporary files apart (a
// process killed with SIGKILL cannot remove its own) instead of failing.
func walkTemps(t *testing.T, target string, tempsOK bool) (files, dirs map[string]fs.FileMode, temps []string) {
	t.Helper()
	files, dirs = map[string]fs.FileMode{}, map[string]fs.FileMode{}
	err := filepath.WalkDir(target, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(target, path)
		if rel == "." {
			return nil
		}
		if rel == metaDir && d.IsDir() { // rcbs's bookkeeping, not the archive (spec §6)
			return filepath.SkipDir
		}
		if strings.HasPrefix(d.Name(), tempPfx) {
			if !tempsOK {
				t.Errorf("%s: temporary file left behind", rel)
			}
			temps = append(temps, rel)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs[rel] = info.Mode()
		} else {
			files[rel] = info.Mode()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", target, err)
	}
	return files, dirs, temps
}

func stateChecker(want time.Time) func([]byte) string {
	line := strconv.FormatInt(want.UnixMilli(), 10) + "\n"
	return func(b []byte) string {
		if string(b) != line {
			return "content " + strconv.Quote(string(b)) + ", want " + strconv.Quote(line) + " (" + stamp(want) + ")"
		}
		return ""
	}
}

func jsonChecker(want []byte) func([]byte) string {
	return func(b []byte) string {
		got, err := decodeJSON(b)
		if err != nil {
			return "not JSON: " + err.Error()
		}
		exp, err := decodeJSON(want)
		if err != nil {
			return "the cloud's JSON does not decode: " + err.Error()
		}
		if !bytes.Contains(b, []byte("\n  \"")) {
			return "not indented"
		}
		if !reflect.DeepEqual(got, exp) {
			return "differs from the API's resource:\n got " + clip(string(b)) + "\nwant " + clip(string(want))
		}
		return ""
	}
}

// decodeJSON decodes with numbers kept as written, so a sequence number
// beyond float64 precision must round-trip exactly.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func mediaChecker(m cloudsim.Media) func([]byte) string {
	return func(b []byte) string {
		if int64(len(b)) != m.Size {
			return "size " + strconv.Itoa(len(b)) + ", want " + strconv.FormatInt(m.Size, 10)
		}
		if sha256.Sum256(b) != m.SHA256 {
			return "sha256 differs from the stored object's"
		}
		return ""
	}
}

// reencryptedChecker: a plaintext media file encrypted by rcbs is CMS
// (DER, a SEQUENCE) and larger than the plaintext; decrypt checks the rest.
func reencryptedChecker(m cloudsim.Media) func([]byte) string {
	return func(b []byte) string {
		if int64(len(b)) <= m.Size || b[0] != 0x30 {
			return "stored in plain text although encryptionCertificate is set"
		}
		return ""
	}
}

// diskBytes is what recs occupy on disk: media plus recording.json, the
// bytes a run that downloaded them reports.
func diskBytes(t *testing.T, target string, recs []cloudsim.Recording) int64 {
	t.Helper()
	var n int64
	for _, r := range recs {
		names := []string{"recording.json"}
		for _, m := range r.Media {
			names = append(names, m.MediaID+".bin")
		}
		for _, name := range names {
			fi, err := os.Stat(filepath.Join(target, recDir(r), name))
			if err != nil {
				t.Errorf("diskBytes: %v", err)
				continue
			}
			n += fi.Size()
		}
	}
	return n
}

// snapshot is a tree's files and folders with size, mode and mtime: two
// equal snapshots mean nothing was written.
func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, path+" "+info.Mode().String()+" "+strconv.FormatInt(info.Size(), 10)+" "+info.ModTime().UTC().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	slices.Sort(out)
	return out
}

// ids lists recordings' IDs.
func ids(recs []cloudsim.Recording) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// clip shortens a document for a failure message.
func clip(s string) string {
	const limit = 1500
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
