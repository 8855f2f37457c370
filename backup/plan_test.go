package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/sharding"
)

// planConfig parses properties text with targetDir set to dir.
func planConfig(t *testing.T, dir, text string, env ...string) *config.Config {
	t.Helper()
	getenv := func(k string) string {
		for i := 0; i+1 < len(env); i += 2 {
			if env[i] == k {
				return env[i+1]
			}
		}
		return ""
	}
	text = "gwsUriPrefix=https://example.com/api/v2\ntargetDir=" + filepath.ToSlash(dir) + "\n" + text
	cfg, _, err := config.Parse(text, "plan.properties", getenv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func planDay(m time.Month, d, h int) time.Time { return time.Date(2018, m, d, h, 0, 0, 0, time.UTC) }

func writePlanState(t *testing.T, dir string, at time.Time) {
	t.Helper()
	line := fmt.Sprintf("%d\n", at.UnixMilli())
	if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMakePlan(t *testing.T) {
	now := planDay(1, 9, 0)
	tests := []struct {
		name      string
		text      string
		state     time.Time // zero: no state file
		env       []string
		window    sharding.Window
		shards    int
		recovered bool
		instance  [2]int
	}{
		{"manual: minAge=0 maxAge=3", "minAge=0\nmaxAge=3\n", time.Time{}, nil,
			sharding.Window{Start: planDay(1, 6, 0), End: now}, 3, false, [2]int{0, 1}},
		{"manual: one-off minDate/maxDate", "minDate=2018-01-04\nmaxDate=2018-01-02\n", time.Time{}, nil,
			sharding.Window{Start: planDay(1, 2, 0), End: planDay(1, 4, 0)}, 2, false, [2]int{0, 1}},
		{"manual: epoch-ms maxDate", "maxDate=1438300800000\nminDate=2015-08-01\n", time.Time{}, nil,
			sharding.Window{Start: time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC), End: time.Date(2015, 8, 1, 0, 0, 0, 0, time.UTC)}, 1, false, [2]int{0, 1}},
		{"defaults", "", time.Time{}, nil,
			sharding.Window{Start: planDay(1, 7, 0), End: now}, 2, false, [2]int{0, 1}},
		{"recovery after a 3-day outage", "", planDay(1, 4, 0), nil,
			sharding.Window{Start: planDay(1, 3, 18), End: now}, 6, true, [2]int{0, 1}},
		{"recent state: overlap inside maxAge", "", planDay(1, 8, 12), nil,
			sharding.Window{Start: planDay(1, 7, 0), End: now}, 2, false, [2]int{0, 1}},
		{"overlap P6D", "overlap=P6D\n", planDay(1, 8, 0), nil,
			sharding.Window{Start: planDay(1, 2, 0), End: now}, 7, true, [2]int{0, 1}},
		{"skipLastRecordingCheck ignores the state", "skipLastRecordingCheck=true\n", planDay(1, 1, 0), nil,
			sharding.Window{Start: planDay(1, 7, 0), End: now}, 2, false, [2]int{0, 1}},
		{"maxDate overrides the state", "maxDate=2018-01-05\n", planDay(1, 1, 0), nil,
			sharding.Window{Start: planDay(1, 5, 0), End: now}, 4, false, [2]int{0, 1}},
		{"shardBy PT6H over an odd window", "maxAge=PT15H\nshardBy=PT6H\n", time.Time{}, nil,
			sharding.Window{Start: planDay(1, 8, 9), End: now}, 3, false, [2]int{0, 1}},
		{"instances from JOB_COMPLETION_INDEX", "totalRcbsInstances=4\n", time.Time{}, []string{"JOB_COMPLETION_INDEX", "3"},
			sharding.Window{Start: planDay(1, 7, 0), End: now}, 2, false, [2]int{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if !tt.state.IsZero() {
				writePlanState(t, dir, tt.state)
			}
			p, err := MakePlan(planConfig(t, dir, tt.text, tt.env...), now)
			if err != nil {
				t.Fatalf("MakePlan: %v", err)
			}
			if !p.Window.Start.Equal(tt.window.Start) || !p.Window.End.Equal(tt.window.End) || len(p.Shards) != tt.shards ||
				p.Recovered != tt.recovered || p.Instance != tt.instance[0] || p.Instances != tt.instance[1] {
				t.Errorf("MakePlan = %v, %d shards, recovered %v, instance %d/%d; want %v, %d, %v, %d/%d",
					p.Window, len(p.Shards), p.Recovered, p.Instance, p.Instances, tt.window, tt.shards, tt.recovered, tt.instance[0], tt.instance[1])
			}
			wantState := filepath.Join(dir, StateFileName)
			if strings.Contains(tt.text, "maxDate") || strings.Contains(tt.text, "skipLastRecordingCheck=true") {
				wantState = "" // such a run neither reads nor moves it (spec §4)
			}
			if p.StateFile != wantState {
				t.Errorf("StateFile = %q, want %q", p.StateFile, wantState)
			}
			if !p.Shards[0].Start.Equal(p.Window.Start) || !p.Shards[len(p.Shards)-1].End.Equal(p.Window.End) {
				t.Errorf("shards %v do not span %v", p.Shards, p.Window)
			}
		})
	}
}

func TestMakePlanErrors(t *testing.T) {
	now := planDay(1, 9, 0)
	tests := []struct {
		name, text string
		corrupt    bool
		want       string
	}{
		{"minAge >= maxAge", "minAge=3\nmaxAge=2\n", false, `config: minAge: must be less than maxAge=2 (got "3")`},
		{"minAge = default maxAge", "minAge=P2D\n", false, `config: minAge: must be less than maxAge=2 (got "P2D")`},
		{"dates inverted", "minDate=2018-01-02\nmaxDate=2018-01-04\n", false, `config: minDate: must be after maxDate=2018-01-04 (got "2018-01-02")`},
		{"minDate before the start", "minDate=2018-01-01\n", false, `config: minDate: must be after the window start now − maxAge = 2018-01-07T00:00:00.000Z (got "2018-01-01")`},
		{"maxDate in the future", "maxDate=2018-02-01\n", false, `config: maxDate: must be before the window end now − minAge = 2018-01-09T00:00:00.000Z (got "2018-02-01")`},
		{"too many shards", "maxAge=0\nshardBy=PT1M\n", false, `config: shardBy: cuts the window 1970-01-01T00:00:00.000Z..2018-01-09T00:00:00.000Z into more than 100000 shards: use a longer shardBy or a shorter window (got "PT1M")`},
		{"corrupt state", "", true, "is corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.corrupt {
				if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte("garbage\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := MakePlan(planConfig(t, dir, tt.text), now)
			var ce *config.Error
			if tt.corrupt {
				if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("MakePlan error = %v, want a state error containing %q", err, tt.want)
				}
				return
			}
			if !errors.As(err, &ce) || err.Error() != tt.want {
				t.Fatalf("MakePlan error = %v\nwant *config.Error %s", err, tt.want)
			}
		})
	}
}

// TestMakePlanCorruptStateIgnored: a run that does not use the state must
// not fail on it.
func TestMakePlanCorruptStateIgnored(t *testing.T) {
	for _, text := range []string{"skipLastRecordingCheck=true\n", "maxDate=2018-01-01\n"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte("garbage\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := MakePlan(planConfig(t, dir, text), planDay(1, 9, 0)); err != nil {
			t.Errorf("%q: MakePlan = %v", text, err)
		}
	}
}

func TestMakePlanLiteralConfig(t *testing.T) {
	min, max := planDay(1, 2, 0), planDay(1, 4, 0)
	cfg := config.Defaults()
	cfg.TargetDir, cfg.MinDate, cfg.MaxDate = t.TempDir(), &min, &max
	_, err := MakePlan(cfg, planDay(1, 9, 0))
	want := `config: minDate: must be after maxDate=2018-01-04T00:00:00.000Z (got "2018-01-02T00:00:00.000Z")`
	if err == nil || err.Error() != want {
		t.Errorf("MakePlan = %v, want %s", err, want)
	}
}
