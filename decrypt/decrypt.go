// Package decrypt decrypts downloaded recordings: every *.bin file under
// the given files and folders, in parallel, each to a temporary file that is
// renamed into place only when the CMS padding or tag checks out (spec §8).
// It never prints; the command reports through Progress and the Summary.
package decrypt

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// ErrSomeFailed is wrapped by Run's error when at least one file failed:
// the command exits 1.
var ErrSomeFailed = errors.New("some files could not be decrypted")

// ErrKeyMismatch: Options.Key is not the private key of Options.Cert. Run
// returns it before touching any file: every file would fail the same way.
var ErrKeyMismatch = errors.New("the private key does not belong to the certificate")

// Options say what to decrypt and where.
type Options struct {
	Key   *rsa.PrivateKey   // required
	Cert  *x509.Certificate // optional: match the RecipientInfo exactly
	Out   string            // "" = plaintext beside each input; else mirror each PATH under Out
	Jobs  int               // parallel files; 0 = runtime.NumCPU()
	Force bool              // replace existing outputs; without it they are skipped
	Paths []string          // files (*.bin) and folders
	// Progress is told the totals and each finished file; nil = silent.
	Progress Progress
}

// Progress is what Run reports while it works. Run serialises the calls,
// so implementations need no locking.
type Progress interface {
	// Total is called once, after the walk, before any file is done.
	Total(files int, bytes int64)
	// FileDone is called for every file (decrypted, copied, skipped or
	// failed) with its input size; err is nil unless it failed.
	FileDone(path string, bytes int64, err error)
}

// Summary counts what Run did.
type Summary struct {
	Decrypted int          // plaintext files written
	Copied    int          // recording.json files copied (with Out)
	Skipped   int          // outputs already present, kept (without Force)
	Failed    int          // files that failed, each in Errors
	Bytes     int64        // plaintext bytes written
	Errors    []*FileError // in completion order
}

// FileError is one failed file; its message is one line naming the file.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Run decrypts every *.bin under opts.Paths. An output that exists already
// is kept and counted as skipped (unless opts.Force), so a re-run over a
// growing tree does only the new files. A failing file does not stop the
// others; Run then returns the Summary and an error wrapping ErrSomeFailed.
// A key that does not match opts.Cert is ErrKeyMismatch, before any file.
// When ctx is cancelled, files in flight are abandoned (their temporary
// files removed) and Run returns ctx's error.
func Run(ctx context.Context, opts Options) (Summary, error) {
	if opts.Key == nil {
		return Summary{}, errors.New("decrypt: no private key")
	}
	if len(opts.Paths) == 0 {
		return Summary{}, errors.New("decrypt: no files or folders given")
	}
	if opts.Cert != nil && !opts.Key.PublicKey.Equal(opts.Cert.PublicKey) {
		return Summary{}, fmt.Errorf("decrypt: %w", ErrKeyMismatch)
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	r := &runner{opts: opts, progress: opts.Progress}
	if r.progress == nil {
		r.progress = nopProgress{}
	}
	plan := planJobs(opts.Paths, opts.Out)
	r.progress.Total(len(plan.jobs)+len(plan.errs), plan.bytes)
	for _, e := range plan.errs {
		r.record(ctx, job{src: e.Path}, 0, e.Err)
	}
	r.work(ctx, plan.jobs)
	return r.finish(ctx)
}

type nopProgress struct{}

func (nopProgress) Total(int, int64)              {}
func (nopProgress) FileDone(string, int64, error) {}

// runner is one Run's shared state; mu guards sum and progress calls.
type runner struct {
	opts     Options
	progress Progress
	mu       sync.Mutex
	sum      Summary
}

// work feeds jobs to opts.Jobs workers and waits for them.
func (r *runner) work(ctx context.Context, jobs []job) {
	ch := make(chan job)
	var wg sync.WaitGroup
	for range min(r.opts.Jobs, max(len(jobs), 1)) {
		wg.Go(func() {
			for j := range ch {
				n, err := r.do(ctx, j)
				r.record(ctx, j, n, err)
			}
		})
	}
	defer wg.Wait()
	defer close(ch)
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			return
		}
	}
}

func (r *runner) do(ctx context.Context, j job) (int64, error) {
	if j.copy {
		return copyFile(ctx, j, r.opts.Force)
	}
	return decryptFile(ctx, j, r.opts)
}

// record counts one finished job. A job cut short by cancellation is not
// reported as a failure: Run returns the cancellation instead.
func (r *runner) record(ctx context.Context, j job, n int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && (ctx.Err() != nil || ctxErr(err)) {
		return
	}
	switch {
	case errors.Is(err, errOutputExists):
		r.sum.Skipped++
		err = nil
	case err != nil:
		fe := &FileError{Path: j.src, Err: err}
		r.sum.Failed++
		r.sum.Errors = append(r.sum.Errors, fe)
		err = fe
	case j.copy:
		r.sum.Copied++
	default:
		r.sum.Decrypted++
		r.sum.Bytes += n
	}
	r.progress.FileDone(j.src, j.size, err)
}

func ctxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (r *runner) finish(ctx context.Context) (Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return r.sum, fmt.Errorf("decrypt: %w", err)
	}
	if r.sum.Failed > 0 {
		return r.sum, fmt.Errorf("decrypt: %w: %d of %d", ErrSomeFailed, r.sum.Failed, r.sum.Failed+r.sum.Decrypted+r.sum.Copied+r.sum.Skipped)
	}
	return r.sum, nil
}
