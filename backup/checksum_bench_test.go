package backup

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkRunLarge is workload b's shape in little: 2 media of 64 MiB,
// fetched in ranged parts of 8 MiB (4 at a time) from an in-process S3,
// fsyncs included. Beside BenchmarkRun (many small files) it shows what
// hashing every byte (sha256 for the manifest, MD5 against gofakes3's
// ETag) costs per byte.
func BenchmarkRunLarge(b *testing.B) {
	const files, size = 2, 64 << 20
	w := newWorld(b)
	for i := range files {
		id := fmt.Sprintf("LARGE%027d", i)
		w.addRecording(id, day(1, i), media{id: id + ".mp4", typ: "video/mp4", data: blob(byte(i), size)})
	}
	b.SetBytes(files * size)
	for i := 0; b.Loop(); i++ {
		w.target = filepath.Join(b.TempDir(), fmt.Sprint("target", i))
		sum, err := w.run(context.Background(), w.deps())
		if err != nil || sum.Downloaded != files {
			b.Fatalf("run: downloaded %d of %d, %v", sum.Downloaded, files, err)
		}
	}
}

// BenchmarkHash is the raw cost of each digest a download may compute.
func BenchmarkHash(b *testing.B) {
	buf := blob(1, 1<<20)
	for _, alg := range []string{"SHA256", "MD5", "SHA1", "CRC32", "CRC32C", "CRC64NVME"} {
		b.Run(alg, func(b *testing.B) {
			h := newHash(alg)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h.Write(buf)
			}
		})
	}
}
