package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Summary is the runs of one tool on one workload and server that did their
// job, reduced to medians and spreads. Failed runs are counted, not averaged.
type Summary struct {
	Server, Workload, Tool string
	Runs, OK               int
	Wall, WallMin, WallMax float64 // seconds: median, min, max
	CPU                    float64 // median user+sys seconds
	RSSKB, RSSMaxKB        int64   // median and max peak RSS
	Bytes                  int64   // bytes each run wrote (the expected count)
	S3Get, S3Head, S3List  int64   // medians; -1 unknown
	S3Other, APIReq        int64
	Load1                  float64 // median 1-minute load average before the runs
}

// Throughput is bytes per wall second of the median run, MB/s (10^6).
func (s Summary) Throughput() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return float64(s.Bytes) / s.Wall / 1e6
}

// Summarize groups results by server, workload and tool, in the order they
// first appear.
func Summarize(rs []Result) []Summary {
	type key struct{ server, workload, tool string }
	var order []key
	groups := map[key][]Result{}
	for _, r := range rs {
		k := key{r.Server, r.Workload, r.Tool}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	out := make([]Summary, 0, len(order))
	for _, k := range order {
		out = append(out, summarize(k.server, k.workload, k.tool, groups[k]))
	}
	return out
}

func summarize(server, workload, tool string, rs []Result) Summary {
	s := Summary{Server: server, Workload: workload, Tool: tool, Runs: len(rs)}
	var ok []Result
	for _, r := range rs {
		if r.OK() {
			ok = append(ok, r)
		}
	}
	s.OK = len(ok)
	if len(ok) == 0 {
		return s
	}
	walls := pluck(ok, func(r Result) float64 { return r.Wall })
	s.Wall, s.WallMin, s.WallMax = median(walls), slices.Min(walls), slices.Max(walls)
	s.CPU = median(pluck(ok, Result.CPU))
	rss := pluck(ok, func(r Result) float64 { return float64(r.RSSKB) })
	s.RSSKB, s.RSSMaxKB = int64(median(rss)), int64(slices.Max(rss))
	s.Bytes = ok[0].ExpBytes
	s.S3Get = medianInt(ok, func(r Result) int64 { return r.S3Get })
	s.S3Head = medianInt(ok, func(r Result) int64 { return r.S3Head })
	s.S3List = medianInt(ok, func(r Result) int64 { return r.S3List })
	s.S3Other = medianInt(ok, func(r Result) int64 { return r.S3Other })
	s.APIReq = medianInt(ok, func(r Result) int64 { return r.APIReq })
	s.Load1 = median(pluck(ok, func(r Result) float64 { return r.Load1 }))
	return s
}

func pluck(rs []Result, f func(Result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func medianInt(rs []Result, f func(Result) int64) int64 {
	return int64(median(pluck(rs, func(r Result) float64 { return float64(f(r)) })))
}

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// WriteReport writes the Markdown tables of BENCHMARKS.md: one
// per server and workload, then rcbs against each peer, then the targets.
// meta lines ("key: value") describe the machine and versions.
func WriteReport(w io.Writer, rs []Result, meta []string) error {
	sums := Summarize(rs)
	var b strings.Builder
	if len(meta) > 0 {
		b.WriteString("### Machine and versions\n\n")
		for _, m := range meta {
			fmt.Fprintf(&b, "- %s\n", m)
		}
		b.WriteString("\n")
	}
	for _, g := range groupsOf(sums) {
		writeTable(&b, g)
		writeRatios(&b, g)
	}
	writeTargets(&b, Targets(sums))
	_, err := io.WriteString(w, b.String())
	return err
}

// groupsOf splits summaries by server and workload, keeping their order.
func groupsOf(sums []Summary) [][]Summary {
	var out [][]Summary
	for _, s := range sums {
		i := slices.IndexFunc(out, func(g []Summary) bool { return g[0].Server == s.Server && g[0].Workload == s.Workload })
		if i < 0 {
			out = append(out, nil)
			i = len(out) - 1
		}
		out[i] = append(out[i], s)
	}
	return out
}

func writeTable(b *strings.Builder, g []Summary) {
	fmt.Fprintf(b, "### Workload %s (%s)\n\n", g[0].Workload, g[0].Server)
	b.WriteString("| tool | runs ok | wall s, median (min–max) | CPU s | peak RSS MiB, median (max) | MB/s | S3 GET / HEAD / LIST / other | API requests |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, s := range g {
		if s.OK == 0 {
			fmt.Fprintf(b, "| %s | 0/%d | failed | | | | | |\n", s.Tool, s.Runs)
			continue
		}
		fmt.Fprintf(b, "| %s | %d/%d | %.2f (%.2f–%.2f) | %.2f | %.1f (%.1f) | %s | %s / %s / %s / %s | %s |\n",
			s.Tool, s.OK, s.Runs, s.Wall, s.WallMin, s.WallMax, s.CPU,
			float64(s.RSSKB)/1024, float64(s.RSSMaxKB)/1024, throughput(s),
			count(s.S3Get), count(s.S3Head), count(s.S3List), count(s.S3Other), count(s.APIReq))
	}
	b.WriteString("\n")
}

// throughput is "–" when nothing was fetched (metadata only, or a re-run
// that found everything present and made no GET).
func throughput(s Summary) string {
	if s.Bytes == 0 || s.S3Get == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", s.Throughput())
}

func count(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// writeRatios puts rcbs beside each peer: below 1 means rcbs used less.
func writeRatios(b *strings.Builder, g []Summary) {
	i := slices.IndexFunc(g, func(s Summary) bool { return s.Tool == "rcbs" })
	if i < 0 || g[i].OK == 0 || len(g) < 2 {
		return
	}
	r := g[i]
	b.WriteString("| rcbs ÷ peer (medians; < 1 = rcbs better) | wall | CPU | peak RSS |\n|---|---|---|---|\n")
	for _, p := range g {
		if p.Tool == "rcbs" || p.OK == 0 {
			continue
		}
		fmt.Fprintf(b, "| rcbs ÷ %s | %s | %s | %s |\n", p.Tool,
			ratio(r.Wall, p.Wall), ratio(r.CPU, p.CPU), ratio(float64(r.RSSKB), float64(p.RSSKB)))
	}
	b.WriteString("\n")
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
