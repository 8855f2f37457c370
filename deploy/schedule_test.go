package deploy

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/magiconair/properties"
)

// cronField expands one field of a 5-field cron schedule (numbers, *, lists,
// ranges, steps; no names) into the values it matches, in [lo, hi].
func cronField(f string, lo, hi int) ([]int, error) {
	set := map[int]bool{}
	for _, item := range strings.Split(f, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			s, err := strconv.Atoi(stepText)
			if err != nil || s < 1 {
				return nil, fmt.Errorf("bad step in %q", item)
			}
			step = s
		}
		from, to, err := cronRange(rng, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	var vals []int
	for v := lo; v <= hi; v++ {
		if set[v] {
			vals = append(vals, v)
		}
	}
	return vals, nil
}

// cronRange reads "*", "N" or "N-M" of a cron field.
func cronRange(r string, lo, hi int) (int, int, error) {
	if r == "*" {
		return lo, hi, nil
	}
	a, b, isRange := strings.Cut(r, "-")
	from, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0, fmt.Errorf("not a number: %q", a)
	}
	to := from
	if isRange {
		if to, err = strconv.Atoi(b); err != nil {
			return 0, 0, fmt.Errorf("not a number: %q", b)
		}
	}
	if from < lo || to > hi || from > to {
		return 0, 0, fmt.Errorf("out of range [%d, %d]", lo, hi)
	}
	return from, to, nil
}

// cronTimes returns the "HH:MM" times of day a daily 5-field cron schedule
// fires at; a schedule restricted by day, month or weekday is an error here,
// because all the schedules in deploy/ must run every day.
func cronTimes(schedule string) ([]string, error) {
	f := strings.Fields(schedule)
	if len(f) != 5 {
		return nil, fmt.Errorf("%d fields, want 5", len(f))
	}
	minutes, err := cronField(f[0], 0, 59)
	if err != nil {
		return nil, fmt.Errorf("minute: %w", err)
	}
	hours, err := cronField(f[1], 0, 23)
	if err != nil {
		return nil, fmt.Errorf("hour: %w", err)
	}
	for i, lim := range [][2]int{{1, 31}, {1, 12}, {0, 7}} {
		vals, err := cronField(f[2+i], lim[0], lim[1])
		if err != nil {
			return nil, fmt.Errorf("field %d: %w", 3+i, err)
		}
		if len(vals) != lim[1]-lim[0]+1 {
			return nil, fmt.Errorf("field %d %q: not every day", 3+i, f[2+i])
		}
	}
	var times []string
	for _, h := range hours {
		for _, m := range minutes {
			times = append(times, fmt.Sprintf("%02d:%02d", h, m))
		}
	}
	return times, nil
}

func TestCronTimes(t *testing.T) {
	tests := []struct {
		schedule string
		want     []string // nil: an error
	}{
		{"30 4,10,16,22 * * *", wantTimes},
		{"30 4-22/6 * * *", wantTimes},
		{"0,30 1 * * *", []string{"01:00", "01:30"}},
		{"30 */12 * * *", []string{"00:30", "12:30"}},
		{"30 4,10,16,22 * * 1-5", nil},
		{"30 4,10,16,22 1 * *", nil},
		{"60 4 * * *", nil},
		{"30 22-4 * * *", nil},
		{"*/0 4 * * *", nil},
		{"30 4 * * mon", nil},
		{"30 4 * *", nil},
	}
	for _, tt := range tests {
		got, err := cronTimes(tt.schedule)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%q: got %v, want an error", tt.schedule, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %v, %v; want %v", tt.schedule, got, err, tt.want)
		}
	}
}

