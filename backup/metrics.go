package backup

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rcbs/rcbs/internal/atomicfile"
)

// metricsPerm lets node_exporter's textfile collector, which usually runs
// as another user, read the file; it holds counts, no personal data.
const metricsPerm = 0o644

// RunResult is what the metrics file reports of one run.
type RunResult struct {
	Summary  Summary
	Instance int
	End      time.Time // when the run ended
	OK       bool      // the run succeeded: last success is End
}

// WriteMetrics writes the Prometheus textfile of r to path atomically
// (spec §9). On a failed run, rcbs_last_success_timestamp_seconds keeps the
// value the previous file had, so an alert on its age fires.
func WriteMetrics(path string, r RunResult) error {
	label := fmt.Sprintf(`{instance="%d"}`, r.Instance)
	lastOK, haveOK := secondsOf(r.End), r.OK
	if !r.OK {
		lastOK, haveOK = previousSuccess(path, label)
	}
	var b strings.Builder
	gauge := func(name, help, value string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s%s %s\n", name, help, name, name, label, value)
	}
	gauge("rcbs_last_run_timestamp_seconds", "Unix time the last run ended.", secondsOf(r.End))
	if haveOK {
		gauge("rcbs_last_success_timestamp_seconds", "Unix time the last successful run ended.", lastOK)
	}
	s := r.Summary
	gauge("rcbs_recordings_downloaded", "Recordings downloaded by the last run.", strconv.Itoa(s.Downloaded))
	gauge("rcbs_recordings_failed", "Recordings that failed in the last run.", strconv.Itoa(s.Failed))
	gauge("rcbs_recordings_unencrypted", "Recordings the last run stored unencrypted, as they arrived.", strconv.Itoa(s.Unencrypted))
	gauge("rcbs_bytes_downloaded", "Bytes written by the last run.", strconv.FormatInt(s.Bytes, 10))
	gauge("rcbs_run_duration_seconds", "Duration of the last run.", strconv.FormatFloat(s.Duration.Seconds(), 'f', 3, 64))
	const verified = "rcbs_files_verified"
	fmt.Fprintf(&b, "# HELP %s Media files written by the last run, by how their bytes were checked against the source (none: could not be).\n# TYPE %s gauge\n", verified, verified)
	for _, m := range VerifyMethods {
		fmt.Fprintf(&b, "%s{instance=\"%d\",method=%q} %d\n", verified, r.Instance, m, s.Verified[m])
	}
	return atomicfile.WriteFile(path, []byte(b.String()), metricsPerm)
}

func secondsOf(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// previousSuccess reads the last success time of this instance from the
// previous metrics file, if any.
func previousSuccess(path, label string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	prefix := "rcbs_last_success_timestamp_seconds" + label + " "
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				return v, true
			}
		}
	}
	return "", false
}
