package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// TestJourneyWrongS3Keys rehearses the README's troubleshooting line
// against the simulator: its S3 refuses a wrong secret or an unknown key as
// real S3 does, and rcbs names the SDK's error code and exits non-zero.
func TestJourneyWrongS3Keys(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"AWS_SECRET_ACCESS_KEY", "e2e-wrong-secret", "SignatureDoesNotMatch"},
		{"AWS_ACCESS_KEY_ID", "AKIAE2EUNKNOWN", "InvalidAccessKeyId"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			w := newWorld(t, cloudsim.Options{Recordings: 3, Seed: 5, Start: t0().Add(-48 * time.Hour), End: t0()})
			replaced := false
			for i, kv := range w.env {
				if strings.HasPrefix(kv, tc.key+"=") {
					w.env[i], replaced = tc.key+"="+tc.value, true
				}
			}
			if !replaced {
				t.Fatalf("the simulator's environment has no %s: %v", tc.key, w.cloud.Env())
			}
			cfg := w.writeConfig(t, t.TempDir())
			r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want a non-zero exit naming %s, got %s", tc.want, r)
			}
		})
	}
}
