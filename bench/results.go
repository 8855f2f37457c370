package bench

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ResultHeader is the header scripts/bench writes first in results.tsv; one
// line per timed run follows, tab-separated, in this order.
const ResultHeader = "server\tworkload\ttool\trun\twall_s\tuser_s\tsys_s\trss_kb\t" +
	"exit\tfiles\tbytes\texp_files\texp_bytes\ts3_get\ts3_head\ts3_list\ts3_other\tapi_req\tload1"

// Result is one timed run of one tool on one workload.
type Result struct {
	Server, Workload, Tool string
	Run                    int
	Wall, User, Sys        float64 // seconds
	RSSKB                  int64   // peak resident set, KiB (GNU time %M)
	Exit                   int
	Files, Bytes           int64 // what the tool left on disk (media files only)
	ExpFiles, ExpBytes     int64 // what it should have
	S3Get, S3Head, S3List  int64 // requests the S3 server logged during the run; -1 unknown
	S3Other                int64
	APIReq                 int64 // recordings-API requests during the run; -1 unknown
	Load1                  float64
}

// OK reports whether the run did its job: exit 0 and exactly the expected
// files and bytes on disk. A fast run that skipped work must not count.
func (r Result) OK() bool {
	return r.Exit == 0 && r.Files == r.ExpFiles && r.Bytes == r.ExpBytes
}

// CPU is user + system time.
func (r Result) CPU() float64 { return r.User + r.Sys }

// ParseResults reads results.tsv. Lines starting with # and blank lines are
// skipped; the header must match ResultHeader.
func ParseResults(rd io.Reader) ([]Result, error) {
	sc := bufio.NewScanner(rd)
	var out []Result
	header := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !header {
			if line != ResultHeader {
				return nil, fmt.Errorf("results line %d: header %q, want %q", n, line, ResultHeader)
			}
			header = true
			continue
		}
		r, err := parseResult(strings.Split(line, "\t"))
		if err != nil {
			return nil, fmt.Errorf("results line %d: %w", n, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	return out, nil
}

// fields parses columns by name, remembering the first error.
type fields struct {
	names, cols []string
	err         error
}

func (f *fields) idx(name string) int { return slices.Index(f.names, name) }

func (f *fields) str(name string) string { return f.cols[f.idx(name)] }

func (f *fields) int(name string) int64 {
	v, err := strconv.ParseInt(f.str(name), 10, 64)
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("%s: %q is not an integer", name, f.str(name))
	}
	return v
}

func (f *fields) float(name string) float64 {
	v, err := strconv.ParseFloat(f.str(name), 64)
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("%s: %q is not a number", name, f.str(name))
	}
	return v
}

func parseResult(cols []string) (Result, error) {
	names := strings.Split(ResultHeader, "\t")
	if len(cols) != len(names) {
		return Result{}, fmt.Errorf("%d columns, want %d", len(cols), len(names))
	}
	f := &fields{names: names, cols: cols}
	r := Result{
		Server: f.str("server"), Workload: f.str("workload"), Tool: f.str("tool"), Run: int(f.int("run")),
		Wall: f.float("wall_s"), User: f.float("user_s"), Sys: f.float("sys_s"), RSSKB: f.int("rss_kb"),
		Exit: int(f.int("exit")), Files: f.int("files"), Bytes: f.int("bytes"),
		ExpFiles: f.int("exp_files"), ExpBytes: f.int("exp_bytes"),
		S3Get: f.int("s3_get"), S3Head: f.int("s3_head"), S3List: f.int("s3_list"), S3Other: f.int("s3_other"),
		APIReq: f.int("api_req"), Load1: f.float("load1"),
	}
	return r, f.err
}
