package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/decrypt"
)

const demoUsage = `Usage: rcbs demo [-dir DIR] [-recordings N] [-serve]

Starts the embedded simulated recording cloud (recordings API + S3, with
CMS-encrypted media) inside this process, runs a real backup of it into
DIR/target, decrypts the result with the cloud's key into DIR/decrypted, and
prints what it did and where everything is. Needs nothing but the binary.

It ends with a curl search against "rcbs serve" of the demo archive; -serve
keeps that archive served on 127.0.0.1:4000 until Ctrl-C.

Run it twice: the second run downloads nothing (everything is complete on
disk), which is what a cron run does after a successful one.

Example:
  rcbs demo -dir /tmp/rcbs-demo -recordings 200
  rcbs demo -serve

Flags:
`

// demoSeed fixes the demo's recordings, so that a re-run finds the same ones.
const demoSeed = 20180109

func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("dir", "rcbs-demo", "folder for the config, keys, backup and decrypted files")
	n := fs.Int("recordings", 50, "number of recordings in the simulated cloud")
	serveNow := fs.Bool("serve", false, "then serve the demo archive (rcbs serve) until interrupted")
	if err := parseFlags(e, fs, args, demoUsage); err != nil {
		return err
	}
	if *n < 1 || *n > 100000 {
		return usagef("demo: -recordings must be 1..100000 (got %d)", *n)
	}
	return runDemo(ctx, e, *dir, *n, *serveNow)
}

// demoPaths are the demo's files under its folder.
type demoPaths struct{ dir, keys, config, target, decrypted string }

func newDemoPaths(dir string) (demoPaths, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return demoPaths{}, fmt.Errorf("demo: %w", err)
	}
	return demoPaths{dir: abs, keys: filepath.Join(abs, "keys"), config: filepath.Join(abs, "config.properties"),
		target: filepath.Join(abs, "target"), decrypted: filepath.Join(abs, "decrypted")}, nil
}

func runDemo(ctx context.Context, e *env, dir string, n int, serveNow bool) error {
	p, err := newDemoPaths(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cloud, err := startDemoCloud(p, n)
	if err != nil {
		return err
	}
	defer cloud.Close()
	fmt.Fprintf(e.stdout, "rcbs demo: a simulated recording cloud with %d recordings is serving\n  recordings API %s\n  S3             %s\n\n",
		n, cloud.APIURL(), cloud.S3URL())

	cfg, err := writeDemoConfig(e, cloud, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "1. backup: rcbs run -config %s\n", p.config)
	if err := runBackup(ctx, e, cfg, time.Now(), false); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n2. decrypt: rcbs decrypt -force -key %s -out %s %s\n",
		filepath.Join(p.keys, cloudsim.KeyFileName), p.decrypted, p.target)
	if err := demoDecrypt(ctx, e, cloud, p); err != nil {
		return err
	}
	if err := showDemoResult(e, p); err != nil {
		return err
	}
	return showDemoServe(ctx, e, p, serveNow)
}

