package prune

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/internal/atomicfile"
)

// SetHold puts the recordings ids under legal hold (hold=true: a .rcbs-hold
// file in each folder, saying since when) or releases them, one audit line
// each. It finds them by walking the tree; ids not found are an error
// naming them, after the others are done.
func SetHold(ctx context.Context, root string, ids []string, hold bool, audit Audit, report func(string)) error {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	found := map[string]bool{}
	err := archive.Walk(ctx, root, func(f archive.Folder) error {
		id := path.Base(f.Rel)
		if !want[id] || !f.Complete() {
			return nil
		}
		found[id] = true
		return setHold(ctx, filepath.Join(root, filepath.FromSlash(f.Rel)), id, f.Rel, hold, audit, report)
	})
	if err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("hold: no recording %s in the archive", strings.Join(slices.Compact(missing), ", "))
	}
	return nil
}

func setHold(ctx context.Context, dir, id, rel string, hold bool, audit Audit, report func(string)) error {
	mark := filepath.Join(dir, archive.HoldFile)
	action := "release"
	if hold {
		action = "hold"
		if _, err := os.Stat(mark); err == nil {
			report(fmt.Sprintf("hold: recording %s (%s) is already held", id, rel))
			return nil
		}
		if err := atomicfile.WriteFile(mark, []byte("held since "+time.Now().UTC().Format(time.RFC3339)+"\n"), atomicfile.FilePerm); err != nil {
			return err
		}
	} else if err := os.Remove(mark); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if audit != nil {
		if err := audit.Log(archive.AuditEvent{User: auditUser, Action: action, RecordingID: id}); err != nil {
			return err
		}
	}
	report(fmt.Sprintf("%s: recording %s (%s)", action, id, rel))
	return nil
}
