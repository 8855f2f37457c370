// Package backup is one run of rcbs: plan the window, list each shard,
// download what is missing with a pool of workers, record progress in the
// state file, all under an exclusive lock on the target directory.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/rcbs/rcbs/archive"
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
	StateFile string // path looked at, present or not; "" when the run does not use it (UsesState)
	Recovered bool   // the state file moved the start back
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
	Shard(index, total int)               // shard index (0-based) of total begins
	Listed(recordings int)                // more recordings of this instance are known
	RecordingDone(id string, bytes int64) // downloaded or skipped
	RecordingFailed(id string, err error)
	// Bytes reports bytes written as they stream. n is negative when a
	// failed attempt's bytes are taken back before a retry.
	Bytes(n int64)
}

// Catalog learns of every recording the run completes (the index row and
// the manifest lines), right after its recording.json is written; Sync is
// called before the state file moves past a shard. An Add error fails the
// recording. *archive.Writer implements it. Calls may come from several
// goroutines at once.
type Catalog interface {
	Add(ctx context.Context, rec archive.Recording) error
	Sync() error
}

// Deps is what a run needs from the outside world. Only Lister is required.
type Deps struct {
	Lister Lister
	// S3 fetches media objects. Nil: Run builds the AWS client from the
	// configuration and the settings API's region (NewS3Store). Not used,
	// and not built, when metadataOnly is set.
	S3       ObjectStore
	Progress Progress         // nil: none
	Catalog  Catalog          // nil: none
	Logger   *slog.Logger     // nil: discard
	Now      func() time.Time // wall clock for durations and metrics; nil: time.Now
	// At fixes the plan's "now" (rcbs run -now); zero: Now() at start.
	At time.Time
	// DryRun lists what would be downloaded and writes nothing at all: no
	// lock (a lock file is a write), no temp cleanup, no state, no metrics.
	DryRun bool
	// Pending is called in a dry run for each recording that would be
	// downloaded, with the bytes its kept media would take (metadata sizes).
	Pending func(id string, bytes int64)
	Tuning  Tuning
}

// Tuning holds the engine's limits and timings; zero fields take defaults.
// They are fields, not package variables, so tests can shrink them safely.
type Tuning struct {
	MultipartThreshold int64 // objects larger than this are fetched in ranged parts; default 32 MiB
	PartSize           int64 // default 8 MiB
	PartWorkers        int   // concurrent parts per object; default 4
	// MaxInFlight is the most recordings in flight at once; the engine
	// starts with StartInFlight and adapts in between (flow.go). Defaults
	// 128 and 2 × numThreads; both 1 with downloadMode=single; no growth
	// with metadataOnly (nothing travels but the listing).
	MaxInFlight, StartInFlight int
	BaseBackoff                time.Duration // ceiling of the first retry delay; default 500ms, doubled per attempt, full jitter
	MaxBackoff                 time.Duration // ceiling of every retry delay, a server's Retry-After included; default 30s
	// Random supplies keys and IVs of tool-side encryption; default crypto/rand.
	Random io.Reader
	// FileSync makes a recording file's data durable before its rename;
	// default (*os.File).Sync. Tests replace it to fail the sync.
	FileSync func(*os.File) error
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
	Bytes      int64 // bytes written to final files (media and recording.json)
	Duration   time.Duration
	// FailedIDs are the first MaxFailedIDs failed recordings, for a
	// message; Failed counts them all (memory must not grow with them).
	FailedIDs []string
	// Unencrypted counts recordings whose media arrived unencrypted and
	// were stored as is (no encryptionCertificate); warned once per run.
	Unencrypted int
	// The flow of recordings in flight (flow.go): the most at once, how
	// often a throttling server made it halve, and the window at the end.
	InFlightPeak, InFlightCuts, InFlightWindow int
	// Stopped: the run ended before it had walked every shard (credentials
	// refused, API unreachable, interrupted): the line says "stopped:".
	Stopped bool
	// Dry run only: recordings that would be downloaded and their bytes.
	Pending      int
	PendingBytes int64
	// Verified counts the media files written, by how their bytes were
	// checked against the source (VerifyMethods); VerifyNone counts those
	// that could not be checked. Nil when none were written.
	Verified map[string]int
}

// Line is the spec §9 summary line: "done: …", or "stopped: …" with the
// same fields when the run stopped early (its reason goes to stderr).
func (s Summary) Line() string {
	verb := "done"
	if s.Stopped {
		verb = "stopped"
	}
	return fmt.Sprintf("%s: window %s..%s, shards %d, recordings listed %d, mine %d, downloaded %d, skipped %d, failed %d, bytes %d, %s",
		verb, s.Window.Start.UTC().Format(sharding.TimeLayout), s.Window.End.UTC().Format(sharding.TimeLayout),
		s.Shards, s.Listed, s.Mine, s.Downloaded, s.Skipped, s.Failed, s.Bytes, s.Duration.Round(time.Millisecond))
}

// MaxFailedIDs bounds Summary.FailedIDs.
const MaxFailedIDs = 100

// ErrRecordingsFailed is returned (wrapped) when some recordings failed:
// exit 1, the state not advanced past them.
var ErrRecordingsFailed = errors.New("some recordings failed")

// RecordingError is why one recording failed: its id and the cause.
type RecordingError struct {
	ID  string
	Err error
}

func (e *RecordingError) Error() string { return fmt.Sprintf("recording %q: %v", e.ID, e.Err) }
func (e *RecordingError) Unwrap() error { return e.Err }

// LockedError is returned when another process holds targetDir's lock.
type LockedError struct {
	Dir string
	PID int
}

func (e *LockedError) Error() string {
	if e.PID <= 0 { // the holder has not written its pid yet
		return fmt.Sprintf("targetDir %s is in use by another rcbs (pid not yet written)", e.Dir)
	}
	return fmt.Sprintf("targetDir %s is in use by another rcbs (pid %d)", e.Dir, e.PID)
}

// IsLocked reports whether err says that another process holds the lock.
func IsLocked(err error) bool {
	var le *LockedError
	return errors.As(err, &le)
}
