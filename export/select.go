package export

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// Filter picks recordings; a zero field matches everything. From is
// inclusive and To exclusive (as the window, spec §3); ANI matches as a
// prefix, Agent exactly one of the recording's agents, IDs any of them.
type Filter struct {
	From, To time.Time
	IDs      []string
	Agent    string
	ANI      string
}

// Match reports whether info passes the filter.
func (f Filter) Match(info archive.Info) bool {
	switch {
	case !f.From.IsZero() && info.Start.Before(f.From):
		return false
	case !f.To.IsZero() && !info.Start.Before(f.To):
		return false
	case len(f.IDs) > 0 && !slices.Contains(f.IDs, info.ID):
		return false
	case f.Agent != "" && !slices.Contains(info.Agents, f.Agent):
		return false
	case f.ANI != "" && !strings.HasPrefix(info.ANI, f.ANI):
		return false
	}
	return true
}

// Select walks each archive root in turn and calls fn with the folder of
// every complete recording that f matches, in chronological order within
// a root. A folder whose last name is not a wanted id is skipped without
// reading its recording.json (a recording's folder ends with its id,
// spec §6). A recording.json that does not parse stops the walk: an export
// that silently left a recording out would mislead its reader.
func Select(ctx context.Context, roots []string, f Filter, fn func(dir string, info archive.Info) error) error {
	for _, root := range roots {
		err := archive.Walk(ctx, root, func(folder archive.Folder) error {
			if !folder.Complete() || (len(f.IDs) > 0 && !slices.Contains(f.IDs, path.Base(folder.Rel))) {
				return nil
			}
			dir := filepath.Join(root, filepath.FromSlash(folder.Rel))
			info, err := archive.ReadInfo(dir)
			if err != nil {
				return err
			}
			if !f.Match(info) {
				return nil
			}
			return fn(dir, info)
		})
		if err != nil {
			return fmt.Errorf("archive %s: %w", root, err)
		}
	}
	return nil
}