// startDemoCloud generates the demo's recordings over the two whole days
// before today (UTC), so that a re-run the same day finds the same folders,
// and reuses the key of an earlier run so its archive stays decryptable.
func startDemoCloud(p demoPaths, n int) (*cloudsim.Cloud, error) {
	pass := make([]byte, 12)
	if _, err := rand.Read(pass); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	opts := demoOptions(n, time.Now())
	opts.Password = hex.EncodeToString(pass)
	if key, err := os.ReadFile(filepath.Join(p.keys, cloudsim.KeyFileName)); err == nil {
		opts.KeyPEM = key
	}
	cloud, err := cloudsim.New(opts)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := cloud.Start(); err != nil {
		cloud.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	if _, _, err := cloud.WriteKeys(p.keys); err != nil {
		cloud.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	return cloud, nil
}

// demoOptions are the simulated cloud's options for n recordings on the day of now.
func demoOptions(n int, now time.Time) cloudsim.Options {
	today := now.UTC().Truncate(24 * time.Hour)
	return cloudsim.Options{Recordings: n, Seed: demoSeed, Start: today.AddDate(0, 0, -2), End: today,
		APIMediaShare: 0.1, Username: "demo@rcbs.example"}
}

// writeDemoConfig writes the config.properties the demo runs with (the
// admin can read it as an example) and loads it with the cloud's credentials.
func writeDemoConfig(e *env, cloud *cloudsim.Cloud, p demoPaths) (*config.Config, error) {
	// The cron job's window (maxAge), not the cloud's fixed one: a config
	// with maxDate is a one-off export, which leaves no state file (spec §4).
	var b strings.Builder
	for line := range strings.Lines(cloud.Properties(p.target)) {
		if !strings.HasPrefix(line, "maxDate=") && !strings.HasPrefix(line, "minDate=") {
			b.WriteString(line)
		}
	}
	text := b.String() + "maxAge=3\nnumThreads=8\n"
	if err := os.WriteFile(p.config, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	creds := map[string]string{}
	for _, kv := range cloud.Env() {
		k, v, _ := strings.Cut(kv, "=")
		creds[k] = v
	}
	cfg, warnings, err := config.Parse(text, p.config, func(k string) string { return creds[k] })
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "rcbs: warning: %s\n", w)
	}
	return cfg, err
}

func demoDecrypt(ctx context.Context, e *env, cloud *cloudsim.Cloud, p demoPaths) error {
	key, err := cms.ParseKey(cloud.KeyPEM(), nil)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	con := newConsole(e.stderr) // file errors clear and redraw the bar
	meter := newProgressMeter("files", e.isTerminal, con, newLogger(con, "text"), cronInterval)
	start := time.Now()
	// Force: decrypted/ is the demo's own output, rewritten on every run.
	sum, err := decrypt.Run(ctx, decrypt.Options{Key: key, Out: p.decrypted, Paths: []string{p.target}, Force: true,
		Progress: decryptProgress{m: meter, errs: con}})
	meter.Close()
	fmt.Fprintf(e.stdout, "decrypted %d, copied %d, failed %d, bytes %d, %s\n",
		sum.Decrypted, sum.Copied, sum.Failed, sum.Bytes, time.Since(start).Round(time.Millisecond))
	return err
}

// showDemoResult prints a sample of the two trees and what to try next.
func showDemoResult(e *env, p demoPaths) error {
	sample, err := firstFiles(p.target, ".bin", 1)
	if err != nil || len(sample) == 0 {
		return fmt.Errorf("demo: no media file under %s: %v", p.target, err)
	}
	folder := filepath.Dir(sample[0])
	fmt.Fprintf(e.stdout, "\nOne recording folder of the backup (%s):\n", folder)
	entries, err := os.ReadDir(folder)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, en := range entries {
		if info, err := en.Info(); err == nil {
			fmt.Fprintf(e.stdout, "  %s  %d bytes\n", en.Name(), info.Size())
		}
	}
	rel, _ := filepath.Rel(p.target, sample[0])
	plain := strings.TrimSuffix(filepath.Join(p.decrypted, rel), ".bin")
	if info, err := os.Stat(plain); err == nil {
		fmt.Fprintf(e.stdout, "Decrypted: %s  %d bytes\n", plain, info.Size())
	}
	if text, err := os.ReadFile(p.config); err == nil {
		fmt.Fprintf(e.stdout, "\nThe config.properties it used (credentials are never in the file: rcbs reads them from the environment):\n")
		for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
			fmt.Fprintf(e.stdout, "  %s\n", line)
		}
	}
	fmt.Fprintf(e.stdout, `
Everything is under %s:
  config.properties   the configuration this run used (copy it as a start)
  keys/               the simulated cloud's private key and certificate
  target/             the backup: yyyy/MM/dd/HH/<recordingId>/recording.json + <mediaId>.bin,
                      and last_recording_endtime.txt (where the next run resumes)
  decrypted/          the decrypted media
Run the demo again: nothing is downloaded twice. For a cloud that keeps running,
try "rcbs simulate -listen 127.0.0.1:8080" and "rcbs run -config <its config>".
`, p.dir)
	return nil
}

// firstFiles returns up to n files under root with the suffix, in lexical order.
func firstFiles(root, suffix string, n int) ([]string, error) {
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), suffix) {
			found = append(found, path)
			if len(found) >= n {
				return fs.SkipAll
			}
		}
		return nil
	})
	sort.Strings(found)
	return found, err
}
