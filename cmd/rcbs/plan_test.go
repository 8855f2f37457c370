package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// update rewrites golden files under testdata: go test ./cmd/rcbs -run Plan -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// runCapture runs rcbs in-process with args and the environment kv
// (alternating names and values), returning the exit code and output.
func runCapture(t *testing.T, args []string, kv ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}}
	code = runMain(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestPlanGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
		env    []string
	}{
		{"plan-manual.json", []string{"plan", "-config", "testdata/plan-manual.properties", "-json", "-now", "2018-01-09T00:00:00Z"}, nil},
		{"plan-recovered.json", []string{"plan", "--config", "testdata/plan-recovered.properties", "--json", "--now", "2018-01-09T00:00:00Z"}, nil},
		{"plan-instances.json", []string{"plan", "-config=testdata/plan-instances.properties", "-json", "-now=2018-01-09T07:15:00.123456+02:00"},
			[]string{"JOB_COMPLETION_INDEX", "2"}},
		{"plan-onceoff.json", []string{"plan", "-json", "-config", "testdata/plan-onceoff.properties", "-now", "2018-01-09T00:00:00Z"}, nil},
		{"plan-recovered.txt", []string{"plan", "-config", "testdata/plan-recovered.properties", "-now", "2018-01-09T00:00:00Z"}, nil},
		{"plan-onceoff.txt", []string{"plan", "-config", "testdata/plan-onceoff.properties", "-now", "2018-01-09T00:00:00Z"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, tt.args, tt.env...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			checkGolden(t, tt.golden, stdout)
		})
	}
}

// TestPlanJSONShape checks the JSON independently of the golden files: one
// object, the spec's keys in order, and the manual's window.
func TestPlanJSONShape(t *testing.T) {
	code, stdout, _ := runCapture(t, []string{"plan", "-config", "testdata/plan-manual.properties", "-json", "-now", "2018-01-09T00:00:00Z"})
	if code != exitOK || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("exit %d, output %q: want one line", code, stdout)
	}
	var got struct {
		Start, End string
		Shards     []struct{ Start, End string }
		Instance   *int
		Instances  int
		StateFile  string
		Recovered  *bool
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if keys := topLevelKeys(t, stdout); strings.Join(keys, ",") != "start,end,shards,instance,instances,stateFile,recovered" {
		t.Errorf("keys %v, want the spec's, in its order", keys)
	}
	if got.Start != "2018-01-06T00:00:00.000Z" || got.End != "2018-01-09T00:00:00.000Z" || len(got.Shards) != 3 ||
		got.Instance == nil || *got.Instance != 0 || got.Instances != 1 || got.Recovered == nil || *got.Recovered ||
		got.StateFile != filepath.Join("testdata", "plan-no-state", "last_recording_endtime.txt") {
		t.Errorf("plan -json = %s", stdout)
	}
}

