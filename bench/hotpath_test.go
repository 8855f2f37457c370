package bench_test

// Go benchmarks of rcbs's per-recording hot paths, through their public
// APIs: decoding the API's pages, building a recording's folder, and the
// instance hash. Run: go test -run '^$' -bench . -benchmem ./bench/

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rcbs/rcbs/bench"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/metadata"
	"github.com/rcbs/rcbs/sharding"
)

// recordingsJSON renders n recordings of workload a, as the API sends them.
func recordingsJSON(b *testing.B, n int) [][]byte {
	b.Helper()
	w, err := bench.Standard("a", false, 0)
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, n)
	for i := range out {
		if out[i], err = w.Recording(i).JSON(w.Bucket); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

func BenchmarkDecodeRecording(b *testing.B) {
	recs := recordingsJSON(b, 100)
	b.SetBytes(int64(len(recs[0])))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r, err := metadata.DecodeRecording(recs[i%len(recs)])
		if err != nil || len(r.MediaFiles) != 2 {
			b.Fatalf("decode: %v (%d media)", err, len(r.MediaFiles))
		}
	}
}

// BenchmarkListPage is one listing page of 100 recordings through
// metadata.Client.List from a loopback server: HTTP, page decoding and
// de-duplication, what rcbs pays per 100 recordings of workload c.
func BenchmarkListPage(b *testing.B) {
	w, _ := bench.Standard("a", false, 100)
	api := &bench.API{W: w}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	c, err := metadata.NewClient(metadata.Options{Prefix: srv.URL + bench.APIPrefix, HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	page := bytes.Join(recordingsJSON(b, 100), []byte(","))
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		n := 0
		err := c.List(ctx, w.Start, w.End(), func(metadata.Recording) error { n++; return nil })
		if err != nil || n != 100 {
			b.Fatalf("list: %v (%d recordings)", err, n)
		}
	}
}

func BenchmarkFolderFor(b *testing.B) {
	loaded, _, err := config.Parse("gwsUriPrefix=http://127.0.0.1:1/api/v2\n", "bench.properties",
		func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  *config.Config
	}{
		{"loaded", loaded},
		{"literal", &config.Config{RecordingFolderFormat: "yyyy/MM/dd/HH"}},
	}
	t0 := time.Date(2018, 2, 12, 19, 1, 7, 0, time.UTC)
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if got := tc.cfg.FolderFor(t0.Add(time.Duration(i) * time.Minute)); len(got) != len("2018/02/12/19") {
					b.Fatalf("FolderFor = %q", got)
				}
			}
		})
	}
}

func BenchmarkInstance(b *testing.B) {
	w, _ := bench.Standard("a", false, 0)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = w.Recording(i).ID
	}
	b.ReportAllocs()
	counts := make([]int, 7)
	for i := 0; b.Loop(); i++ {
		counts[sharding.Instance(ids[i%len(ids)], 7)]++
	}
}
