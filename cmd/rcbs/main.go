// Command rcbs backs up call recordings from a vendor's recording cloud
// (metadata from the recordings API, encrypted media from S3) to local disk,
// and decrypts them offline. See README.md and doc/spec.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/rcbs/rcbs/backup"
	"github.com/rcbs/rcbs/config"
)

// Exit codes (spec §9).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitLocked      = 3
	exitInterrupted = 130
)

// env is what a command may touch of the outside world, passed in so that
// tests can run commands in-process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader // nil: nothing to read
	getenv         func(string) string
	// isTerminal: stderr, where the progress bar is drawn, is a terminal.
	// Not stdout: `rcbs … 2>>log` from a terminal must not put bar frames
	// into the log.
	isTerminal bool
	// logFormat is the loaded config's logFormat: with "json" even the
	// final error line is a JSON object (spec §9).
	logFormat string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"run", "one backup run (the default command)", cmdRun},
		{"plan", "print the window, shards and instance split; contact nothing", cmdPlan},
		{"decrypt", "decrypt downloaded *.bin files or whole trees", cmdDecrypt},
		{"export", "write chosen recordings to a zip with call-info PDFs", cmdExport},
		{"demo", "back up and decrypt an embedded simulated cloud", cmdDemo},
		{"simulate", "serve a simulated recording cloud (API + S3)", cmdSimulate},
		{"index", "rebuild the archive's search index from the tree", cmdIndex},
		{"serve", "serve the archive: search API, signed links, media streaming", cmdServe},
		{"verify", "prove the archive whole: sizes, sha256 manifests, signatures, gaps", cmdVerify},
		{"prune", "apply the retention policy: trash or delete expired recordings", cmdPrune},
		{"version", "print version, Go version and commit", cmdVersion},
	}
}

// softMemoryLimit makes the garbage collector work harder before the heap
// passes it, unless GOMEMLIMIT says otherwise. rcbs's own memory is bounded
// by its workers (tens of MB), but a hostile 50 MB listing page or a burst
// of serve clients can leave garbage that the default pacing (collect at
// twice the live heap) lets RSS double over.
const softMemoryLimit = 200 << 20

// runMemoryLimit is the backup run's: its Go memory is its request window
// (128 requests, their buffers, connections and goroutines: about 30 MiB
// live at 80 ms from S3), and at the default pacing it retained up to 46 MiB
// — with the binary's own pages (~22 MiB), past the 64 MB a run may take.
// Measured at 80 ms round trips (BENCHMARKS.md, issue 12): 40 MiB keeps the
// peak RSS near 60 MiB at no measurable CPU cost; 24 MiB made the collector
// run constantly (twice the CPU). A huge listing page still decodes: past
// the limit the collector is capped at half the CPU, not stopped.
const runMemoryLimit = 40 << 20

// memoryLimit is the soft limit for the command args name.
func memoryLimit(args []string) int64 {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") || args[0] == "run" {
		return runMemoryLimit
	}
	return softMemoryLimit
}

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(os.Args[1:]))
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go interrupts(sigs, cancel, os.Stderr, os.Exit)
	e := newEnv(os.Stdout, os.Stderr)
	code := runMain(ctx, e, os.Args[1:])
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}

// newEnv is the real outside world: the bar goes where it is drawn.
func newEnv(stdout, stderr *os.File) *env {
	return &env{stdout: stdout, stderr: stderr, stdin: os.Stdin, getenv: os.Getenv, isTerminal: isTerminal(stderr)}
}

// interrupts turns the first SIGINT/SIGTERM into a cancelled context (the
// run stops, discards in-flight files, reports and exits 130) and a second
// one into an exit 130 at once, for a user who will not wait for that
// cleanup (a ping or a metrics write to a hung mount). Nothing half-written
// is left under a final name either way: files are renamed only when whole.
func interrupts(sigs <-chan os.Signal, cancel context.CancelFunc, stderr io.Writer, exit func(int)) {
	<-sigs
	cancel()
	<-sigs
	fmt.Fprintln(stderr, "rcbs: interrupted again: exiting now")
	exit(exitInterrupted)
}

// runMain dispatches to a command and maps its error to an exit code.
func runMain(ctx context.Context, e *env, args []string) int {
	if hint := dashHint(args); hint != "" {
		fmt.Fprintln(e.stderr, "rcbs:", hint)
		return exitUsage
	}
	name := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && isHelpFlag(args[0]) {
		usage(e.stdout)
		return exitOK
	}
	if name == "help" {
		usage(e.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return report(ctx, e, c.run(ctx, e, args))
		}
	}
	fmt.Fprintf(e.stderr, "rcbs: unknown command %q (see rcbs -h)\n", name)
	return exitUsage
}

// dashHint names an argument that starts with an en or em dash: what
// copy-paste from a typeset manual makes of "-config". Go's flag package
// would take it for a command or a path and fail far from the cause.
func dashHint(args []string) string {
	for _, a := range args {
		for _, d := range []struct{ dash, name string }{{"\u2013", "an en dash"}, {"\u2014", "an em dash"}} {
			if rest, ok := strings.CutPrefix(a, d.dash); ok {
				rest = strings.TrimLeft(rest, "\u2013\u2014-")
				return fmt.Sprintf("use -%s, not %s (%s from copy-paste)", rest, a, d.name)
			}
		}
	}
	return ""
}

func isHelpFlag(s string) bool {
	switch s {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// usageError is a bad command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// report prints err as one line and returns its exit code: the one place
// where errors become exit codes.
func report(ctx context.Context, e *env, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var (
		cfgErr  *config.Error
		fileErr *config.FileError
		useErr  *usageError
		lockErr *backup.LockedError
		credErr *backup.MissingCredentialsError
	)
	code := exitFailed
	switch {
	case errors.As(err, &cfgErr), errors.As(err, &fileErr), errors.As(err, &useErr), errors.As(err, &credErr):
		code = exitUsage
	case errors.As(err, &lockErr):
		code = exitLocked
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		code = exitInterrupted
	}
	if e.logFormat == "json" {
		newLogger(e.stderr, "json").Error(err.Error(), "exit", code)
		return code
	}
	fmt.Fprintf(e.stderr, "rcbs: %v\n", err)
	return code
}

func usage(w io.Writer) {
	fmt.Fprint(w, `rcbs backs up call recordings (metadata + encrypted media) from the recording
cloud to local disk, and decrypts them offline.

Usage:
  rcbs -config config.properties          one backup run (same as "rcbs run")
  rcbs <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "rcbs <command> -h" for a command's flags and an example.

Exit codes:
  0    all done
  1    some recordings failed (the state file is not advanced past them)
  2    configuration or usage error, or credentials missing from the environment
  3    targetDir is locked by another rcbs
  130  interrupted (SIGINT/SIGTERM); the next run resumes
`)
}
