package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// synth describes the synthetic archive: recordings spread over a year,
// 2,000 agents, 20 tenants, ANIs from 50,000 callers, 1,000 DNIS.
type synth struct {
	n     int
	start time.Time
	span  time.Duration
}

func newSynth(n int) synth {
	return synth{n: n, start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), span: 365 * 24 * time.Hour}
}

func (s synth) rng(i int) *rand.Rand { return rand.New(rand.NewPCG(uint64(i), 99)) }

func (s synth) id(i int) string { return fmt.Sprintf("SYN%029d", i) }
func agent(k int) string        { return "agent" + strconv.Itoa(k) }
func ani(k int) string          { return fmt.Sprintf("+1%03d555%04d", 200+k%800, k%10000) }

// recording i: its row, sharing one of folders media folders on disk
// (load tests stream from those; the index does not care).
func (s synth) recording(i int, folders int) archive.Recording {
	r := s.rng(i)
	start := s.start.Add(time.Duration(float64(s.span) * float64(i) / float64(s.n)))
	dirs := []string{"Inbound", "Outbound", "Internal"}
	a1, a2 := r.IntN(2000), r.IntN(2000)
	folder := i % max(folders, 1)
	doc := fmt.Sprintf(`{"id":%q,"startTime":%q,"stopTime":%q,"callType":%q,"callerPhoneNumber":%q,
"dialedPhoneNumber":"+1800555%04d","tenant":"tenant%d","mediaFiles":[{"mediaId":"m","type":"audio/mp3","size":1}],
"eventHistory":[{"occurredAt":%q,"event":"joined","agentId":%q},{"occurredAt":%q,"event":"joined","agentId":%q}]}`,
		s.id(i), start.Format(time.RFC3339Nano), start.Add(time.Duration(30+r.IntN(600))*time.Second).Format(time.RFC3339Nano),
		dirs[r.IntN(3)], ani(r.IntN(50000)), r.IntN(1000), r.IntN(20),
		start.Format(time.RFC3339), agent(a1), start.Format(time.RFC3339), agent(a2))
	return archive.Recording{ID: s.id(i), Dir: fmt.Sprintf("media/%04d", folder), Start: start, JSON: []byte(doc),
		Files: []archive.File{{Name: "m.bin", Size: 1}}}
}

// buildIndex makes (or reuses) root's index of n synthetic recordings.
func buildIndex(ctx context.Context, root string, n, folders int) (*archive.Index, error) {
	marker := filepath.Join(root, archive.MetaDir, "synthetic-"+strconv.Itoa(n))
	x, _, _, err := archive.OpenIndex(ctx, root)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(marker); err == nil {
		return x, nil
	}
	s := newSynth(n)
	t0 := time.Now()
	const batch = 10000
	for i := 0; i < n; i += batch {
		recs := make([]archive.Recording, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			recs = append(recs, s.recording(j, folders))
		}
		if err := x.AddBatch(ctx, recs); err != nil {
			return nil, err
		}
	}
	if err := x.Analyze(ctx); err != nil {
		return nil, err
	}
	fmt.Printf("built an index of %d recordings in %s\n", n, time.Since(t0).Round(time.Second))
	return x, os.WriteFile(marker, nil, 0o600)
}
