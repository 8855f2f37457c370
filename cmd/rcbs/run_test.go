package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcbs/rcbs/backup"
	"github.com/rcbs/rcbs/cloudsim"
)

// simRun is a simulated cloud and a config file for it.
type simRun struct {
	cloud  *cloudsim.Cloud
	config string
	target string
	env    map[string]string
}

func newSimRun(t *testing.T, opts cloudsim.Options, extra string) *simRun {
	t.Helper()
	opts.Seed = 7
	opts.Start = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	opts.End = time.Date(2018, 1, 3, 0, 0, 0, 0, time.UTC)
	cloud, err := cloudsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloud.Close)
	if err := cloud.Start(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &simRun{cloud: cloud, config: filepath.Join(dir, "config.properties"), target: filepath.Join(dir, "target"), env: map[string]string{}}
	if err := os.WriteFile(s.config, []byte(cloud.Properties(s.target)+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range cloud.Env() {
		k, v, _ := strings.Cut(kv, "=")
		s.env[k] = v
	}
	return s
}

// firstMediaKey is the S3 key of the first media file of the cloud that
// newSimRun makes with n recordings (same seed, same recordings).
func firstMediaKey(t *testing.T, n int) string {
	t.Helper()
	s := newSimRun(t, cloudsim.Options{Recordings: n}, "")
	return s.cloud.Recordings()[0].Media[0].Key
}

func (s *simRun) run(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return s.env[k] }}
	code := runMain(ctx, e, args)
	return code, out.String(), errOut.String()
}

var keptType = regexp.MustCompile(`^(?:audio/mp3|video/mp4)$`)

// checkTree asserts that every kept media file of the cloud is on disk
// byte for byte, beside its recording.json.
func (s *simRun) checkTree(t *testing.T) {
	t.Helper()
	for _, rec := range s.cloud.Recordings() {
		dir := filepath.Join(s.target, rec.StartTime.UTC().Format("2006/01/02/15"), rec.ID)
		if _, err := os.Stat(filepath.Join(dir, backup.RecordingFile)); err != nil {
			t.Errorf("%s: %v", rec.ID, err)
		}
		for _, m := range rec.Media {
			b, err := os.ReadFile(filepath.Join(dir, m.MediaID+".bin"))
			switch {
			case !keptType.MatchString(m.Type):
				if err == nil {
					t.Errorf("%s (%s) downloaded against mediaTypePattern", m.MediaID, m.Type)
				}
			case err != nil:
				t.Errorf("%s: %v", m.MediaID, err)
			case sha256.Sum256(b) != m.SHA256:
				t.Errorf("%s: bytes on disk differ from the stored object", m.MediaID)
			}
		}
	}
}

func TestRunCommandAgainstSimulatedCloud(t *testing.T) {
	opts := cloudsim.Options{Recordings: 25, APIMediaShare: 0.2, Username: "u", Password: "p",
		S3Faults:  cloudsim.Faults{Rate: 0.15, Kinds: []string{"503", "reset", "truncate"}},
		APIFaults: cloudsim.Faults{Rate: 0.1, Kinds: []string{"429", "500"}, RetryAfter: 10 * time.Millisecond}}
	prom := filepath.Join(t.TempDir(), "rcbs.prom")
	s := newSimRun(t, opts, "retries=8\nlogFormat=json\nmetricsFile="+filepath.ToSlash(prom)+"\n")
	code, stdout, stderr := s.run(context.Background(), "-config", s.config)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`^done: window 2018-01-01T00:00:00.000Z..2018-01-03T00:00:00.000Z, shards 2, recordings listed 25, mine 25, downloaded 25, skipped 0, failed 0, bytes [1-9][0-9]*, [0-9.]+m?s\n$`).MatchString(stdout) {
		t.Errorf("stdout %q", stdout)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec map[string]any
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("logFormat=json, but stderr has %q", line)
			continue
		}
		if rec["run"] == nil || rec["instance"] == nil {
			t.Errorf("log line without run id or instance: %q", line)
		}
	}
	if strings.Contains(stderr, "rcbs-sim-secret") || strings.Contains(stderr, `"p"`) {
		t.Error("a secret appears in the log")
	}
	s.checkTree(t)
	if b, err := os.ReadFile(prom); err != nil || !strings.Contains(string(b), `rcbs_recordings_downloaded{instance="0"} 25`) {
		t.Errorf("metrics: %s, %v", b, err)
	}
	code, stdout, _ = s.run(context.Background(), "run", "--config", s.config)
	if code != 0 || !strings.Contains(stdout, "downloaded 0, skipped 25, failed 0") {
		t.Errorf("second run: exit %d, %q", code, stdout)
	}
}

