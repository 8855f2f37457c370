package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// queryKinds is the search mix: what an auditor and the page ask.
func queryKinds(s synth) map[string]func(r *rand.Rand) archive.Query {
	day := func(r *rand.Rand) time.Time { return s.start.Add(time.Duration(r.IntN(365)) * 24 * time.Hour) }
	return map[string]func(r *rand.Rand) archive.Query{
		"newest page": func(r *rand.Rand) archive.Query { return archive.Query{} },
		"one day": func(r *rand.Rand) archive.Query {
			d := day(r)
			return archive.Query{From: d, To: d.Add(24 * time.Hour)}
		},
		"agent": func(r *rand.Rand) archive.Query { return archive.Query{Agent: agent(r.IntN(2000))} },
		"agent + week": func(r *rand.Rand) archive.Query {
			d := day(r)
			return archive.Query{Agent: agent(r.IntN(2000)), From: d, To: d.Add(7 * 24 * time.Hour)}
		},
		"ani prefix (broad)": func(r *rand.Rand) archive.Query { return archive.Query{ANI: ani(r.IntN(50000))[:5]} },
		"ani (one caller)":   func(r *rand.Rand) archive.Query { return archive.Query{ANI: ani(r.IntN(50000))} },
		"dnis prefix":        func(r *rand.Rand) archive.Query { return archive.Query{DNIS: fmt.Sprintf("+1800555%03d", r.IntN(100))} },
		"direction":          func(r *rand.Rand) archive.Query { return archive.Query{Direction: "inbound"} },
		"id":                 func(r *rand.Rand) archive.Query { return archive.Query{ID: s.id(r.IntN(s.n))} },
		"deep page (cursor)": func(r *rand.Rand) archive.Query {
			return archive.Query{After: &archive.Cursor{Start: day(r).UnixMilli(), ID: "~"}}
		},
		"scoped user": func(r *rand.Rand) archive.Query {
			return archive.Query{Access: &archive.Access{Agents: []string{agent(r.IntN(2000)), agent(r.IntN(2000))}, Tenants: []string{"tenant3"}}}
		},
		"scoped + ani": func(r *rand.Rand) archive.Query {
			return archive.Query{ANI: ani(r.IntN(50000))[:6], Access: &archive.Access{Agents: []string{agent(r.IntN(2000))}}}
		},
	}
}

func searchBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	n := fs.Int("n", 1_000_000, "recordings in the index")
	dir := fs.String("dir", "", "archive folder (reused when it already holds n recordings)")
	queries := fs.Int("queries", 5000, "searches to time")
	limit := fs.Int("limit", 100, "page size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("search: -dir is required")
	}
	x, err := buildIndex(ctx, *dir, *n, 256)
	if err != nil {
		return err
	}
	defer x.Close()
	s := newSynth(*n)
	kinds := queryKinds(s)
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	r := rand.New(rand.NewPCG(1, 1))
	per := map[string][]time.Duration{}
	var all []time.Duration
	for i := range *queries {
		name := names[i%len(names)]
		q := kinds[name](r)
		q.Limit = *limit
		t := time.Now()
		if _, err := x.Search(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		d := time.Since(t)
		per[name] = append(per[name], d)
		all = append(all, d)
	}
	fmt.Printf("| query | p50 | p95 | max |\n|---|---|---|---|\n")
	for _, k := range names {
		p50, p95, mx := pct(per[k])
		fmt.Printf("| %s | %s | %s | %s |\n", k, p50, p95, mx)
	}
	p50, p95, mx := pct(all)
	fmt.Printf("| **all %d searches** | %s | **%s** | %s |\n", len(all), p50, p95, mx)
	return nil
}

// pct is the 50th and 95th percentile and the maximum.
func pct(ds []time.Duration) (p50, p95, mx time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		return s[min(len(s)-1, int(p*float64(len(s))))].Round(10 * time.Microsecond)
	}
	return at(0.50), at(0.95), s[len(s)-1].Round(10 * time.Microsecond)
}
