package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// simulateFlags are the command line of `rcbs simulate`.
type simulateFlags struct {
	listen, s3Listen, s3Endpoint string
	dir, faults, profile, paging string
	user, password               string
	start, end                   string
	recordings                   int
	seed                         int64
	legacyCap                    bool
	apiMedia, unencrypted        float64
}

func parseSimulateFlags(e *env, args []string) (*simulateFlags, error) {
	f := &simulateFlags{}
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:0", "`address` of the recordings API (port 0: any free port)")
	fs.StringVar(&f.s3Listen, "s3-listen", "", "`address` of the S3 endpoint (default: the -listen host, any free port)")
	fs.StringVar(&f.s3Endpoint, "s3", "", "also upload the media to this external S3 `endpoint` (versitygw, MinIO); keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
	fs.StringVar(&f.dir, "dir", "rcbs-sim", "`folder` for the key, certificate, config.properties and env.sh (a key found there is reused)")
	fs.StringVar(&f.faults, "faults", "", "fault `spec`, e.g. api=0.1,s3=0.1,kinds=500+503+429+reset+truncate,latency=20ms,never=KEY,retry-after=1s")
	fs.StringVar(&f.profile, "profile", "small", "media sizes: small (1–64 KB) or large (8–64 MB, kept in files)")
	fs.StringVar(&f.paging, "paging", cloudsim.PagingPath, "paging.next as a path, an absolute URL, or none")
	fs.StringVar(&f.user, "user", "rcbs", "Basic auth user the API demands (empty user and password: no auth)")
	fs.StringVar(&f.password, "password", "rcbs-sim", "Basic auth password (a test credential: it is printed)")
	fs.StringVar(&f.start, "start", "", "recordings start at or after this RFC 3339 `time` (default: 2 days before now)")
	fs.StringVar(&f.end, "end", "", "recordings start before this RFC 3339 `time` (default: now)")
	fs.IntVar(&f.recordings, "recordings", 20, "number of recordings")
	fs.Int64Var(&f.seed, "seed", 1, "generator seed: the same seed and window give the same recordings")
	fs.BoolVar(&f.legacyCap, "legacy-cap", false, "behave as a legacy server: every query capped at its first 100 results, offset ignored")
	fs.Float64Var(&f.apiMedia, "api-media", 0, "`share` of media served by the API (mediaUri/mediaPath) instead of S3")
	fs.Float64Var(&f.unencrypted, "unencrypted", 0, "`share` of media stored unencrypted")
	fs.Usage = func() { simulateUsage(fs) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("simulate: unexpected argument %q (see rcbs simulate -h)", fs.Arg(0))
	}
	return f, nil
}

func simulateUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, `Usage: rcbs simulate [flags]

Serves a simulated recording cloud (recordings API + S3) until Ctrl-C, and
prints a config.properties and the environment with which rcbs backs it up.
The API and S3 listen on two ports. Exit 0 when stopped.

Example:
  rcbs simulate -listen 127.0.0.1:8080 -recordings 500 -faults api=0.05,s3=0.05
  . rcbs-sim/env.sh && rcbs -config rcbs-sim/config.properties
  rcbs decrypt -key rcbs-sim/rcbs-sim.key.pem -out plain rcbs-sim/target

Flags:
`)
	fs.PrintDefaults()
}

// cmdSimulate runs `rcbs simulate`. A Ctrl-C is its normal end, so it
// returns nil then (exit 0), not an interruption.
func cmdSimulate(ctx context.Context, e *env, args []string) error {
	f, err := parseSimulateFlags(e, args)
	if err != nil {
		return err
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	cloud, err := cloudsim.New(opts)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	defer cloud.Close()
	if err := f.serve(ctx, e, cloud); err != nil {
		return err
	}
	if err := f.printSetup(e.stdout, cloud); err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "simulate: stopped")
	return nil
}

// options turns the flags into cloudsim options, reusing a key left in -dir.
func (f *simulateFlags) options() (cloudsim.Options, error) {
	api, s3, err := cloudsim.ParseFaults(f.faults)
	if err != nil {
		return cloudsim.Options{}, usagef("simulate: %v", err)
	}
	o := cloudsim.Options{
		Recordings: f.recordings, Seed: f.seed, Profile: f.profile, Paging: f.paging,
		LegacyCap: f.legacyCap, APIMediaShare: f.apiMedia, UnencryptedShare: f.unencrypted,
		Username: f.user, Password: f.password, APIFaults: api, S3Faults: s3,
	}
	if f.recordings <= 0 {
		return o, usagef("simulate: -recordings must be at least 1 (got %d)", f.recordings)
	}
	if o.Start, o.End, err = f.window(); err != nil {
		return o, err
	}
	key, err := os.ReadFile(filepath.Join(f.dir, cloudsim.KeyFileName))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return o, fmt.Errorf("simulate: read the key of %s: %w", f.dir, err)
	}
	o.KeyPEM = key
	return o, nil
}

