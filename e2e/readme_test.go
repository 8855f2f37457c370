package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// The README's recipes are run as printed: a recipe that only looks right
// (a cron line whose credentials never reach rcbs) fails here.

// cronPATH is what cron gives a job whose crontab sets no PATH.
const cronPATH = "/usr/bin:/bin"

// readmeBlock returns the first fenced block of the given info string
// (```cron, ```sh) after the line containing marker in README.md.
func readmeBlock(t *testing.T, marker, info string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("README.md has no %q", marker)
	}
	m := regexp.MustCompile("(?s)\n```" + regexp.QuoteMeta(info) + "\n(.*?)\n```").FindStringSubmatch(text[i:])
	if m == nil {
		t.Fatalf("README.md has no ```%s block after %q", info, marker)
	}
	return m[1]
}

// cronCommand is the command of the one job line of a crontab text.
func cronCommand(t *testing.T, crontab string) string {
	t.Helper()
	var jobs []string
	for line := range strings.Lines(crontab) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || regexp.MustCompile(`^[A-Z_]+=`).MatchString(line) {
			continue
		}
		jobs = append(jobs, line)
	}
	if len(jobs) != 1 {
		t.Fatalf("want one job line, got %q", jobs)
	}
	f := strings.Fields(jobs[0])
	if len(f) < 6 {
		t.Fatalf("job line %q has no command", jobs[0])
	}
	return strings.Join(f[5:], " ")
}

// TestReadmeCronLine runs the README's cron line, and deploy/cron's, the
// way cron runs it: /bin/sh -c with an empty environment but cron's PATH,
// from a folder laid out as the README says (config.properties and a
// credentials.env written as deploy/ writes it, without export). The only
// change is where things are: the install, log and binary paths point into
// the test's folders.
func TestReadmeCronLine(t *testing.T) {
	crontab, err := os.ReadFile("../deploy/cron/rcbs.crontab")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, line string }{
		{"README", cronCommand(t, readmeBlock(t, "**Cron, four times a day**", "cron"))},
		{"deploy/cron", cronCommand(t, string(crontab))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now().UTC()
			w := newWorld(t, cloudsim.Options{Recordings: 12, Seed: 11, Start: now.Add(-47 * time.Hour), End: now.Add(-time.Hour)})
			install, logs, home := t.TempDir(), t.TempDir(), t.TempDir()
			target := filepath.Join(install, "target")
			cfg := w.writeConfig(t, target, "maxDate", "", "minDate", "") // a cron config: maxAge's default window
			copyFile(t, cfg, filepath.Join(install, "config.properties"), 0o600)
			writeCredentialsEnv(t, filepath.Join(install, "credentials.env"), w.cloud.Env())
			line := strings.NewReplacer("/var/log/rcbs", logs, "/usr/local/bin/rcbs", rcbsBin, "/opt/rcbs", install).Replace(tc.line)
			cmd := exec.Command("env", "-i", "PATH="+cronPATH, "SHELL=/bin/sh", "HOME="+home, "LOGNAME=rcbs", "/bin/sh", "-c", line)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			log, _ := os.ReadFile(filepath.Join(logs, "rcbs.log"))
			if err != nil || out.Len() > 0 {
				t.Fatalf("cron line %q: %v; cron would mail %q\nlog:\n%s", line, err, out.String(), log)
			}
			if !regexp.MustCompile(`(?m)^done: .*, failed 0, `).Match(log) {
				t.Fatalf("the log has no successful summary line:\n%s", log)
			}
			checkBackedUp(t, target, w.cloud.Recordings())
		})
	}
}

// TestReadmeExportRecipe runs the README's one-off export recipe on a copy
// of config.properties.example (which sets maxAge and minAge, as an admin's
// cron config does): it must back up the two days and warn about nothing.
func TestReadmeExportRecipe(t *testing.T) {
	recipe := readmeBlock(t, "**One-off export of a date range.**", "sh")
	day := func(d int) time.Time { return time.Date(2018, 1, d, 0, 0, 0, 0, time.UTC) }
	w := newWorld(t, cloudsim.Options{Recordings: 30, Seed: 12, Start: day(1), End: day(6)})
	dir := t.TempDir()
	example, err := os.ReadFile("../config.properties.example")
	if err != nil {
		t.Fatal(err)
	}
	props := regexp.MustCompile(`(?m)^(gwsUriPrefix|targetDir)=.*\n`).ReplaceAllString(string(example), "")
	for line := range strings.Lines(w.cloud.Properties(filepath.Join(dir, "target"))) {
		if regexp.MustCompile(`^(gwsUriPrefix|targetDir|awsEndpoint|awsRegion)=`).MatchString(line) {
			props += line
		}
	}
	if !regexp.MustCompile(`(?m)^maxAge=`).MatchString(props) || !regexp.MustCompile(`(?m)^minAge=`).MatchString(props) {
		t.Fatal("config.properties.example sets no maxAge/minAge: the premise of this test is gone")
	}
	if err := os.WriteFile(filepath.Join(dir, "config.properties"), []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(rcbsBin, filepath.Join(bin, "rcbs")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-e", "-c", recipe)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + bin + ":" + cronPATH, "HOME=" + dir}, w.cloud.Env()...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{args: []string{"(README export recipe)"}, stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		t.Fatalf("recipe: %v\n%s", err, r)
	}
	checkQuietStderr(t, r)
	s := parseSummary(t, r)
	want := inWindow(w.cloud.Recordings(), day(2), day(4))
	if len(want) == 0 || s.downloaded != len(want) || s.failed != 0 {
		t.Fatalf("downloaded %d of the %d recordings of 2–3 January (failed %d)\n%s", s.downloaded, len(want), s.failed, r)
	}
	checkBackedUp(t, filepath.Join(dir, "target"), want)
}

// writeCredentialsEnv writes env (KEY=value) as deploy/systemd's
// credentials.env.example shows: 0600, single-quoted values, no export.
func writeCredentialsEnv(t *testing.T, path string, env []string) {
	t.Helper()
	var b strings.Builder
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.Contains(v, "'") {
			t.Fatalf("%s: a value with a quote cannot be written as deploy/ says", k)
		}
		fmt.Fprintf(&b, "%s='%s'\n", k, v)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkBackedUp fails unless every recording of recs is complete under
// target: its recording.json and each media file at its stored size.
func checkBackedUp(t *testing.T, target string, recs []cloudsim.Recording) {
	t.Helper()
	if len(recs) == 0 {
		t.Fatal("no recordings to check: the test proves nothing")
	}
	for _, r := range recs {
		dir := filepath.Join(target, recDir(r))
		if _, err := os.Stat(filepath.Join(dir, "recording.json")); err != nil {
			t.Fatalf("recording %s not backed up: %v", r.ID, err)
		}
		for _, m := range r.Media {
			if fi, err := os.Stat(filepath.Join(dir, m.MediaID+".bin")); err != nil || fi.Size() != m.Size {
				t.Fatalf("recording %s: media %s: %v (size %v, want %d)", r.ID, m.MediaID, err, fi, m.Size)
			}
		}
	}
}
