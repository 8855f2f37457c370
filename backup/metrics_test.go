package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcbs.prom")
	end1 := time.UnixMilli(1515542400123)
	sum := Summary{Downloaded: 7, Failed: 0, Unencrypted: 4, Bytes: 12345, Duration: 1500 * time.Millisecond,
		Verified: map[string]int{VerifySDK: 4, VerifyMD5ETag: 2, VerifyNone: 1}}
	if err := WriteMetrics(path, RunResult{Summary: sum, Instance: 2, End: end1, OK: true}); err != nil {
		t.Fatal(err)
	}
	want := func(lastRun, lastOK string, down, failed, plain, bytes int, dur string, verified ...int) string {
		var b strings.Builder
		g := func(name, help, v string) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s{instance=\"2\"} %s\n", name, help, name, name, v)
		}
		g("rcbs_last_run_timestamp_seconds", "Unix time the last run ended.", lastRun)
		g("rcbs_last_success_timestamp_seconds", "Unix time the last successful run ended.", lastOK)
		g("rcbs_recordings_downloaded", "Recordings downloaded by the last run.", fmt.Sprint(down))
		g("rcbs_recordings_failed", "Recordings that failed in the last run.", fmt.Sprint(failed))
		g("rcbs_recordings_unencrypted", "Recordings the last run stored unencrypted, as they arrived.", fmt.Sprint(plain))
		g("rcbs_bytes_downloaded", "Bytes written by the last run.", fmt.Sprint(bytes))
		g("rcbs_run_duration_seconds", "Duration of the last run.", dur)
		b.WriteString("# HELP rcbs_files_verified Media files written by the last run, by how their bytes were checked against the source (none: could not be).\n# TYPE rcbs_files_verified gauge\n")
		for i, m := range []string{"sdk-checksum", "full-object-checksum", "composite-checksum", "md5-etag", "none"} {
			fmt.Fprintf(&b, "rcbs_files_verified{instance=\"2\",method=\"%s\"} %d\n", m, verified[i])
		}
		return b.String()
	}
	got, _ := os.ReadFile(path)
	if w := want("1515542400.123", "1515542400.123", 7, 0, 4, 12345, "1.500", 4, 0, 0, 2, 1); string(got) != w {
		t.Errorf("after success:\n%s\nwant:\n%s", got, w)
	}
	// A failed run keeps the last success of the previous file.
	end2 := end1.Add(time.Hour)
	sum = Summary{Downloaded: 1, Failed: 3, Bytes: 10, Duration: 2 * time.Second}
	if err := WriteMetrics(path, RunResult{Summary: sum, Instance: 2, End: end2, OK: false}); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if w := want("1515546000.123", "1515542400.123", 1, 3, 0, 10, "2.000", 0, 0, 0, 0, 0); string(got) != w {
		t.Errorf("after failure:\n%s\nwant:\n%s", got, w)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 for node_exporter", info.Mode().Perm())
	}
}

func TestRunWritesMetrics(t *testing.T) {
	w := newWorld(t)
	prom := filepath.Join(t.TempDir(), "rcbs.prom")
	w.extra = "metricsFile=" + filepath.ToSlash(prom) + "\n"
	w.addRecording("A", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 10)})
	if _, err := w.run(context.Background(), w.deps()); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(prom)
	if !strings.Contains(string(first), "rcbs_recordings_downloaded{instance=\"0\"} 1\n") ||
		!strings.Contains(string(first), "rcbs_last_success_timestamp_seconds{instance=\"0\"} ") {
		t.Fatalf("metrics after success:\n%s", first)
	}
	w.addRecording("B", day(2, 1), media{id: "b.mp3", typ: "audio/mp3", data: blob(1, 10), noPut: true})
	if _, err := w.run(context.Background(), w.deps()); !errors.Is(err, ErrRecordingsFailed) {
		t.Fatalf("err %v", err)
	}
	second, _ := os.ReadFile(prom)
	okLine := func(b []byte) string {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "rcbs_last_success_timestamp_seconds{") {
				return l
			}
		}
		return ""
	}
	if okLine(second) == "" || okLine(second) != okLine(first) || !strings.Contains(string(second), "rcbs_recordings_failed{instance=\"0\"} 1\n") {
		t.Errorf("metrics after failure:\n%s", second)
	}
}
