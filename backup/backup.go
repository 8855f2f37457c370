// Package backup is one run of rcbs: plan the window, list each shard,
// download what is missing with a pool of workers, record progress in the
// state file, all under an exclusive lock on the target directory.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/metadata"
	"github.com/rcbs/rcbs/sharding"
)

// StateFileName is the file in targetDir that holds the end of the last
// fully completed shard, as epoch milliseconds.
const StateFileName = "last_recording_endtime.txt"

// Plan is what a run will do, computed without contacting anything.
type Plan struct {
	Window    sharding.Window
	Shards    []sharding.Window
	Instance  int
	Instances int
	StateFile string // path looked at, present or not
	Recovered bool   // the state file moved the start back
}

// MakePlan computes the plan of cfg at now, reading the state file.
func MakePlan(cfg *config.Config, now time.Time) (Plan, error) {
	return Plan{}, errors.New("not implemented")
}

// Lister lists recordings; *metadata.Client implements it.
type Lister interface {
	Settings(ctx context.Context) (metadata.Settings, error)
	List(ctx context.Context, start, end time.Time, fn func(metadata.Recording) error) error
	Media(ctx context.Context, m metadata.MediaFile) (io.ReadCloser, error)
}

// Progress receives the run's progress. The engine never prints; the command
// chooses a terminal bar or cron lines. Calls may come from several
// goroutines at once.
type Progress interface {
	Listed(recordings int)                // more recordings of this instance are known
	RecordingDone(id string, bytes int64) // downloaded or skipped
	RecordingFailed(id string, err error)
	Bytes(n int64) // bytes written, as they stream
}

// Summary is what a run did, for the summary line and the metrics file.
type Summary struct {
	Window     sharding.Window
	Shards     int
	Listed     int // recordings listed
	Mine       int // of this instance
	Downloaded int
	Skipped    int
	Failed     int
	Bytes      int64
	Duration   time.Duration
	FailedIDs  []string
}

// Line is the spec §9 summary line.
func (s Summary) Line() string {
	return fmt.Sprintf("done: window %s..%s, shards %d, recordings listed %d, mine %d, downloaded %d, skipped %d, failed %d, bytes %d, %s",
		s.Window.Start.UTC().Format("2006-01-02T15:04:05.000Z"), s.Window.End.UTC().Format("2006-01-02T15:04:05.000Z"),
		s.Shards, s.Listed, s.Mine, s.Downloaded, s.Skipped, s.Failed, s.Bytes, s.Duration.Round(time.Millisecond))
}

// ErrRecordingsFailed is returned (wrapped) when some recordings failed:
// exit 1, the state not advanced past them.
var ErrRecordingsFailed = errors.New("some recordings failed")

// LockedError is returned when another process holds targetDir's lock.
type LockedError struct {
	Dir string
	PID int
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("targetDir %s is in use by another rcbs (pid %d)", e.Dir, e.PID)
}