func TestRunCommandExitCodes(t *testing.T) {
	s := newSimRun(t, cloudsim.Options{Recordings: 12, S3Faults: cloudsim.Faults{Latency: 100 * time.Millisecond}}, "numThreads=2\n")
	// 3: locked by another rcbs.
	os.MkdirAll(s.target, 0o700)
	l, err := backup.Lock(s.target)
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := s.run(context.Background(), "-config", s.config)
	l.Unlock()
	if want := fmt.Sprintf("is in use by another rcbs (pid %d)", os.Getpid()); code != 3 || !strings.Contains(stderr, want) {
		t.Errorf("locked: exit %d, %q", code, stderr)
	}
	// 130: interrupted mid-run; nothing partial is left.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	code, _, stderr = s.run(ctx, "-config", s.config)
	if code != 130 {
		t.Errorf("interrupted: exit %d, %s", code, stderr)
	}
	filepath.WalkDir(s.target, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), backup.TempPrefix) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
	// 1: a recording that cannot be fetched.
	id := s.cloud.Recordings()[0].ID
	s2 := newSimRun(t, cloudsim.Options{Recordings: 12, S3Faults: cloudsim.Faults{Never: []string{firstMediaKey(t, 12)}}}, "retries=2\n")
	code, stdout, stderr := s2.run(context.Background(), "-config", s2.config)
	if code != 1 || !strings.Contains(stdout, "failed 1") || !strings.Contains(stderr, id) {
		t.Errorf("failed recording: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// 2: a bad flag.
	if code, _, _ := s.run(context.Background(), "run", "-config", s.config, "-bogus"); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

func TestRunCommandDryRun(t *testing.T) {
	s := newSimRun(t, cloudsim.Options{Recordings: 5}, "")
	code, stdout, stderr := s.run(context.Background(), "-config", s.config, "-dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, rec := range s.cloud.Recordings() {
		var n int64
		for _, m := range rec.Media {
			if keptType.MatchString(m.Type) {
				n += m.Size
			}
		}
		if want := fmt.Sprintf("would download %s %d bytes\n", rec.ID, n); !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "dry run: would download 5 recordings") {
		t.Errorf("stdout %s", stdout)
	}
	if _, err := os.Stat(s.target); !os.IsNotExist(err) {
		t.Errorf("dry run created targetDir: %v", err)
	}
	if st := s.cloud.Stats(); st.S3Get != 0 {
		t.Errorf("dry run fetched %d objects", st.S3Get)
	}
}

func TestRunCommandHelp(t *testing.T) {
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if code := runMain(context.Background(), e, []string{"run", "-h"}); code != 0 {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"Usage: rcbs run -config FILE", "Example", "-dry-run", "-now"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunCommandPings(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	hc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
	}))
	defer hc.Close()
	for _, tt := range []struct {
		name string
		fail bool
		want []string
	}{
		{"success", false, []string{"/ping/abc/start", "/ping/abc"}},
		{"failure", true, []string{"/ping/abc/start", "/ping/abc/fail"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			paths = nil
			opts := cloudsim.Options{Recordings: 3}
			if tt.fail {
				opts.S3Faults.Never = []string{firstMediaKey(t, 3)}
			}
			s := newSimRun(t, opts, "retries=1\npingUrl="+hc.URL+"/ping/abc/\n")
			code, _, stderr := s.run(context.Background(), "-config", s.config)
			if (code != 0) != tt.fail {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(paths, " ") != strings.Join(tt.want, " ") {
				t.Errorf("pings %v, want %v", paths, tt.want)
			}
		})
	}
	// A monitor that is down never fails the run.
	s := newSimRun(t, cloudsim.Options{Recordings: 2}, "pingUrl=http://127.0.0.1:1/x\n")
	if code, _, stderr := s.run(context.Background(), "-config", s.config); code != 0 || !strings.Contains(stderr, "ping failed") {
		t.Errorf("monitor down: exit %d, %s", code, stderr)
	}
}

// With logFormat=json every stderr line is a JSON object, the config
// warning and the final error line included.
func TestRunCommandJSONLogOnFailure(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.properties")
	text := "gwsUriPrefix=http://127.0.0.1:1/api/v2\ntargetDir=" + filepath.ToSlash(filepath.Join(dir, "target")) +
		"\nlogFormat=json\nretries=1\nmaxage=2\n" // maxage: a typo, warned about
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCapture(t, []string{"-config", cfgPath})
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	var levels []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %q", line)
		}
		levels = append(levels, rec["level"].(string))
		if rec["level"] == "ERROR" && !strings.Contains(rec["msg"].(string), "settings") {
			t.Errorf("final error %q does not say what failed", rec["msg"])
		}
	}
	if len(levels) < 2 || levels[0] != "WARN" || levels[len(levels)-1] != "ERROR" {
		t.Errorf("levels %v, want the typo warning first and the error last", levels)
	}
}

// The backup run gets the tight memory limit, whether named or implied;
// every other command the roomy one.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int64
	}{
		{nil, runMemoryLimit},
		{[]string{"run", "-config", "c"}, runMemoryLimit},
		{[]string{"-config", "c"}, runMemoryLimit},
		{[]string{"serve", "-config", "c"}, softMemoryLimit},
		{[]string{"decrypt", "-key", "k", "d"}, softMemoryLimit},
		{[]string{"demo"}, softMemoryLimit},
	} {
		if got := memoryLimit(tc.args); got != tc.want {
			t.Errorf("memoryLimit(%q) = %d, want %d", tc.args, got, tc.want)
		}
	}
}
