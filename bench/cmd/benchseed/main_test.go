package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/bench"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results.tsv")
	line := "versitygw\ta\trcbs\t1\t2.00\t1.00\t0.50\t20480\t0\t4\t400\t4\t400\t4\t0\t0\t0\t3\t0.10"
	if err := os.WriteFile(results, []byte(bench.ResultHeader+"\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "meta.txt")
	if err := os.WriteFile(meta, []byte("cpu: test\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		want    string // in the output
		wantErr bool
	}{
		{[]string{"info", "-workload", "a", "-quick"}, "recordings=200\nmedia=400\n", false},
		{[]string{"info", "-workload", "c", "-recordings", "1000"}, "recordings=1000\nmedia=1000\n", false},
		{[]string{"info", "-workload", "x"}, "", true},
		{[]string{"header"}, bench.ResultHeader + "\n", false},
		{[]string{"report", "-results", results, "-meta", meta}, "- cpu: test\n", false},
		{[]string{"report", "-results", filepath.Join(dir, "missing.tsv")}, "", true},
		{[]string{"upload", "-workload", "a"}, "", true}, // no -s3
		{[]string{"frobnicate"}, "", true},
		{nil, "", true},
	}
	for _, tc := range tests {
		var out strings.Builder
		err := run(context.Background(), tc.args, &out)
		if (err != nil) != tc.wantErr || !strings.Contains(out.String(), tc.want) {
			t.Errorf("benchseed %v: err %v, output %q; want error %v and output containing %q",
				tc.args, err, out.String(), tc.wantErr, tc.want)
		}
	}
}
