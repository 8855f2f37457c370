package backup

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/internal/atomicfile"
	"github.com/rcbs/rcbs/metadata"
	"github.com/rcbs/rcbs/sharding"
)

// RecordingFile is the metadata file of a recording, written last: its
// presence marks the recording complete (spec §4, §6).
const RecordingFile = "recording.json"

// copyBufSize is the pooled buffer of a streaming copy; memory is bounded
// by workers × parts × this, never by the window or the file size.
const copyBufSize = 256 << 10

// smallBufSize serves objects up to smallObject bytes: with a hundred
// recordings in flight, big buffers for 100 KB objects would be most of
// the memory.
const (
	smallBufSize = 32 << 10
	smallObject  = 1 << 20
)

// engine is one run's state, shared by the shard loop and its workers.
type engine struct {
	cfg      *config.Config
	root     string // targetDir in the OS's separators
	deps     Deps
	tun      Tuning
	log      *slog.Logger
	prog     Progress
	store    ObjectStore
	settings metadata.Settings
	certs    []*x509.Certificate
	cipher   cms.Cipher
	bufs     sync.Pool // copyBufSize buffers
	small    sync.Pool // smallBufSize buffers, for small objects
	flow     *flow
	// files makes the recordings' folder entries durable once per shard,
	// before the state file moves past it.
	files *atomicfile.Batch
	// abort stops the whole run with a cause: credentials that every
	// request would see refused.
	abort context.CancelCauseFunc

	mu  sync.Mutex // guards sum and firstUnencrypted
	sum Summary
	// walked: every shard was visited; a run that ends without it stopped
	// early (Summary.Stopped).
	walked bool
	// firstUnencrypted is the first recording counted in sum.Unencrypted.
	firstUnencrypted string
}

func newEngine(cfg *config.Config, deps Deps) *engine {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Pending == nil {
		deps.Pending = func(string, int64) {}
	}
	e := &engine{cfg: cfg, root: filepath.FromSlash(cfg.TargetDir), deps: deps, tun: deps.Tuning.withDefaults(cfg), log: deps.Logger, prog: deps.Progress, store: deps.S3}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.prog == nil {
		e.prog = noProgress{}
	}
	e.files = atomicfile.NewBatch(e.root, atomicfile.WithSync(e.tun.FileSync))
	e.bufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	e.small.New = func() any { b := make([]byte, smallBufSize); return &b }
	e.flow = newFlow(e.tun.StartInFlight, e.tun.MaxInFlight)
	return e
}

// buffer lends a copy buffer fit for an object of size bytes (< 0:
// unknown); give it back with put.
func (e *engine) buffer(size int64) (buf *[]byte, put func()) {
	pool := &e.bufs
	if size >= 0 && size <= smallObject {
		pool = &e.small
	}
	buf = pool.Get().(*[]byte)
	return buf, func() { pool.Put(buf) }
}

func (t Tuning) withDefaults(cfg *config.Config) Tuning {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.MultipartThreshold, 32<<20)
	def(&t.PartSize, 8<<20)
	if t.PartWorkers <= 0 {
		t.PartWorkers = 4
	}
	if t.BaseBackoff <= 0 {
		t.BaseBackoff = 500 * time.Millisecond
	}
	if t.MaxBackoff <= 0 {
		t.MaxBackoff = 30 * time.Second
	}
	if t.Random == nil {
		t.Random = rand.Reader
	}
	if cfg.DownloadMode == "single" {
		t.MaxInFlight, t.StartInFlight = 1, 1
	}
	if t.MaxInFlight <= 0 {
		t.MaxInFlight = 128
	}
	if t.StartInFlight <= 0 {
		t.StartInFlight = 2 * max(cfg.NumThreads, 1)
	}
	if cfg.MetadataOnly {
		// Only local writes per recording: more in flight buys nothing but
		// kernel time on contended folder syncs (measured: 128 in flight
		// cost 40 % more CPU than 8 over 100,000 recordings).
		t.MaxInFlight = min(t.MaxInFlight, t.StartInFlight)
	}
	return t
}

type noProgress struct{}

func (noProgress) Shard(int, int)                {}
func (noProgress) Listed(int)                    {}
func (noProgress) RecordingDone(string, int64)   {}
func (noProgress) RecordingFailed(string, error) {}
func (noProgress) Bytes(int64)                   {}

