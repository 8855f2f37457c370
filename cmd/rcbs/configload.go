package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rcbs/rcbs/config"
)

// loadConfig reads the configuration for run and plan: every warning goes
// to stderr as "rcbs: warning: …" (even when the file then fails), and a bad
// file or value comes back as the *config.FileError or *config.Error that
// main maps to exit 2.
func loadConfig(e *env, path string) (*config.Config, error) {
	cfg, warnings, err := config.Load(path, e.getenv)
	if cfg != nil {
		e.logFormat = cfg.LogFormat
	}
	for _, w := range warnings {
		if e.logFormat == "json" {
			newLogger(e.stderr, "json").Warn(w)
		} else {
			fmt.Fprintf(e.stderr, "rcbs: warning: %s\n", w)
		}
	}
	return cfg, err
}

// configFlags are the flags run and plan share. -config has no default:
// running against whatever config.properties happens to be in the working
// directory is how backups end up in the wrong place.
type configFlags struct {
	config string
	now    string
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "configuration `FILE` (Java .properties; required)")
	fs.StringVar(&f.now, "now", "", "fix \"now\" to this RFC 3339 `time`, e.g. 2018-01-09T00:00:00Z (default: the clock)")
}

// resolve checks the flags after parsing; cmd names the command in
// messages. now is zero when -now was not given.
func (f *configFlags) resolve(cmd string) (now time.Time, err error) {
	if f.config == "" {
		return time.Time{}, usagef("%s: -config FILE is required (see rcbs %s -h)", cmd, cmd)
	}
	if f.now == "" {
		return time.Time{}, nil
	}
	now, err = time.Parse(time.RFC3339Nano, f.now)
	if err != nil {
		return time.Time{}, usagef("%s: -now must be an RFC 3339 time such as 2018-01-09T00:00:00Z (got %q)", cmd, f.now)
	}
	return now.UTC(), nil
}

// parseFlags parses args with fs, the way every rcbs command does: -h
// prints usage and the flags to stdout (exit 0), a bad flag or a stray
// argument is a usage error (exit 2) in one line.
func parseFlags(e *env, fs *flag.FlagSet, args []string, usage string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, usage)
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
			return err
		}
		return usagef("%s: %v (see rcbs %s -h)", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q (see rcbs %s -h)", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}
