package backup

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/metadata"
)

// FuzzRecordingPath feeds arbitrary bytes as one recording resource of the
// API through what the engine does before it writes: metadata's lenient
// decoding, Validate (spec §6), and the path building of the recording's
// folder and its files, under several recordingFolderFormats. Whatever the
// bytes: no panic; a recording that fails to decode never validates; and
// a recording that validates gets a folder strictly inside targetDir
// whose last element is its id, and files (each mediaId + ".bin", and
// recording.json) directly in that folder, none of them named like a
// temporary file (the next run would delete it as a crash's leftover).
//
//	go test ./backup/ -run '^$' -fuzz FuzzRecordingPath -fuzztime 5m
func FuzzRecordingPath(f *testing.F) {
	for _, seed := range []string{
		`{"id":"01F62DGIBGD8369P7GC362LAES00000G","startTime":"2018-02-12T19:01:07.000+0000","mediaFiles":[{"mediaId":"01F6_2018-02-12_19-01-07-00000001.mp3","type":"audio/mp3","size":"123"}]}`,
		`{"id":"A","startTime":1518462067000,"mediaFiles":[{"mediaId":"m","size":5},{"mediaId":"n"}]}`,
		`{"id":"../../etc","startTime":1518462067000}`,
		`{"id":"/abs/path","startTime":1518462067000}`,
		`{"id":"a\\b","startTime":1518462067000}`,
		`{"id":"nul\u0000","startTime":1518462067000}`,
		`{"id":"ctl\u001b[2J","startTime":1518462067000}`,
		`{"id":".","startTime":1518462067000}`,
		`{"id":"..","startTime":1518462067000}`,
		`{"id":"ok","startTime":1518462067000,"mediaFiles":[{"mediaId":"../x"}]}`,
		`{"id":"ok","startTime":1518462067000,"mediaFiles":[{"mediaId":"x"},{"mediaId":"x"}]}`,
		`{"id":"ok","startTime":1518462067000,"mediaFiles":[{"mediaId":".rcbs-tmp-x.mp3"}]}`,
		`{"id":"ok","startTime":"-292277022657-01-27T08:29:52Z"}`,
		`{"id":"ok","startTime":253402300799999}`,
		`{"id":"ok","startTime":-62135596800000}`,
		`{"id":"C:","startTime":1518462067000}`,
		`{"id":"ok","startTime":1518462067000,"mediaFiles":[{"mediaId":"x","size":-1}]}`,
		`{"id":123,"startTime":1518462067000}`,
		`{"id":"` + strings.Repeat("L", 300) + `","startTime":1518462067000}`,
		`{"id":"ok","startTime":1518462067000,"mediaFiles":"x"}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed), uint8(0))
	}
	// Path building touches no disk: any absolute targetDir will do.
	root := filepath.Join(string(filepath.Separator)+"srv", "rcbs", "target")
	engines := fuzzEngines(f, root)
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		rec, err := metadata.DecodeRecording(data)
		if err != nil {
			if rec.Validate() == nil {
				t.Fatalf("DecodeRecording failed (%v) but Validate accepts the recording", err)
			}
			return
		}
		if validateRecording(rec) != nil {
			return
		}
		e := engines[int(format)%len(engines)]
		dir, err := e.recordingDir(rec)
		if err != nil {
			t.Fatalf("recording %q validates but its folder is refused: %v", rec.ID, err)
		}
		checkInside(t, root, dir)
		if filepath.Base(dir) != rec.ID {
			t.Fatalf("folder %q does not end in the id %q", dir, rec.ID)
		}
		names := []string{RecordingFile}
		for _, m := range rec.MediaFiles {
			names = append(names, m.MediaID+".bin")
		}
		for _, name := range names {
			p, err := within(dir, name)
			if err != nil {
				t.Fatalf("recording %q validates but its file %q is refused: %v", rec.ID, name, err)
			}
			if filepath.Dir(p) != dir || filepath.Base(p) != name {
				t.Fatalf("file %q lands at %q, not directly in %q", name, p, dir)
			}
			if strings.HasPrefix(name, TempPrefix) {
				t.Fatalf("file %q of recording %q is named like a temporary file: the next run deletes it as a crash's leftover", name, rec.ID)
			}
		}
	})
}

// fuzzEngines are engines on root, one per recordingFolderFormat, as
// Load makes them.
func fuzzEngines(f *testing.F, root string) []*engine {
	f.Helper()
	var out []*engine
	for _, format := range []string{"yyyy/MM/dd/HH", "yyyy/MM", "yyyy-MM-dd", "'rec'/yyyy/MM/dd/HH/mm", "yyyy/'..x'/MM"} {
		text := fmt.Sprintf("gwsUriPrefix=http://127.0.0.1:1/api/v2\ntargetDir=%s\nrecordingFolderFormat=%s\n", filepath.ToSlash(root), format)
		cfg, _, err := config.Parse(text, "fuzz.properties", nil)
		if err != nil {
			f.Fatalf("recordingFolderFormat %q: %v", format, err)
		}
		out = append(out, newEngine(cfg, Deps{}))
	}
	return out
}

// checkInside: p is strictly below root.
func checkInside(t *testing.T, root, p string) {
	t.Helper()
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		t.Fatalf("%q is not inside %q (rel %q, %v)", p, root, rel, err)
	}
	if p != filepath.Clean(p) {
		t.Fatalf("%q is not clean: a later Join could move it", p)
	}
}
