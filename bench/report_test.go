package bench

import (
	"fmt"
	"strings"
	"testing"
)

// row builds a results.tsv line; ok runs write exactly what was expected.
func row(server, workload, tool string, run int, wall float64, rssKB int64, ok bool, get int64) string {
	files, bytes := int64(10), int64(1_000_000)
	exitCode := 0
	if !ok {
		exitCode = 1
	}
	return fmt.Sprintf("%s\t%s\t%s\t%d\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t0\t1\t0\t%d\t0.50",
		server, workload, tool, run, wall, wall/2, wall/4, rssKB, exitCode, files, bytes, files, bytes, get, 3)
}

func parse(t *testing.T, lines ...string) []Result {
	t.Helper()
	rs, err := ParseResults(strings.NewReader(ResultHeader + "\n# comment\n\n" + strings.Join(lines, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestParseResultsErrors(t *testing.T) {
	tests := map[string]string{
		"bad header":   "server\ttool\n",
		"few columns":  ResultHeader + "\nv\ta\trcbs\n",
		"not a number": ResultHeader + "\n" + strings.Replace(row("v", "a", "rcbs", 1, 1, 1, true, 0), "1.00", "fast", 1) + "\n",
	}
	for name, in := range tests {
		if _, err := ParseResults(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSummarizeMedianSpreadAndFailures(t *testing.T) {
	rs := parse(t,
		row("versitygw", "a", "rcbs", 1, 3, 30000, true, 10),
		row("versitygw", "a", "rcbs", 2, 1, 50000, true, 10),
		row("versitygw", "a", "rcbs", 3, 0.1, 1, false, 10), // failed: must not pull the median down
		row("versitygw", "a", "rcbs", 4, 2, 40000, true, 10),
	)
	rs[1].Files-- // also wrong on disk: left fewer files than expected
	sums := Summarize(rs)
	if len(sums) != 1 {
		t.Fatalf("%d groups, want 1", len(sums))
	}
	s := sums[0]
	if s.Runs != 4 || s.OK != 2 || s.Wall != 2.5 || s.WallMin != 2 || s.WallMax != 3 || s.RSSMaxKB != 40000 {
		t.Errorf("summary %+v: want 2 of 4 ok, median 2.5 s (2–3), max RSS 40000", s)
	}
	if got, want := s.Throughput(), 1_000_000/2.5/1e6; got != want {
		t.Errorf("throughput %v, want %v", got, want)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{5}, 5}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTargets(t *testing.T) {
	rs := parse(t,
		row("versitygw", "a", "rcbs", 1, 2, 30000, true, 4000),
		row("versitygw", "a", "s5cmd", 1, 1.6, 90000, true, 4000),
		row("versitygw", "a", "aws", 1, 9, 90000, true, 4000),
		row("versitygw", "b", "rcbs", 1, 4, 30000, true, 20),
		row("versitygw", "b", "s5cmd", 1, 5, 30000, true, 20),
		row("versitygw", "c-1000", "rcbs", 1, 1, 20000, true, 0),
		row("versitygw", "c-100000", "rcbs", 1, 9, 70000, true, 0),
		row("versitygw", "d", "rcbs", 1, 0.05, 20000, true, 0),
		row("minio", "a", "rcbs", 1, 0.1, 1, true, -1), // not the primary server: ignored
	)
	got := map[string]string{}
	for _, v := range Targets(Summarize(rs)) {
		got[v.Target] = v.State
	}
	want := map[string]string{
		"(a) rcbs wall ≤ 1.0× s5cmd":                                "missed", // 2 s vs 1.6 s
		"(a) rcbs ≥ 3× faster than aws CLI":                         "met",    // 4.5×
		"(b) rcbs throughput ≥ s5cmd":                               "met",
		"(c) peak RSS ≤ 64 MiB at 1000 recordings, metadata only":   "met",
		"(c) peak RSS ≤ 64 MiB at 100000 recordings, metadata only": "missed",
		"(d) re-run: zero S3 GETs":                                  "met",
		"(d) re-run: ≤ 5% of (a)'s time":                            "met", // 2.5%
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verdicts\n got %v\nwant %v", got, want)
	}
}

func TestTargetsNotMeasured(t *testing.T) {
	rs := parse(t, row("versitygw", "a", "rcbs", 1, 2, 30000, false, 0))
	for _, v := range Targets(Summarize(rs)) {
		if v.State != "not measured" {
			t.Errorf("%s: %s (%s), want not measured: the only run failed", v.Target, v.State, v.Measured)
		}
	}
}

func TestWriteReport(t *testing.T) {
	rs := parse(t,
		row("versitygw", "a", "rcbs", 1, 2, 30720, true, 4000),
		row("versitygw", "a", "s5cmd", 1, 4, 61440, true, 4000),
		row("versitygw", "a", "rclone", 1, 1, 1, false, 0),
	)
	var b strings.Builder
	if err := WriteReport(&b, rs, []string{"cpu: test"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"- cpu: test",
		"### Workload a (versitygw)",
		"| rcbs | 1/1 | 2.00 (2.00–2.00) | 1.50 | 30.0 (30.0) | 0.5 | 4000 / 0 / 1 / 0 | 3 |",
		"| rclone | 0/1 | failed |",
		"| rcbs ÷ s5cmd | 0.50× | 0.50× | 0.50× |",
		"| (a) rcbs wall ≤ 1.0× s5cmd | 0.50× (2.00 s vs 4.00 s) | met |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	var d strings.Builder
	if err := WriteReport(&d, parse(t, row("versitygw", "d", "rcbs", 1, 0.1, 1024, true, 0)), nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.String(), "| rcbs | 1/1 | 0.10 (0.10–0.10) | 0.08 | 1.0 (1.0) | – | 0 / 0 / 1 / 0 | 3 |") {
		t.Errorf("a run without GETs shows a throughput:\n%s", d.String())
	}
	if strings.Contains(out, "rcbs ÷ rclone") {
		t.Error("report compares against a tool whose runs all failed")
	}
}
