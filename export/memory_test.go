package export

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/internal/archivetest"
)

// A 1 GiB media file streams through: the bytes allocated while it is
// written are a small constant, not a share of its size.
func TestExportMemoryLargeMedia(t *testing.T) {
	const size = 1 << 30
	root := t.TempDir()
	r := archivetest.Recording{ID: "BIG", Start: start, Duration: time.Hour, Direction: "Inbound"}
	dir := archivetest.Write(t, root, r, "")
	// A sparse file: 1 GiB to read without 1 GiB of disk.
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	doc := fmt.Sprintf(`{"id":"BIG","startTime":"2018-02-12T19:01:07Z","mediaFiles":[{"mediaId":"big","type":"audio/mp3","size":%d}]}`, size)
	writeFile(t, filepath.Join(dir, archive.RecordingFile), []byte(doc))

	counted := &countWriter{}
	zw := NewWriter(counted, Options{})
	before := memStats()
	added, err := zw.Add(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	allocated := memStats().TotalAlloc - before.TotalAlloc
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if added.Bytes < size || counted.n < size {
		t.Fatalf("premise: %d bytes added, %d written, want ≥ %d", added.Bytes, counted.n, size)
	}
	t.Logf("1 GiB media: %d KiB allocated while writing it", allocated>>10)
	if allocated > 8<<20 {
		t.Errorf("writing a 1 GiB media file allocated %d MiB; the copy must stream", allocated>>20)
	}
}

// 10,000 recordings: the heap grows only by the zip's central directory
// (a few hundred bytes per entry); SHA256SUMS spills to disk.
func TestExportMemoryManyRecordings(t *testing.T) {
	const n, early = 10000, 1000
	root := t.TempDir()
	for i := range n {
		writeTiny(t, root, i)
	}
	zw := NewWriter(io.Discard, Options{TempDir: t.TempDir()})
	defer zw.Abort()
	var atEarly runtime.MemStats
	i := 0
	err := Select(context.Background(), []string{root}, Filter{}, func(dir string, _ archive.Info) error {
		if _, err := zw.Add(context.Background(), dir); err != nil {
			return err
		}
		if i++; i == early {
			atEarly = memStats()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	atEnd := memStats()
	if i != n || zw.sums.file == nil {
		t.Fatalf("premise: %d recordings added (want %d), SHA256SUMS spilled: %v", i, n, zw.sums.file != nil)
	}
	perRecording := (int64(atEnd.HeapAlloc) - int64(atEarly.HeapAlloc)) / (n - early)
	t.Logf("heap %d KiB after %d recordings, %d KiB after %d: %d bytes per recording",
		atEarly.HeapAlloc>>10, early, atEnd.HeapAlloc>>10, n, perRecording)
	if perRecording > 2048 {
		t.Errorf("heap grows %d bytes per recording; want only the central directory (< 2 KiB)", perRecording)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeTiny writes recording i with one 144-byte media file, without
// openssl (10,000 of them).
func writeTiny(t *testing.T, root string, i int) {
	id := fmt.Sprintf("R%06d", i)
	at := start.Add(time.Duration(i) * time.Minute)
	dir := filepath.Join(root, at.Format("2006/01/02/15"), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, id+".mp3.bin"), archivetest.MP3(time.Millisecond, byte(i)))
	doc := fmt.Sprintf(`{"id":%q,"startTime":%q,"stopTime":%q,"callType":"Inbound","callerPhoneNumber":"+4930%d",
 "mediaFiles":[{"mediaId":"%s.mp3","type":"audio/mp3","size":144}],
 "eventHistory":[{"occurredAt":%q,"event":"joined","agentId":"agent%d"}]}`,
		id, at.Format(time.RFC3339), at.Add(time.Minute).Format(time.RFC3339), i, id, at.Format(time.RFC3339), i%50)
	writeFile(t, filepath.Join(dir, archive.RecordingFile), []byte(doc))
}

func memStats() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
