package backup

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/metadata"
)

// BenchmarkFirstRunAnyAge is an admin's first run with maxAge=0 (every
// recording since 1970, some 19,800 one-day shards) against the simulated
// cloud over HTTP on 127.0.0.1, holding 20 recordings in the two days
// before now: the cost is the empty decades' listing. It reports the
// recordings API requests per run (settings, listings, probes); see
// BENCHMARKS.md for the figures before and after the wide listing.
//
//	go test ./backup -run '^$' -bench FirstRunAnyAge -benchtime 3x
func BenchmarkFirstRunAnyAge(b *testing.B) {
	now := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	cloud, err := cloudsim.New(cloudsim.Options{Recordings: 20, Seed: 1, Start: now.Add(-48 * time.Hour), End: now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cloud.Close)
	if err := cloud.Start(); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range cloud.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	var requests int64
	for i := 0; b.Loop(); i++ {
		target := filepath.Join(b.TempDir(), fmt.Sprint("target", i))
		var text strings.Builder
		for line := range strings.Lines(cloud.Properties(target)) {
			if !strings.HasPrefix(line, "maxDate=") && !strings.HasPrefix(line, "minDate=") {
				text.WriteString(line)
			}
		}
		text.WriteString("maxAge=0\n")
		cfg, _, err := config.Parse(text.String(), "bench.properties", func(k string) string { return env[k] })
		if err != nil {
			b.Fatal(err)
		}
		client, err := metadata.NewClient(metadata.Options{Prefix: cfg.GWSURIPrefix, Username: cfg.GWSUsername, Password: cfg.GWSPassword.Reveal()})
		if err != nil {
			b.Fatal(err)
		}
		before := cloud.Stats()
		sum, err := Run(context.Background(), cfg, Deps{Lister: client, At: now})
		if err != nil || sum.Downloaded != 20 {
			b.Fatalf("run: downloaded %d of 20, %v", sum.Downloaded, err)
		}
		after := cloud.Stats()
		requests += after.Settings + after.Listings - before.Settings - before.Listings
	}
	b.ReportMetric(float64(requests)/float64(b.N), "api-requests/op")
}
