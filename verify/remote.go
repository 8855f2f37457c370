package verify

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/metadata"
)

// Lister lists the recordings API over a range; *metadata.Client is one.
type Lister interface {
	List(ctx context.Context, start, end time.Time, fn func(metadata.Recording) error) error
}

// Gap is a recording the cloud has and the archive lacks.
type Gap struct {
	ID    string
	Start time.Time
	Dir   string // where the backup would put it, relative to the root
}

// Remote describes the archive's side of a gap report.
type Remote struct {
	Root   string
	Mine   func(id string) bool         // this instance's recordings (spec §5)
	Folder func(start time.Time) string // recordingFolderFormat applied to a start
	Report func(line string)
}

// Gaps lists [from, to) from the API and reports, one line each, the
// recordings of this instance whose recording.json is not where the backup
// puts it (a recording moved away counts as lacking, as it does for a run).
func Gaps(ctx context.Context, l Lister, from, to time.Time, r Remote) ([]Gap, error) {
	var gaps []Gap
	err := l.List(ctx, from, to, func(rec metadata.Recording) error {
		if !r.Mine(rec.ID) {
			return nil
		}
		if err := rec.Validate(); err != nil {
			r.Report(fmt.Sprintf("gap: recording %s is in the cloud but cannot be backed up: %v", rec.ID, err))
			gaps = append(gaps, Gap{ID: rec.ID, Start: rec.StartTime})
			return nil
		}
		dir := r.Folder(rec.StartTime) + "/" + rec.ID
		if exists(filepath.Join(r.Root, filepath.FromSlash(dir), archive.RecordingFile)) {
			return nil
		}
		r.Report(fmt.Sprintf("gap: recording %s (start %s) is in the cloud but not in the archive (%s)",
			rec.ID, rec.StartTime.UTC().Format(time.RFC3339Nano), dir))
		gaps = append(gaps, Gap{ID: rec.ID, Start: rec.StartTime, Dir: dir})
		return nil
	})
	if err != nil {
		return gaps, fmt.Errorf("list the recordings API %s..%s: %w", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
	}
	return gaps, nil
}