// crontabJobs returns the active job lines of a crontab (not comments, not
// VAR=value settings) and its variable settings.
func crontabJobs(text string) (jobs []string, vars map[string]string) {
	vars = map[string]string{}
	setting := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$`)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch m := setting.FindStringSubmatch(line); {
		case line == "" || strings.HasPrefix(line, "#"):
		case m != nil:
			vars[m[1]] = m[2]
		default:
			jobs = append(jobs, line)
		}
	}
	return jobs, vars
}

// TestCrontab checks the crontab: the manual's four times, credentials from
// a sourced file (never inline), the install folder, the config, a log.
func TestCrontab(t *testing.T) {
	const name = "cron/rcbs.crontab"
	jobs, vars := crontabJobs(readFile(t, name))
	if len(jobs) != 1 {
		t.Fatalf("%s: %d active job lines, want 1: %q", name, len(jobs), jobs)
	}
	f := strings.Fields(jobs[0])
	if len(f) < 6 {
		t.Fatalf("%s: job line %q is too short", name, jobs[0])
	}
	schedule, command := strings.Join(f[:5], " "), strings.Join(f[5:], " ")
	times, err := cronTimes(schedule)
	if err != nil || !slices.Equal(times, wantTimes) {
		t.Errorf("%s: schedule %q runs at %v (%v), want %v", name, schedule, times, err, wantTimes)
	}
	for _, c := range credentialEnv {
		if _, ok := vars[c]; ok {
			t.Errorf("%s: %s is set inline; it belongs in the 0600 credentials file", name, c)
		}
	}
	for _, want := range []struct{ re, why string }{
		{`^cd \S+ && `, "cd into the install folder first"},
		{`set -a && \. \S+credentials\.env && set \+a`, "export the variables of the credentials file"},
		{`rcbs -config config\.properties `, "run rcbs on the install folder's config"},
		{`>>\s*\S+\.log 2>&1`, "append stdout and stderr to a log"},
	} {
		if !regexp.MustCompile(want.re).MatchString(command) {
			t.Errorf("%s: the command does not %s (%s): %s", name, want.why, want.re, command)
		}
	}
	if i := strings.Index(strings.ReplaceAll(command, `\%`, ""), "%"); i >= 0 {
		t.Errorf("%s: unescaped %% in the command: cron turns it into a newline", name)
	}
}

// unitFile is a parsed systemd unit: section → key → values in order.
type unitFile map[string]map[string][]string

// parseUnit reads systemd's unit syntax: [Section], Key=Value, # and ;
// comments, a value repeated by repeating the key.
func parseUnit(text string) (unitFile, error) {
	u := unitFile{}
	section := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		case section == "":
			return nil, fmt.Errorf("line %d: %q outside a section", i+1, line)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not Key=Value", i+1, line)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	return u, nil
}

// one returns the single value of a key, or "" when it is absent or repeated.
func (u unitFile) one(section, key string) string {
	if v := u[section][key]; len(v) == 1 {
		return v[0]
	}
	return ""
}

func loadUnit(t *testing.T, name string) unitFile {
	t.Helper()
	u, err := parseUnit(readFile(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return u
}

// onCalendarTimes returns the "HH:MM" times of a daily OnCalendar= value of
// the form "*-*-* H[,H…]:M[,M…]:00" with an optional time zone; other forms
// are an error here.
func onCalendarTimes(v string) ([]string, error) {
	f := strings.Fields(v)
	if len(f) < 2 || len(f) > 3 || f[0] != "*-*-*" {
		return nil, fmt.Errorf("%q: want \"*-*-* HH:MM:SS [TZ]\"", v)
	}
	hms := strings.Split(f[1], ":")
	if len(hms) != 3 || hms[2] != "00" {
		return nil, fmt.Errorf("%q: want HH:MM:00", f[1])
	}
	hours, err := cronField(hms[0], 0, 23)
	if err != nil {
		return nil, fmt.Errorf("hours: %w", err)
	}
	minutes, err := cronField(hms[1], 0, 59)
	if err != nil {
		return nil, fmt.Errorf("minutes: %w", err)
	}
	var times []string
	for _, h := range hours {
		for _, m := range minutes {
			times = append(times, fmt.Sprintf("%02d:%02d", h, m))
		}
	}
	return times, nil
}

func TestOnCalendarTimes(t *testing.T) {
	tests := []struct {
		v    string
		want []string // nil: an error
	}{
		{"*-*-* 04,10,16,22:30:00", wantTimes},
		{"*-*-* 04,10,16,22:30:00 UTC", wantTimes},
		{"*-*-* 04:30:00", []string{"04:30"}},
		{"Mon *-*-* 04:30:00", nil},
		{"daily", nil},
		{"*-*-* 04:30", nil},
		{"*-*-* 25:30:00", nil},
	}
	for _, tt := range tests {
		got, err := onCalendarTimes(tt.v)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%q: got %v, want an error", tt.v, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %v, %v; want %v", tt.v, got, err, tt.want)
		}
	}
}

func TestSystemdTimer(t *testing.T) {
	const name = "systemd/rcbs.timer"
	u := loadUnit(t, name)
	cal := u["Timer"]["OnCalendar"]
	if len(cal) != 1 {
		t.Fatalf("%s: %d OnCalendar= lines, want 1", name, len(cal))
	}
	times, err := onCalendarTimes(cal[0])
	if err != nil || !slices.Equal(times, wantTimes) {
		t.Errorf("%s: OnCalendar=%s runs at %v (%v), want %v", name, cal[0], times, err, wantTimes)
	}
	for key, want := range map[string]string{"Persistent": "true", "Unit": "rcbs.service"} {
		if got := u.one("Timer", key); got != want {
			t.Errorf("%s: %s=%q, want %q", name, key, got, want)
		}
	}
	if got := u.one("Install", "WantedBy"); got != "timers.target" {
		t.Errorf("%s: WantedBy=%q, want timers.target", name, got)
	}
}

func TestSystemdService(t *testing.T) {
	const name = "systemd/rcbs.service"
	u := loadUnit(t, name)
	for key, want := range map[string]string{
		"Type":            "oneshot",
		"EnvironmentFile": "/etc/rcbs/credentials.env",
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
	} {
		if got := u.one("Service", key); got != want {
			t.Errorf("%s: %s=%q, want %q", name, key, got, want)
		}
	}
	if user := u.one("Service", "User"); user == "" || user == "root" {
		t.Errorf("%s: User=%q, want a dedicated account", name, user)
	}
	for _, v := range u["Service"]["SuccessExitStatus"] {
		if slices.Contains(strings.Fields(v), "1") {
			t.Errorf("%s: SuccessExitStatus=%s hides failed recordings (exit 1)", name, v)
		}
	}
	exec := strings.Fields(u.one("Service", "ExecStart"))
	i := slices.Index(exec, "-config")
	if len(exec) == 0 || !path.IsAbs(exec[0]) || i < 0 || i+1 >= len(exec) {
		t.Fatalf("%s: ExecStart=%v, want /abs/rcbs -config FILE", name, exec)
	}
	checkWritablePaths(t, u, exec[i+1])
}

// metricsFileOf is the example's metricsFile, active or commented out (the
// admin uncomments it once node_exporter is installed: the unit must
// already let rcbs write there).
func metricsFileOf(p *properties.Properties, text string) string {
	if mf := p.GetString("metricsFile", ""); mf != "" {
		return mf
	}
	if m := regexp.MustCompile(`(?m)^#\s*metricsFile\s*=\s*(\S+)`).FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// checkWritablePaths checks that ProtectSystem=strict leaves the example
// config's targetDir and metricsFile folder writable, and nothing else.
func checkWritablePaths(t *testing.T, u unitFile, configPath string) {
	t.Helper()
	const example = "systemd/config.properties.example"
	if configPath != "/etc/rcbs/config.properties" {
		t.Errorf("ExecStart reads %s; the install steps copy %s to /etc/rcbs/config.properties", configPath, example)
	}
	p := loadProperties(t, example, readFile(t, example))
	var writable []string
	for _, v := range u["Service"]["ReadWritePaths"] {
		for _, f := range strings.Fields(v) {
			writable = append(writable, strings.TrimPrefix(f, "-"))
		}
	}
	need := []string{p.GetString("targetDir", "")}
	if mf := metricsFileOf(p, readFile(t, example)); mf != "" {
		need = append(need, path.Dir(mf))
	}
	for _, n := range need {
		if !slices.Contains(writable, n) {
			t.Errorf("ReadWritePaths %v lacks %s: rcbs could not write there under ProtectSystem=strict", writable, n)
		}
	}
	if len(writable) != len(need) {
		t.Errorf("ReadWritePaths %v: want exactly %v", writable, need)
	}
}

func TestParseUnit(t *testing.T) {
	u, err := parseUnit("# c\n[Service]\nA=1\nA=2\n; c\nB = x y\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := u["Service"]["A"]; !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("A = %v, want [1 2]", got)
	}
	if got := u.one("Service", "B"); got != "x y" {
		t.Errorf("B = %q, want %q", got, "x y")
	}
	if got := u.one("Service", "A"); got != "" {
		t.Errorf("one(A) of a repeated key = %q, want \"\"", got)
	}
	for _, bad := range []string{"A=1\n", "[S]\nnot a setting\n"} {
		if _, err := parseUnit(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// schtasksTimes returns the times of day of a `schtasks /SC DAILY /ST HH:MM
// /RI minutes /DU HH:MM` task: the start, repeated every RI minutes while
// within DU.
func schtasksTimes(cmd string) ([]string, error) {
	m := regexp.MustCompile(`/SC DAILY /ST (\d\d):(\d\d) /RI (\d+) /DU (\d\d):(\d\d)`).FindStringSubmatch(cmd)
	if m == nil {
		return nil, fmt.Errorf("no /SC DAILY /ST /RI /DU in %q", cmd)
	}
	n := make([]int, 5)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	start, every, dur := n[0]*60+n[1], n[2], n[3]*60+n[4]
	if every < 1 || dur > 24*60 {
		return nil, fmt.Errorf("/RI %d /DU %d minutes out of range", every, dur)
	}
	var times []string
	for off := 0; off < dur; off += every {
		at := (start + off) % (24 * 60)
		times = append(times, fmt.Sprintf("%02d:%02d", at/60, at%60))
	}
	slices.Sort(times)
	return times, nil
}

// TestWindowsSchedule checks the schtasks command of the Windows README.
func TestWindowsSchedule(t *testing.T) {
	const name = "windows/README.md"
	text := strings.ReplaceAll(readFile(t, name), "^\n", "")
	times, err := schtasksTimes(strings.Join(strings.Fields(text), " "))
	if err != nil || !slices.Equal(times, wantTimes) {
		t.Errorf("%s: schtasks runs at %v (%v), want %v", name, times, err, wantTimes)
	}
	if !strings.Contains(text, "rcbs.exe -config config.properties") {
		t.Errorf("%s: the wrapper does not run rcbs.exe -config config.properties", name)
	}
	if strings.Contains(text, `targetDir=D:\`) || strings.Contains(text, `targetDir=\\`) {
		t.Errorf("%s: a targetDir with backslashes: properties syntax reads them as escapes", name)
	}
}

func TestSchtasksTimes(t *testing.T) {
	tests := []struct {
		cmd  string
		want []string // nil: an error
	}{
		{"/SC DAILY /ST 04:30 /RI 360 /DU 24:00", wantTimes},
		{"/SC DAILY /ST 22:30 /RI 360 /DU 24:00", wantTimes},
		{"/SC DAILY /ST 04:30 /RI 360 /DU 12:00", []string{"04:30", "10:30"}},
		{"/SC DAILY /ST 04:30", nil},
		{"/SC DAILY /ST 04:30 /RI 0 /DU 24:00", nil},
	}
	for _, tt := range tests {
		got, err := schtasksTimes(tt.cmd)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%q: got %v, want an error", tt.cmd, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %v, %v; want %v", tt.cmd, got, err, tt.want)
		}
	}
}
