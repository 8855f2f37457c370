package backup

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rcbs/rcbs/metadata"
)

// errInvalid marks a recording that can never succeed (a bad id): it counts
// as failed but does not hold the state file back (spec §6).
var errInvalid = errors.New("invalid")

// validateRecording applies spec §6 to every name the recording would write
// (metadata's Validate: id, mediaIds, duplicates, decoding errors).
// A mediaId that starts like a temporary file is refused too: the next
// run's cleanup would delete it as a crash's leftover.
func validateRecording(rec metadata.Recording) error {
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errInvalid, err)
	}
	for _, m := range rec.MediaFiles {
		if strings.HasPrefix(m.MediaID, TempPrefix) {
			return fmt.Errorf("%w: recording %s: mediaId %q starts with %s, the prefix of rcbs's temporary files", errInvalid, rec.ID, m.MediaID, TempPrefix)
		}
	}
	return nil
}

// within joins elems under root and refuses a result outside root: the
// last guard that nothing is ever written outside targetDir, whatever a
// folder format or an id turns out to contain.
func within(root string, elems ...string) (string, error) {
	p := filepath.Join(append([]string{root}, elems...)...)
	rel, err := filepath.Rel(filepath.Clean(root), p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: path %s leaves %s", errInvalid, filepath.Join(elems...), root)
	}
	return p, nil
}