// window reads -start/-end; both unset keep cloudsim's default (the two
// days before now), one alone is anchored to the other with two days.
func (f *simulateFlags) window() (start, end time.Time, err error) {
	if f.start == "" && f.end == "" {
		return time.Time{}, time.Time{}, nil
	}
	end = time.Now().UTC().Truncate(time.Minute)
	if f.end != "" {
		if end, err = time.Parse(time.RFC3339, f.end); err != nil {
			return start, end, usagef("simulate: -end: want RFC 3339, e.g. 2018-01-06T00:00:00Z (got %q)", f.end)
		}
	}
	start = end.Add(-48 * time.Hour)
	if f.start != "" {
		if start, err = time.Parse(time.RFC3339, f.start); err != nil {
			return start, end, usagef("simulate: -start: want RFC 3339, e.g. 2018-01-04T00:00:00Z (got %q)", f.start)
		}
	}
	if !start.Before(end) {
		return start, end, usagef("simulate: -start must be before -end")
	}
	return start, end, nil
}

// serve binds the two ports and, with -s3, uploads the media to the
// external S3.
func (f *simulateFlags) serve(ctx context.Context, e *env, cloud *cloudsim.Cloud) error {
	apiLn, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usagef("simulate: -listen: %v", err)
	}
	s3Addr := f.s3Listen
	if s3Addr == "" {
		host, _, _ := net.SplitHostPort(f.listen)
		s3Addr = net.JoinHostPort(host, "0")
	}
	s3Ln, err := net.Listen("tcp", s3Addr)
	if err != nil {
		apiLn.Close()
		return usagef("simulate: -s3-listen: %v", err)
	}
	cloud.ServeOn(apiLn, s3Ln)
	if f.s3Endpoint == "" {
		return nil
	}
	access, secret := e.getenv("AWS_ACCESS_KEY_ID"), e.getenv("AWS_SECRET_ACCESS_KEY")
	if access == "" || secret == "" {
		return usagef("simulate: -s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
	}
	fmt.Fprintf(e.stderr, "simulate: uploading the media to %s\n", f.s3Endpoint)
	if err := cloud.UploadTo(ctx, f.s3Endpoint, access, secret); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	return nil
}

// printSetup writes the key, config.properties and env.sh into -dir and
// prints them with a first request to try.
func (f *simulateFlags) printSetup(w io.Writer, cloud *cloudsim.Cloud) error {
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	keyPath, certPath, err := cloud.WriteKeys(dir)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	props := cloud.Properties(filepath.Join(dir, "target"))
	var env strings.Builder
	for _, kv := range cloud.Env() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&env, "export %s=%s\n", k, shellQuote(v))
	}
	for name, content := range map[string]string{"config.properties": props, "env.sh": env.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	o := cloud.Options()
	fmt.Fprintf(w, "# rcbs simulated recording cloud: %d recordings (seed %d), API %s, S3 %s\n",
		len(cloud.Recordings()), o.Seed, cloud.APIURL(), cloud.S3URL())
	fmt.Fprintf(w, "# --- %s\n%s", filepath.Join(dir, "config.properties"), props)
	fmt.Fprintf(w, "# --- %s\n%s", filepath.Join(dir, "env.sh"), env.String())
	fmt.Fprintf(w, "# recipient key: %s (certificate %s)\n", keyPath, certPath)
	auth := ""
	if o.Username != "" || o.Password != "" {
		auth = "-u " + shellQuote(o.Username+":"+o.Password) + " "
	}
	fmt.Fprintf(w, "# try: curl %s'%s/recordings?startTime=%d&endTime=%d&fields=*&limit=100'\n",
		auth, cloud.APIURL(), o.Start.UnixMilli(), o.End.UnixMilli())
	fmt.Fprintf(w, "#      aws --endpoint-url %s s3 ls --recursive s3://%s\n", cloud.S3URL(), o.Bucket)
	fmt.Fprintf(w, "# then: . %s && rcbs -config %s\n# serving until Ctrl-C\n", filepath.Join(dir, "env.sh"), filepath.Join(dir, "config.properties"))
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
