package prune

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// BenchmarkPrune100k prunes 100,000 expired recordings (recording.json
// and one media file each, listed in day manifests) into the trash, with
// the .pruned lists, an audit line each and the emptied folders removed.
// The bar: ≤ 60 s. Each iteration builds a fresh archive first
// (not timed). RCBS_BENCH_PRUNE_N sets another count. Reported: cpu-s,
// the CPU time (user + system) of the prune.
//
//	go test ./prune -run '^$' -bench Prune100k -benchtime 1x
func BenchmarkPrune100k(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("RCBS_BENCH_PRUNE_N")); err == nil && v > 0 {
		n = v // a smaller run, for profiles
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range b.N {
		b.StopTimer()
		root := b.TempDir()
		writeExpired(b, root, n, now.AddDate(-3, 0, 0))
		m, err := archive.OpenManifests(root, nil)
		if err != nil {
			b.Fatal(err)
		}
		audit, err := archive.OpenAudit(filepath.Join(root, archive.MetaDir, archive.AuditFile), nil)
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := selfCPU()
		b.StartTimer()
		sum, err := Run(context.Background(), Options{Root: root, Now: now, RetentionDays: 365, Mode: "trash", TrashDays: 30,
			Manifests: m, Audit: audit})
		b.StopTimer()
		if err != nil || sum.Pruned != n {
			b.Fatalf("pruned %d of %d: %v", sum.Pruned, n, err)
		}
		// On a shared machine wall time follows the load; CPU time does not.
		b.ReportMetric((selfCPU() - cpu0).Seconds(), "cpu-s")
	}
}

// selfCPU is the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeExpired writes n recordings from start on, 12 an hour, with their
// day manifests.
func writeExpired(b testing.TB, root string, n int, start time.Time) {
	b.Helper()
	m, err := archive.OpenManifests(root, nil)
	if err != nil {
		b.Fatal(err)
	}
	media := []byte("media")
	for i := range n {
		t := start.Add(time.Duration(i) * 5 * time.Minute)
		id := fmt.Sprintf("P%07d", i)
		dir := t.Format("2006/01/02/15") + "/" + id
		abs := filepath.Join(root, filepath.FromSlash(dir))
		if err := os.MkdirAll(abs, 0o700); err != nil {
			b.Fatal(err)
		}
		js := fmt.Appendf(nil, `{"id":%q,"startTime":%q,"mediaFiles":[{"mediaId":"m","type":"audio/mp3","size":5}]}`, id, t.Format(time.RFC3339))
		rec := archive.Recording{ID: id, Dir: dir, Start: t}
		for name, data := range map[string][]byte{"m.bin": media, archive.RecordingFile: js} {
			if err := os.WriteFile(filepath.Join(abs, name), data, 0o600); err != nil {
				b.Fatal(err)
			}
			rec.Files = append(rec.Files, archive.File{Name: name, Size: int64(len(data)), SHA256: sha256.Sum256(data)})
		}
		if err := m.Add(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
}