// topLevelKeys lists the keys of a JSON object in the order written.
func topLevelKeys(t *testing.T, text string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", text)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestPlanTextManyShards(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.properties")
	if err := os.WriteFile(p, []byte("gwsUriPrefix=https://example.com/api/v2\ntargetDir=testdata/plan-no-state\nmaxAge=30\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCapture(t, []string{"plan", "-config", p, "-now", "2018-01-09T00:00:00Z"})
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != exitOK || len(lines) != 3+shardsShown+2 || !strings.Contains(stdout, "  …         19 more\n") ||
		!strings.Contains(stdout, "  1         2017-12-10T00:00:00.000Z") || !strings.Contains(stdout, "  30        2018-01-08T00:00:00.000Z .. 2018-01-09T00:00:00.000Z") {
		t.Errorf("exit %d, %d lines:\n%s", code, len(lines), stdout)
	}
}

func TestPlanErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const pre = "gwsUriPrefix=https://example.com/api/v2\ntargetDir=" + "testdata/plan-no-state\n"
	inverted := write("inverted.properties", pre+"minAge=3\nmaxAge=2\n")
	bad := write("bad.properties", pre+"numThreads=0\n")
	typo := write("typo.properties", pre+"maxage=3\n")
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, "last_recording_endtime.txt"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	corrupt := write("corrupt.properties", "gwsUriPrefix=https://example.com/api/v2\ntargetDir="+filepath.ToSlash(stateDir)+"\n")
	now := []string{"-now", "2018-01-09T00:00:00Z"}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no -config", []string{"plan"}, exitUsage, "rcbs: plan: -config FILE is required (see rcbs plan -h)\n"},
		{"bad -now", []string{"plan", "-config", bad, "-now", "2018-01-09"}, exitUsage,
			`rcbs: plan: -now must be an RFC 3339 time such as 2018-01-09T00:00:00Z (got "2018-01-09")` + "\n"},
		{"unknown flag", []string{"plan", "-cfg", bad}, exitUsage, "rcbs: plan: flag provided but not defined: -cfg (see rcbs plan -h)\n"},
		{"stray argument", []string{"plan", "-config", bad, "extra"}, exitUsage, `rcbs: plan: unexpected argument "extra" (see rcbs plan -h)` + "\n"},
		{"missing file", []string{"plan", "-config", filepath.Join(dir, "nope")}, exitUsage,
			"rcbs: config file " + filepath.Join(dir, "nope") + ": does not exist\n"},
		{"directory", []string{"plan", "-config", dir}, exitUsage, "rcbs: config file " + dir + ": is a directory, not a file\n"},
		{"bad value", append([]string{"plan", "-config", bad}, now...), exitUsage,
			`rcbs: config: numThreads: must be a whole number from 1 to 256 (got "0")` + "\n"},
		{"minAge >= maxAge", append([]string{"plan", "-config", inverted}, now...), exitUsage,
			`rcbs: config: minAge: must be less than maxAge=2 (got "3")` + "\n"},
		{"typo warned, plan still printed", append([]string{"plan", "-config", typo, "-json"}, now...), exitOK,
			"rcbs: warning: " + typo + `: unknown key "maxage" ignored (did you mean "maxAge"?)` + "\n"},
		{"corrupt state", append([]string{"plan", "-config", corrupt}, now...), exitFailed,
			"rcbs: state file " + filepath.Join(stateDir, "last_recording_endtime.txt") +
				` is corrupt: want 13-digit epoch milliseconds, got "garbage" (fix or delete it, or set skipLastRecordingCheck=true)` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCapture(t, tt.args)
			if code != tt.code || stderr != tt.stderr {
				t.Errorf("exit %d, stderr %q\nwant %d, %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}

func TestPlanDefaultNow(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Millisecond)
	code, stdout, _ := runCapture(t, []string{"plan", "-config", "testdata/plan-manual.properties", "-json"})
	after := time.Now().UTC()
	var got struct{ End string }
	if err := json.Unmarshal([]byte(stdout), &got); code != exitOK || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, stdout)
	}
	end, err := time.Parse(time.RFC3339, got.End)
	if err != nil || end.Before(before) || end.After(after) {
		t.Errorf("end %s not between %v and %v (the clock's now)", got.End, before, after)
	}
}

func TestPlanVersionHelp(t *testing.T) {
	for _, cmd := range []string{"plan", "version"} {
		code, stdout, stderr := runCapture(t, []string{cmd, "-h"})
		if code != exitOK || stderr != "" || !strings.Contains(stdout, "Usage: rcbs "+cmd) || !strings.Contains(stdout, "Example") {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q", cmd, code, stdout, stderr)
		}
	}
	if _, stdout, _ := runCapture(t, []string{"plan", "--help"}); !strings.Contains(stdout, "-config FILE") {
		t.Errorf("plan --help does not list -config: %q", stdout)
	}
}

func TestVersionCommand(t *testing.T) {
	code, stdout, stderr := runCapture(t, []string{"version"})
	if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "rcbs ") || !strings.Contains(stdout, ", commit ") ||
		!strings.Contains(stdout, ", go1.") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, _ := runCapture(t, []string{"version", "extra"}); code != exitUsage {
		t.Errorf("version extra: exit %d, want %d", code, exitUsage)
	}
}

func TestBuildVersion(t *testing.T) {
	info := func(mod string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Version: mod}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	tests := []struct {
		name, ldflags string
		info          *debug.BuildInfo
		v, commit     string
	}{
		{"no build info", "dev", nil, "dev", "unknown"},
		{"local build", "dev", info("(devel)"), "dev", "unknown"},
		{"go install module@version", "dev", info("v1.4.0"), "v1.4.0", "unknown"},
		{"ldflags win", "v2.0.0", info("v1.4.0"), "v2.0.0", "unknown"},
		{"vcs stamped", "dev", info("(devel)", "vcs.revision", "0d28e4d1f00dfeedbeef0123456789abcdef0123", "vcs.modified", "false"), "dev", "0d28e4d1f00d"},
		{"dirty tree", "dev", info("", "vcs.revision", "0d28e4d", "vcs.modified", "true"), "dev", "0d28e4d-dirty"},
	}
	for _, tt := range tests {
		if v, c := buildVersion(tt.ldflags, tt.info); v != tt.v || c != tt.commit {
			t.Errorf("%s: buildVersion = %q, %q; want %q, %q", tt.name, v, c, tt.v, tt.commit)
		}
	}
}

func TestPlanSpan(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{72 * time.Hour, "3d"}, {30*time.Hour + 30*time.Minute, "1d 6h 30m"}, {90 * time.Second, "1m 30s"}, {500 * time.Millisecond, "500ms"},
	}
	for _, tt := range tests {
		if got := span(tt.d); got != tt.want {
			t.Errorf("span(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
