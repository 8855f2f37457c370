//go:build unix

package e2e

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/rcbs/rcbs/cloudsim"
)

// Media whose type only resembles a kept one is never downloaded: the
// default mediaTypePattern matches the whole type (spec §3). The check is
// per type, so that one rejected type cannot hide another.
func TestNearMissMediaTypesNotDownloaded(t *testing.T) {
	t.Parallel()
	nearMisses := []string{"audio/mp3x", "xaudio/mp3", "audio/mp3;codec=x"}
	w := newWorld(t, cloudsim.Options{Recordings: 4, Seed: 18, Start: t0().Add(-day), End: t0(), ExtraMediaTypes: nearMisses})
	all := w.cloud.Recordings()
	kept := make([]cloudsim.Recording, len(all))
	keptMedia := 0
	for i, r := range all {
		for _, typ := range nearMisses {
			if !slices.ContainsFunc(r.Media, func(m cloudsim.Media) bool { return m.Type == typ }) {
				t.Fatalf("premise: recording %s has no %s media file", r.ID, typ)
			}
		}
		kept[i] = r
		kept[i].Media = slices.DeleteFunc(slices.Clone(r.Media), func(m cloudsim.Media) bool { return slices.Contains(nearMisses, m.Type) })
		keptMedia += len(kept[i].Media)
	}
	target := filepath.Join(t.TempDir(), "target")
	s := w.run(t, w.writeConfig(t, target), t0())
	checkCounts(t, s, counts{shards: 1, listed: len(all), mine: len(all), downloaded: len(all)})
	checkTree(t, target, treeWant{recs: kept, state: t0()})
	if got := w.cloud.Stats().S3Get; got != int64(keptMedia) {
		t.Errorf("%d S3 GETs, want %d: one per kept media file, none for the near misses", got, keptMedia)
	}
}
