//go:build unix

package e2e

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

var stoppedRE = regexp.MustCompile(`^stopped: window \S+\.\.\S+, shards \d+, recordings listed \d+, mine \d+, downloaded \d+, skipped \d+, failed \d+, bytes \d+, \S+$`)

// checkStopped: a run that stopped before walking every shard says
// "stopped:" with the summary's fields on stdout, never "done:", and its
// reason (want) on stderr (spec §9).
func checkStopped(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("want exit %d, got %s", code, r)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if !slices.ContainsFunc(lines, stoppedRE.MatchString) {
		t.Errorf("no stopped: line matching %s on stdout in %s", stoppedRE, r)
	}
	if strings.Contains(r.stdout, "done:") {
		t.Errorf("a done: line about a run that stopped, in %s", r)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr does not say %q in %s", want, r)
	}
}

// withoutEnv is env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, k)
	})
}

func TestStoppedRuns(t *testing.T) {
	t.Parallel()
	t.Run("credentials refused", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, cloudsim.Options{Recordings: 4, Seed: 61, Start: t0().Add(-day), End: t0()})
		w.env = append(withoutEnv(w.env, "GWS_PASSWORD"), "GWS_PASSWORD=not-the-password")
		target := filepath.Join(t.TempDir(), "target")
		r := w.rcbs(t, "run", "-config", w.writeConfig(t, target, relative(1)...), "-now", t0().Format(time.RFC3339))
		checkStopped(t, r, 1, "rcbs: read settings: recordings API settings: GET /api/v2/me/settings/rcbs: recordings API refused the credentials of "+gwsUser)
	})
	t.Run("API unreachable", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, cloudsim.Options{Recordings: 4, Seed: 62, Start: t0().Add(-day), End: t0()})
		target := filepath.Join(t.TempDir(), "target")
		cfg := w.writeConfig(t, target, relative(1, "gwsUriPrefix", "http://"+closedAddr(t)+"/api/v2", "retries", "2")...)
		r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
		checkStopped(t, r, 1, "connection refused")
		if _, err := os.Stat(filepath.Join(target, stateFile)); !os.IsNotExist(err) {
			t.Errorf("a run that reached nothing touched the state file: %v", err)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, cloudsim.Options{Recordings: 30, Seed: 63, Start: t0().Add(-day), End: t0(),
			S3Faults: cloudsim.Faults{Latency: 200 * time.Millisecond}})
		target := filepath.Join(t.TempDir(), "target")
		p := start(t, w.env, "run", "-config", w.writeConfig(t, target, relative(1, "numThreads", "2")...), "-now", t0().Format(time.RFC3339))
		pid := strconv.Itoa(p.cmd.Process.Pid)
		waitFor(t, p, "the run held the lock", func() bool {
			b, err := os.ReadFile(filepath.Join(target, lockFile))
			return err == nil && strings.TrimSpace(string(b)) == pid
		})
		waitFor(t, p, "the first download", func() bool { return w.cloud.Stats().S3Get > 0 })
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		checkStopped(t, p.wait(t), 130, "interrupted")
	})
}

// closedAddr is a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Missing credentials are named (spec §9): exit 2 and the variables, not
// "refused the credentials of " with a blank name.
func TestMissingCredentialsNamed(t *testing.T) {
	t.Parallel()
	t.Run("GWS", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, cloudsim.Options{Recordings: 4, Seed: 64, Start: t0().Add(-day), End: t0()})
		w.env = withoutEnv(w.env, "GWS_USERNAME", "GWS_PASSWORD")
		target := filepath.Join(t.TempDir(), "target")
		r := w.rcbs(t, "run", "-config", w.writeConfig(t, target, relative(1)...), "-now", t0().Format(time.RFC3339))
		checkStopped(t, r, 2, "rcbs: config: GWS_USERNAME/GWS_PASSWORD: not set, and the recordings API requires them\n")
		if strings.Contains(r.stderr, "refused the credentials of") {
			t.Errorf("the blank-name refusal still shows in %s", r)
		}
	})
	t.Run("AWS", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, cloudsim.Options{Recordings: 4, Seed: 65, Start: t0().Add(-day), End: t0()})
		// No source of the AWS chain: no keys, no profile files, no web
		// identity, no container or instance role.
		w.env = append(withoutEnv(w.env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"),
			"AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "none"),
			"AWS_EC2_METADATA_DISABLED=true")
		target := filepath.Join(t.TempDir(), "target")
		r := w.rcbs(t, "run", "-config", w.writeConfig(t, target, relative(1)...), "-now", t0().Format(time.RFC3339))
		checkStopped(t, r, 2, "rcbs: config: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: not set, and S3 requires them")
	})
}
