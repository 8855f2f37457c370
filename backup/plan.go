package backup

import (
	"errors"
	"fmt"
	"time"

	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/sharding"
)

// MakePlan computes the plan of cfg at now (spec §3, §5): the window, its
// shards oldest first and this instance's share. It reads the state file
// only when the run owns it (UsesState); otherwise StateFile is "" (a
// one-off export must not fail on, or be moved by, the state of the
// regular runs).
// A window that is empty, inverted or would cut into more than
// sharding.MaxShards shards is a *config.Error naming the key to fix.
func MakePlan(cfg *config.Config, now time.Time) (Plan, error) {
	in := sharding.WindowInput{
		Now: now, MinAge: cfg.MinAge, MaxAge: cfg.MaxAge,
		MinDate: cfg.MinDate, MaxDate: cfg.MaxDate, Overlap: cfg.Overlap,
	}
	p := Plan{Instance: cfg.InstanceID, Instances: max(cfg.TotalInstances, 1)}
	if UsesState(cfg) {
		p.StateFile = StatePath(cfg.TargetDir)
		l, ok, err := ReadState(cfg.TargetDir)
		if err != nil {
			return Plan{}, err
		}
		if ok {
			in.State = &l
		}
	}
	w, recovered, err := sharding.ComputeWindow(in)
	if err != nil {
		return Plan{}, windowError(cfg, err)
	}
	if n := sharding.EstimateShards(w, cfg.ShardBy); n > sharding.MaxShards {
		return Plan{}, &config.Error{Key: "shardBy",
			Problem: fmt.Sprintf("cuts the window %s into more than %d shards: use a longer shardBy or a shorter window", w, sharding.MaxShards),
			Value:   cfg.Value("shardBy")}
	}
	p.Window, p.Recovered, p.Shards = w, recovered, sharding.Shards(w, cfg.ShardBy)
	return p, nil
}

// UsesState reports whether a run of cfg reads and moves the state file
// (spec §4). The file claims that everything before it is on disk, so only
// a run whose coverage is contiguous with it may touch it: not a one-off
// export (maxDate set), which covers a period of its own choosing, nor a
// run told to ignore it (skipLastRecordingCheck=true). Such runs neither
// create, read nor move it.
func UsesState(cfg *config.Config) bool {
	return cfg.MaxDate == nil && !cfg.SkipLastRecordingCheck
}

// windowError turns the window's complaint into the one-line config error
// of spec §2, quoting the values the user wrote, e.g.
// config: minAge: must be less than maxAge=2 (got "3").
func windowError(cfg *config.Config, err error) error {
	var we *sharding.WindowError
	if !errors.As(err, &we) {
		return err
	}
	problem := we.Problem
	switch {
	case we.Key == "minAge":
		problem += "=" + cfg.Value("maxAge")
	case we.Key == "minDate" && cfg.MaxDate != nil:
		problem += "=" + valueOf(cfg, "maxDate", cfg.MaxDate)
	}
	return &config.Error{Key: we.Key, Problem: problem, Value: valueOf(cfg, we.Key, dateOf(cfg, we.Key))}
}

// valueOf is key's text as written, or the date d when the Config was not
// read from a file (a test's literal) and so has no text.
func valueOf(cfg *config.Config, key string, d *time.Time) string {
	if v := cfg.Value(key); v != "" || d == nil {
		return v
	}
	return d.UTC().Format(sharding.TimeLayout)
}

func dateOf(cfg *config.Config, key string) *time.Time {
	switch key {
	case "minDate":
		return cfg.MinDate
	case "maxDate":
		return cfg.MaxDate
	}
	return nil
}
