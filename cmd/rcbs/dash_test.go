package main

import (
	"strings"
	"testing"
)

// TestDashHint: the en or em dash that copy-paste from a typeset manual
// puts before a flag gets a hint naming the right flag, exit 2, before any
// command runs.
func TestDashHint(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"\u2013config", "config.properties"}, "use -config, not \u2013config (an en dash from copy-paste)"},
		{[]string{"run", "\u2013config", "x.properties"}, "use -config, not \u2013config (an en dash"},
		{[]string{"plan", "\u2014config", "x.properties", "-json"}, "use -config, not \u2014config (an em dash"},
		{[]string{"decrypt", "-key", "k.pem", "\u2013out", "/tmp/x"}, "use -out, not \u2013out"},
	} {
		code, stdout, stderr := runCapture(t, tc.args)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("rcbs %q: exit %d, stderr %q, stdout %q; want exit 2 and %q", tc.args, code, stderr, stdout, tc.want)
		}
		if n := strings.Count(stderr, "\n"); n != 1 {
			t.Errorf("rcbs %q: %d lines, want one", tc.args, n)
		}
	}
}