// Run is one backup run (spec §4): lock targetDir, remove leftover
// temporary files, plan, read the settings, then each shard oldest first.
// It returns an error wrapping ErrRecordingsFailed when recordings failed,
// *LockedError when another rcbs holds targetDir, *S3AuthError or
// *metadata.AuthError when credentials are refused (the run stops at once),
// and one wrapping context.Canceled when ctx was cancelled (in-flight files
// are discarded, the state file records only completed shards). Summary is
// filled as far as the run got, whatever the error. Not safe to call twice
// at once on one targetDir: the second gets *LockedError.
func Run(ctx context.Context, cfg *config.Config, deps Deps) (sum Summary, err error) {
	if deps.Lister == nil {
		return Summary{}, errors.New("backup: no Lister")
	}
	e := newEngine(cfg, deps)
	started := e.deps.Now()
	if !deps.DryRun {
		lock, lerr := e.lockTarget()
		if lerr != nil {
			return Summary{}, lerr
		}
		defer lock.Unlock()
		defer func() { e.writeMetrics(sum, err) }() // err: Run's result
		e.startSweep()
		defer e.endSweep()
	}
	ctx, e.abort = context.WithCancelCause(ctx)
	defer e.abort(nil)
	err = e.run(ctx)
	window, peak, cuts := e.flow.stats()
	if peak > 0 {
		e.log.Info("recordings in flight", "peak", peak, "window", window, "halved", cuts)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.warnUnencrypted()
	e.sum.Duration = e.deps.Now().Sub(started)
	e.sum.InFlightPeak, e.sum.InFlightCuts, e.sum.InFlightWindow = peak, cuts, window
	e.sum.Stopped = !e.walked
	return e.sum, explainCredentials(e.cfg, err)
}

// lockTarget creates targetDir (0700) if missing and locks it.
func (e *engine) lockTarget() (*DirLock, error) {
	if err := os.MkdirAll(e.root, dirPerm); err != nil {
		return nil, fileErr(e.root, "create targetDir", err)
	}
	return Lock(e.root)
}

// writeMetrics runs after the work, even when interrupted: it needs no
// context (a local file), so cancellation cannot stop it.
func (e *engine) writeMetrics(sum Summary, runErr error) {
	if e.cfg.MetricsFile == "" {
		return
	}
	r := RunResult{Summary: sum, Instance: e.cfg.InstanceID, End: e.deps.Now(), OK: runErr == nil}
	if err := WriteMetrics(e.cfg.MetricsFile, r); err != nil {
		e.log.Error("cannot write the metrics file", "err", err)
	}
}

// run plans, prepares the clients and walks the shards.
func (e *engine) run(ctx context.Context) error {
	now := e.deps.At
	if now.IsZero() {
		now = e.deps.Now()
	}
	plan, err := MakePlan(e.cfg, now)
	if err != nil {
		return err
	}
	e.sum.Window, e.sum.Shards = plan.Window, len(plan.Shards)
	if err := e.prepare(ctx); err != nil {
		return err
	}
	var state *stateMark
	if !e.deps.DryRun && UsesState(e.cfg) {
		if state, err = newStateMark(e.root); err != nil {
			return err
		}
	}
	return e.shards(ctx, plan, state)
}

// prepare reads the settings, loads the encryption certificate and builds
// the S3 client unless metadata only (or a dry run, which fetches no media).
func (e *engine) prepare(ctx context.Context) error {
	var err error
	if e.settings, err = e.deps.Lister.Settings(ctx); err != nil {
		return fmt.Errorf("read settings: %w", err)
	}
	if e.cfg.MetadataOnly {
		return nil
	}
	if err := e.loadEncryption(); err != nil || e.deps.DryRun || e.store != nil {
		return err
	}
	region := cmp.Or(e.settings.AWSRegion, e.cfg.AWSRegion)
	e.store, err = NewS3Store(ctx, e.cfg, region, e.tun.MaxInFlight*e.tun.PartWorkers, e.log)
	return err
}

// loadEncryption takes the certificate parsed at load, else reads it.
func (e *engine) loadEncryption() error {
	if e.cfg.EncryptionCertificate == "" && e.cfg.EncryptionCert == nil {
		return nil
	}
	var err error
	if e.cipher, err = cms.ParseCipher(cmp.Or(e.cfg.EncryptionFormat, "AES-128")); err != nil {
		return fmt.Errorf("encryptionFormat: %w", err)
	}
	kt, err := cms.ParseKeyTransport(cmp.Or(e.cfg.KeyTransport, "oaep"))
	if err != nil {
		return fmt.Errorf("encryptionKeyTransport: %w", err)
	}
	e.cipher = e.cipher.WithKeyTransport(kt)
	if e.cfg.EncryptionCert != nil {
		e.certs = []*x509.Certificate{e.cfg.EncryptionCert}
		return nil
	}
	e.certs, err = loadCert(e.cfg.EncryptionCertificate)
	return err
}

// loadCert reads the first certificate of a PEM file ("" → none).
func loadCert(path string) ([]*x509.Certificate, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryptionCertificate: %w", err)
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("encryptionCertificate %s: %w", path, err)
		}
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("encryptionCertificate %s: not an RSA certificate", path)
		}
		return []*x509.Certificate{cert}, nil
	}
	return nil, fmt.Errorf("encryptionCertificate %s: no PEM certificate in it", path)
}

