package verify

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// BenchmarkVerify10k verifies an archive of 10,000 recordings (one media
// file each, RCBS_BENCH_MEDIA_KB KiB, default 64, plus recording.json, all
// listed in day manifests) and, after the loop, times sha256sum over the
// same files: the bar is verify ≥ 1.5× sha256sum's throughput on 2
// cores. Both read from the page cache (each is run once before it is
// timed). Reported: MB/s (verify), sha256sum-MB/s, x-sha256sum (the
// ratio), and peak-heap-MB (verify's heap high-water mark, flat whatever
// the file size).
//
//	go test ./verify -run '^$' -bench Verify10k -benchtime 3x
func BenchmarkVerify10k(b *testing.B) {
	kb := 64
	if v, err := strconv.Atoi(os.Getenv("RCBS_BENCH_MEDIA_KB")); err == nil && v > 0 {
		kb = v
	}
	root := b.TempDir()
	files, total := writeBenchArchive(b, root, 10_000, kb<<10)
	opts := Options{Root: root, Report: func(line string) { b.Fatalf("problem in a clean archive: %s", line) }}
	if _, err := Run(context.Background(), opts); err != nil { // warm the page cache
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.SetBytes(total)
	cpu0 := selfCPU()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		res, err := Run(context.Background(), opts)
		if err != nil || res.Files != len(files) || res.Problems() != 0 {
			b.Fatalf("verify: %+v, %v", res, err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	verifyCPU := (selfCPU() - cpu0) / time.Duration(b.N)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	verifyMBs := float64(total) * float64(b.N) / elapsed.Seconds() / 1e6
	sumMBs, sumCPU := sha256sumThroughput(b, files, total)
	b.ReportMetric(sumMBs, "sha256sum-MB/s")
	b.ReportMetric(verifyMBs/sumMBs, "x-sha256sum")
	// On a shared machine wall times follow the load; CPU seconds do not.
	// With both cores, verify's wall time on an idle machine is about its
	// CPU time / 2; sha256sum's is its CPU time.
	b.ReportMetric(verifyCPU.Seconds(), "verify-cpu-s")
	b.ReportMetric(sumCPU.Seconds(), "sha256sum-cpu-s")
	b.ReportMetric(float64(after.HeapSys)/1e6, "heap-sys-MB")
}

// selfCPU is the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sha256sumThroughput runs sha256sum over files once to warm, once timed;
// it returns MB/s and the CPU time the timed run used.
func sha256sumThroughput(b *testing.B, files []string, total int64) (float64, time.Duration) {
	b.Helper()
	if _, err := exec.LookPath("sha256sum"); err != nil {
		b.Skip("sha256sum not on PATH")
	}
	run := func() (wall, cpu time.Duration) {
		start := time.Now()
		for i := 0; i < len(files); i += 2000 { // argument lists of 2,000 files, one process at a time
			cmd := exec.Command("sha256sum", files[i:min(i+2000, len(files))]...)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("sha256sum: %v: %.200s", err, out)
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		return time.Since(start), cpu
	}
	run()
	wall, cpu := run()
	return float64(total) / wall.Seconds() / 1e6, cpu
}

// writeBenchArchive writes n recordings of one media file of size bytes
// each, over n/100 days, with their manifests; it returns every file's
// path and the bytes in all.
func writeBenchArchive(b testing.TB, root string, n, size int) (files []string, total int64) {
	b.Helper()
	m, err := archive.OpenManifests(root, nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	media := make([]byte, size)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		start := base.Add(time.Duration(i) * 15 * time.Minute)
		id := fmt.Sprintf("BENCH%06d", i)
		dir := start.Format("2006/01/02/15") + "/" + id
		rng.Read(media)
		js := fmt.Appendf(nil, `{"id":%q,"startTime":%q,"mediaFiles":[{"mediaId":"%s_1","type":"audio/mp3","size":%d}]}`, id, start.Format(time.RFC3339), id, size)
		rec := archive.Recording{ID: id, Dir: dir, Start: start}
		for _, f := range []struct {
			name string
			data []byte
		}{{id + "_1.bin", media}, {archive.RecordingFile, js}} { // media first: files[2k] is recording k's media
			name, data := f.name, f.data
			path := filepath.Join(root, filepath.FromSlash(dir), name)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				b.Fatal(err)
			}
			rec.Files = append(rec.Files, archive.File{Name: name, Size: int64(len(data)), SHA256: sha256.Sum256(data)})
			files = append(files, path)
			total += int64(len(data))
		}
		if err := m.Add(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
	return files, total
}
