package config

import (
	"testing"
	"time"
)

// requestTimeout's bound is inclusive: a week exactly is allowed, a second
// more is not (found by scripts/mutate: `d > week` → `d >= week` lived).
func TestRequestTimeoutWeekBound(t *testing.T) {
	for v, want := range map[string]time.Duration{"P7D": 7 * 24 * time.Hour, "604800": 7 * 24 * time.Hour, "PT167H59M59S": 7*24*time.Hour - time.Second} {
		c, _, err := Parse(prefix+"requestTimeout="+v+"\n", "c.properties", envOf())
		if err != nil || c.RequestTimeout != want {
			t.Errorf("requestTimeout=%s: %v, %v; want %v", v, c, err, want)
		}
	}
	for _, v := range []string{"P7DT1S", "604801", "PT0S", "0"} {
		if _, _, err := Parse(prefix+"requestTimeout="+v+"\n", "c.properties", envOf()); err == nil {
			t.Errorf("requestTimeout=%s accepted", v)
		}
	}
}