// shards walks the shards oldest first (walker). The state file is a
// single "everything before this is done" mark: once a shard has a
// failure, no later shard may move it, though later shards are still
// attempted. walked is set when every shard was visited.
func (e *engine) shards(ctx context.Context, plan Plan, state *stateMark) error {
	w := &walker{e: e, shards: plan.Shards, state: state}
	w.probe, _ = e.deps.Lister.(prober)
	if err := w.walk(ctx); err != nil {
		return err
	}
	e.walked = true
	errs := w.errs
	if err := e.files.Sync(); err != nil { // what failed shards left, for the next run
		errs = append(errs, fmt.Errorf("make the files durable: %w", err))
	}
	if e.sum.Failed > 0 {
		errs = append(errs, fmt.Errorf("%d of %d recordings failed: %w", e.sum.Failed, e.sum.Mine, ErrRecordingsFailed))
	}
	return joinLine(errs)
}

// listed is how many recordings the run has listed so far.
func (e *engine) listed() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sum.Listed
}

// syncShard makes the shard's files and their catalog entries durable, so
// that the state file can move past it.
func (e *engine) syncShard() error {
	if err := e.files.Sync(); err != nil {
		return fmt.Errorf("make the shard's files durable: %w", err)
	}
	if e.deps.Catalog != nil {
		if err := e.deps.Catalog.Sync(); err != nil {
			return fmt.Errorf("make the shard's manifests durable: %w", err)
		}
	}
	return nil
}

// stopped says why the run's context ended: a fatal error of a worker, or
// the user's interrupt (wrapping context.Canceled: exit 130).
func (e *engine) stopped(ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, ctx.Err()) {
		return cause
	}
	return fmt.Errorf("run interrupted: %w", ctx.Err())
}

// fatal reports an error that no other recording could escape: refused
// credentials of S3 or of the API (media fetched through it).
func fatal(err error) bool {
	return errors.As(err, new(*S3AuthError)) || errors.As(err, new(*metadata.AuthError))
}

func shardName(sh sharding.Window) string {
	return "shard " + sh.Start.UTC().Format(sharding.TimeLayout) + ".." + sh.End.UTC().Format(sharding.TimeLayout)
}

// shard lists one shard lazily (one producer) and feeds the recordings of
// this instance to the workers on an unbuffered channel. A failed
// recording is collected, not returned, so it cancels nothing. failed
// reports a failure that must hold the state back (not an invalid id).
func (e *engine) shard(ctx context.Context, log *slog.Logger, sh sharding.Window) (failed bool, err error) {
	jobs := make(chan metadata.Recording)
	var (
		g    errgroup.Group
		mu   sync.Mutex
		hold bool
	)
	g.Go(func() error {
		defer close(jobs)
		return e.deps.Lister.List(ctx, sh.Start, sh.End, func(rec metadata.Recording) error {
			return e.offer(ctx, jobs, rec)
		})
	})
	workers := 2 * e.tun.MaxInFlight // e.flow decides how many of them fetch at once
	if e.cfg.DownloadMode == "single" {
		workers = 1 // the manual's meaning: one recording at a time, its sync included
	}
	for range workers {
		g.Go(func() error {
			for rec := range jobs {
				held := true // a cancelled run holds the state
				// A slot per GET, fetched at once; each comes back when its
				// bytes are in, so more workers than slots keep the wire busy
				// while recordings wait for the disk.
				if s, err := e.flow.take(ctx, len(e.keptMedia(rec))); err == nil {
					held = e.handle(ctx, log, rec, s)
					s.end(!held)
				}
				if held {
					mu.Lock()
					hold = true
					mu.Unlock()
				}
			}
			return nil
		})
	}
	err = g.Wait()
	return hold, err
}

// offer counts a listed recording and sends it to a worker if it is this
// instance's; it checks ctx at every send.
func (e *engine) offer(ctx context.Context, jobs chan<- metadata.Recording, rec metadata.Recording) error {
	total := max(e.cfg.TotalInstances, 1)
	mine := sharding.Instance(rec.ID, total) == e.cfg.InstanceID
	e.mu.Lock()
	e.sum.Listed++
	if mine {
		e.sum.Mine++
	}
	e.mu.Unlock()
	if !mine {
		return nil
	}
	e.prog.Listed(1)
	select {
	case jobs <- rec:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// joinLine joins errors on one line (the user sees one line, spec §9)
// while errors.Is/As still see each of them.
func joinLine(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return multiError(errs)
}

type multiError []error

func (m multiError) Error() string {
	parts := make([]string, len(m))
	for i, err := range m {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (m multiError) Unwrap() []error { return m }

// recordingJSON is the recording as the API sent it, indented; unknown keys
// and their order are kept since only whitespace changes.
func recordingJSON(rec metadata.Recording) ([]byte, error) {
	if len(rec.Raw) == 0 {
		return nil, errors.New("the API gave no JSON for it")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, rec.Raw, "", "  "); err != nil {
		return nil, fmt.Errorf("indent its JSON: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// recordingDir is <targetDir>/<folder of startTime in GMT>/<id>, refused if
// it would leave targetDir.
func (e *engine) recordingDir(rec metadata.Recording) (string, error) {
	return within(e.root, filepath.FromSlash(e.cfg.FolderFor(rec.StartTime)), rec.ID)
}
