package deploy

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// specMetrics are the six series of spec §9 that metricsFile holds.
var specMetrics = []string{
	"rcbs_last_run_timestamp_seconds",
	"rcbs_last_success_timestamp_seconds",
	"rcbs_recordings_downloaded",
	"rcbs_recordings_failed",
	"rcbs_bytes_downloaded",
	"rcbs_run_duration_seconds",
}

// ruleFile is a Prometheus rule file, as far as this folder uses it.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Pieces of PromQL that name no metric, removed before the metric names are
// picked out.
var (
	promStrings   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promTokens    = regexp.MustCompile(`[0-9][0-9A-Za-z_.]*|([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?`)
	promKeywords  = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "Inf", "NaN", "atan2"}
	promDurations = regexp.MustCompile(`^(?:\d+[smhdwy])+$|^\d+ms$`)
)

// promMetrics returns the metric names a PromQL expression selects, in order
// of appearance: identifiers that are not functions, keywords, label names
// or numbers.
func promMetrics(expr string) []string {
	e := promStrings.ReplaceAllString(expr, " ")
	e = promMatchers.ReplaceAllString(e, " ")
	e = promRanges.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var names []string
	for _, m := range promTokens.FindAllStringSubmatch(e, -1) {
		if m[1] == "" || m[2] != "" || slices.Contains(promKeywords, m[1]) {
			continue
		}
		names = append(names, m[1])
	}
	return names
}

func TestPromMetrics(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"time() - rcbs_last_success_timestamp_seconds > 13 * 3600", []string{"rcbs_last_success_timestamp_seconds"}},
		{`absent(rcbs_last_run_timestamp_seconds{job="node"})`, []string{"rcbs_last_run_timestamp_seconds"}},
		{`sum by (instance, job) (rate(foo_total{a=~"x|y"}[5m] offset 1h)) > bool 0`, []string{"foo_total"}},
		{`a and on(instance) b unless ignoring (x) group_left(y) c`, []string{"a", "b", "c"}},
		{`label_replace(up, "dst", "$1", "src", "(.*)") > 1e3`, []string{"up"}},
		{"max_over_time(x[1h:5m]) > Inf", []string{"x"}},
	}
	for _, tt := range tests {
		if got := promMetrics(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// promDuration parses a Prometheus duration such as 5m, 1h30m, 0s, 13h.
func promDuration(s string) (time.Duration, bool) {
	if !promDurations.MatchString(s) {
		return 0, false
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if strings.HasSuffix(s, "ms") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "ms"))
		return time.Duration(n) * time.Millisecond, err == nil
	}
	var d time.Duration
	for _, part := range regexp.MustCompile(`\d+[smhdwy]`).FindAllString(s, -1) {
		n, err := strconv.Atoi(part[:len(part)-1])
		if err != nil {
			return 0, false
		}
		d += time.Duration(n) * units[part[len(part)-1]]
	}
	return d, true
}

func TestPromDuration(t *testing.T) {
	tests := []struct {
		s    string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true},
		{"0m", 0, true},
		{"1h30m", 90 * time.Minute, true},
		{"13h", 13 * time.Hour, true},
		{"500ms", 500 * time.Millisecond, true},
		{"5 m", 0, false},
		{"5", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		if got, ok := promDuration(tt.s); got != tt.want || ok != tt.ok {
			t.Errorf("%q: got %v, %v; want %v, %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
}

// TestAlertRules checks the rule file parses as Prometheus reads it, that
// every rule selects only the series of spec §9, and that the two alerts
// the brief asks for are there.
func TestAlertRules(t *testing.T) {
	const name = "monitoring/rcbs.rules.yml"
	var rf ruleFile
	if err := decodeStrict([]byte(readFile(t, name)), &rf); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var all []rule
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("%s: group %q has no name or no rules", name, g.Name)
		}
		all = append(all, g.Rules...)
	}
	used := map[string]bool{}
	for _, r := range all {
		checkRule(t, name, r)
		for _, m := range promMetrics(r.Expr) {
			used[m] = true
		}
	}
	for _, m := range []string{"rcbs_last_success_timestamp_seconds", "rcbs_recordings_failed"} {
		if !used[m] {
			t.Errorf("%s: no rule on %s", name, m)
		}
	}
}

// checkRule checks one alerting rule: named, with an expression on spec §9
// metrics only, a valid `for`, a severity and a summary.
func checkRule(t *testing.T, file string, r rule) {
	t.Helper()
	if r.Alert == "" || r.Record != "" {
		t.Errorf("%s: rule %q: want an alerting rule (alert:, no record:)", file, r.Alert+r.Record)
	}
	metrics := promMetrics(r.Expr)
	if len(metrics) == 0 {
		t.Errorf("%s: %s: expr %q selects no metric", file, r.Alert, r.Expr)
	}
	for _, m := range metrics {
		if !slices.Contains(specMetrics, m) {
			t.Errorf("%s: %s: expr uses %q, which rcbs does not write (spec §9: %v)", file, r.Alert, m, specMetrics)
		}
	}
	if _, ok := promDuration(r.For); r.For != "" && !ok {
		t.Errorf("%s: %s: for: %q is not a Prometheus duration", file, r.Alert, r.For)
	}
	if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
		t.Errorf("%s: %s: want a severity label and a summary annotation", file, r.Alert)
	}
}

// TestNoSuccessThreshold checks the no-success alert waits 13 hours: more
// than two 6-hour intervals, so one missed run does not page anyone.
func TestNoSuccessThreshold(t *testing.T) {
	var rf ruleFile
	if err := decodeStrict([]byte(readFile(t, "monitoring/rcbs.rules.yml")), &rf); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^time\(\)\s*-\s*rcbs_last_success_timestamp_seconds\s*>\s*(\d+)\s*\*\s*3600$`)
	found := false
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if m := re.FindStringSubmatch(strings.TrimSpace(r.Expr)); m != nil {
				found = true
				if m[1] != "13" {
					t.Errorf("%s fires after %s hours without success, want 13", r.Alert, m[1])
				}
			}
		}
	}
	if !found {
		t.Error("no rule of the form time() - rcbs_last_success_timestamp_seconds > 13 * 3600")
	}
}
