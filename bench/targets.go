package bench

import (
	"fmt"
	"slices"
	"strings"
)

// RSSLimitKB is target (c)'s ceiling: 64 MiB of peak RSS.
const RSSLimitKB = 64 * 1024

// Verdict is one target of issue 7 against what was measured.
type Verdict struct {
	Target, Measured string
	// State is "met", "missed", or "not measured" (a tool or workload
	// missing from the results, or every run of it failed).
	State string
}

// Targets judges issue 7's targets on the primary server's summaries
// (versitygw when present, else the first server seen). Workload names are
// scripts/bench's: a, b, c-<recordings>, d (the re-run of a).
func Targets(sums []Summary) []Verdict {
	server := primaryServer(sums)
	get := func(workload, tool string) (Summary, bool) {
		i := slices.IndexFunc(sums, func(s Summary) bool {
			return s.Server == server && s.Workload == workload && s.Tool == tool && s.OK > 0
		})
		if i < 0 {
			return Summary{}, false
		}
		return sums[i], true
	}
	var out []Verdict
	out = append(out, targetA(get)...)
	out = append(out, targetB(get))
	out = append(out, targetC(sums, server)...)
	out = append(out, targetD(get)...)
	return out
}

type lookup func(workload, tool string) (Summary, bool)

func primaryServer(sums []Summary) string {
	if slices.ContainsFunc(sums, func(s Summary) bool { return s.Server == "versitygw" }) {
		return "versitygw"
	}
	if len(sums) > 0 {
		return sums[0].Server
	}
	return ""
}

func verdict(target string, ok bool, measured string) Verdict {
	state := "missed"
	if ok {
		state = "met"
	}
	return Verdict{Target: target, Measured: measured, State: state}
}

func unmeasured(target, why string) Verdict {
	return Verdict{Target: target, Measured: why, State: "not measured"}
}

func targetA(get lookup) []Verdict {
	const t1, t2 = "(a) rcbs wall ≤ 1.0× s5cmd", "(a) rcbs ≥ 3× faster than aws CLI"
	r, ok := get("a", "rcbs")
	if !ok {
		return []Verdict{unmeasured(t1, "no successful rcbs run of a"), unmeasured(t2, "no successful rcbs run of a")}
	}
	var out []Verdict
	if s, ok := get("a", "s5cmd"); ok {
		out = append(out, verdict(t1, r.Wall <= s.Wall, fmt.Sprintf("%.2f× (%.2f s vs %.2f s)", r.Wall/s.Wall, r.Wall, s.Wall)))
	} else {
		out = append(out, unmeasured(t1, "no successful s5cmd run of a"))
	}
	if a, ok := get("a", "aws"); ok {
		out = append(out, verdict(t2, a.Wall >= 3*r.Wall, fmt.Sprintf("%.2f× faster (%.2f s vs %.2f s)", a.Wall/r.Wall, r.Wall, a.Wall)))
	} else {
		out = append(out, unmeasured(t2, "no successful aws run of a"))
	}
	return out
}

func targetB(get lookup) Verdict {
	const t = "(b) rcbs throughput ≥ s5cmd"
	r, ok1 := get("b", "rcbs")
	s, ok2 := get("b", "s5cmd")
	if !ok1 || !ok2 {
		return unmeasured(t, "needs successful rcbs and s5cmd runs of b")
	}
	return verdict(t, r.Throughput() >= s.Throughput(),
		fmt.Sprintf("%.1f MB/s vs %.1f MB/s", r.Throughput(), s.Throughput()))
}

// targetC checks every c-N workload measured: peak RSS (the worst run, not
// the median) must stay under the limit whatever N.
func targetC(sums []Summary, server string) []Verdict {
	var out []Verdict
	for _, s := range sums {
		if s.Server != server || s.Tool != "rcbs" || !strings.HasPrefix(s.Workload, "c-") {
			continue
		}
		t := fmt.Sprintf("(c) peak RSS ≤ 64 MiB at %s recordings, metadata only", strings.TrimPrefix(s.Workload, "c-"))
		if s.OK == 0 {
			out = append(out, unmeasured(t, "every run failed"))
			continue
		}
		out = append(out, verdict(t, s.RSSMaxKB <= RSSLimitKB,
			fmt.Sprintf("%.1f MiB (max of %d runs), %.2f s", float64(s.RSSMaxKB)/1024, s.OK, s.Wall)))
	}
	if len(out) == 0 {
		out = append(out, unmeasured("(c) peak RSS ≤ 64 MiB, metadata only", "workload c not run"))
	}
	return out
}

func targetD(get lookup) []Verdict {
	const t1, t2 = "(d) re-run: zero S3 GETs", "(d) re-run: ≤ 5% of (a)'s time"
	d, ok := get("d", "rcbs")
	if !ok {
		return []Verdict{unmeasured(t1, "no successful rcbs run of d"), unmeasured(t2, "no successful rcbs run of d")}
	}
	out := []Verdict{unmeasured(t1, "S3 requests not counted on this server")}
	if d.S3Get >= 0 {
		out[0] = verdict(t1, d.S3Get == 0,
			fmt.Sprintf("GET %d, HEAD %d, LIST %d, other %d (median run)", d.S3Get, d.S3Head, d.S3List, d.S3Other))
	}
	if a, ok := get("a", "rcbs"); ok {
		out = append(out, verdict(t2, d.Wall <= 0.05*a.Wall,
			fmt.Sprintf("%.1f%% (%.2f s vs %.2f s)", 100*d.Wall/a.Wall, d.Wall, a.Wall)))
	} else {
		out = append(out, unmeasured(t2, "no successful rcbs run of a"))
	}
	return out
}

func writeTargets(b *strings.Builder, vs []Verdict) {
	b.WriteString("### Targets (issue 7) against measured\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, v := range vs {
		fmt.Fprintf(b, "| %s | %s | %s |\n", v.Target, v.Measured, v.State)
	}
	b.WriteString("\n")
}
