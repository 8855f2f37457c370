package backup

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkRun is the download loop end to end against an in-process S3
// (gofakes3) and an in-memory listing: 200 recordings of two 32 KiB media
// each into a fresh targetDir per iteration, fsyncs included. It measures
// rcbs's own overhead per recording (listing, paths, SDK, atomic writes),
// not a network.
func BenchmarkRun(b *testing.B) {
	const recordings, mediaSize = 200, 32 << 10
	w := newWorld(b)
	for i := range recordings {
		id := fmt.Sprintf("BENCH%027d", i)
		w.addRecording(id, day(1+i%3, i%24),
			media{id: id + "_a.mp3", typ: "audio/mp3", data: blob(byte(i), mediaSize)},
			media{id: id + "_b.mp4", typ: "video/mp4", data: blob(byte(i+recordings), mediaSize)})
	}
	b.SetBytes(recordings * 2 * mediaSize)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.target = filepath.Join(b.TempDir(), fmt.Sprint("target", i))
		sum, err := w.run(context.Background(), w.deps())
		if err != nil || sum.Downloaded != recordings {
			b.Fatalf("run: downloaded %d of %d, %v", sum.Downloaded, recordings, err)
		}
	}
}
