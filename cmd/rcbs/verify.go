package main

import (
	"context"
	"crypto/rsa"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/rcbs/rcbs/backup"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/sharding"
	"github.com/rcbs/rcbs/verify"
)

const verifyUsage = `Usage: rcbs verify -config FILE [-from D] [-to D] [-key KEY.pem] [-remote] [-repair] [-adopt]

Proves the archive whole (spec §13): every file a day manifest lists is there
with its sha256, every media file a recording.json names is there with its
size, no file is in no manifest, the manifests' signature chain holds.
Each problem is one line on stdout, then the summary:
  verified: recordings N, files F, bytes B, missing M, corrupt C, unlisted U, signatures ok|broken|absent|unsigned, <duration>

-from/-to select recordings by startTime (from inclusive, to exclusive; a
date YYYY-MM-DD is 00:00 GMT). -key also decrypts every media file to its end
(padding and GCM tag checked, the plaintext discarded; an encrypted key takes
its passphrase from RCBS_KEY_PASSPHRASE). -remote also lists the recordings
API and reports each recording of this instance the archive lacks (default
range: from the archive's earliest recording to the backup window's end).
-repair moves what is missing or corrupt aside to .rcbs/repair/, downloads
those recordings again through the backup engine and verifies again.
-adopt lists the files no manifest lists (an archive written before rcbs kept
manifests) in their day's manifest as they stand, signed with manifestKey.

Exit 0 clean, 1 any problem, 2 bad configuration or flags, 3 targetDir locked
(-repair, -adopt).

Examples:
  rcbs verify -config /etc/rcbs/config.properties
  rcbs verify -config config.properties -remote -from 2024-03-01 -to 2024-04-01

Flags:
`

// verifyFlags are verify's command line.
type verifyFlags struct {
	configFlags
	from, to, key         string
	remote, repair, adopt bool
	fromTime, toTime, now time.Time
	decryptKey            *rsa.PrivateKey
}

func cmdVerify(ctx context.Context, e *env, args []string) error {
	f, err := parseVerifyFlags(e, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(e, f.config)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, cfg.LogFormat)
	if f.adopt {
		if err := adopt(ctx, e, cfg, f); err != nil {
			return err
		}
	}
	res, gaps, err := verifyOnce(ctx, e, cfg, f, log)
	if err != nil {
		return err
	}
	if f.repair && res.Problems() > 0 {
		if err := repairArchive(ctx, e, cfg, f, log, res, gaps); err != nil {
			return err
		}
		if res, _, err = verifyOnce(ctx, e, cfg, f, log); err != nil {
			return err
		}
	}
	if n := res.Problems(); n > 0 {
		return fmt.Errorf("verify: %d problems in %s", n, cfg.TargetDir)
	}
	return nil
}

func parseVerifyFlags(e *env, args []string) (*verifyFlags, error) {
	var f verifyFlags
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	f.register(fs)
	fs.StringVar(&f.from, "from", "", "recordings starting at or after `D` (YYYY-MM-DD or RFC 3339)")
	fs.StringVar(&f.to, "to", "", "recordings starting before `D` (YYYY-MM-DD or RFC 3339)")
	fs.StringVar(&f.key, "key", "", "RSA private `KEY.pem`: also decrypt every media file to its end")
	fs.BoolVar(&f.remote, "remote", false, "also report recordings the recordings API has and the archive lacks")
	fs.BoolVar(&f.repair, "repair", false, "download again what is missing or corrupt, then verify again")
	fs.BoolVar(&f.adopt, "adopt", false, "list files that no manifest lists in their day's manifest, as they stand")
	if err := parseFlags(e, fs, args, verifyUsage); err != nil {
		return nil, err
	}
	var err error
	if f.now, err = f.resolve("verify"); err != nil {
		return nil, err
	}
	if f.now.IsZero() {
		f.now = time.Now().UTC()
	}
	if f.fromTime, err = parseWhen("verify", "-from", f.from); err != nil {
		return nil, err
	}
	if f.toTime, err = parseWhen("verify", "-to", f.to); err != nil {
		return nil, err
	}
	if !f.fromTime.IsZero() && !f.toTime.IsZero() && !f.fromTime.Before(f.toTime) {
		return nil, usagef("verify: -from %s must be before -to %s", f.from, f.to)
	}
	if f.key != "" {
		if f.decryptKey, err = loadKey("verify", f.key, e.getenv("RCBS_KEY_PASSPHRASE")); err != nil {
			return nil, err
		}
	}
	return &f, nil
}

// parseWhen reads a -from/-to value: a date (00:00 GMT), epoch ms or RFC 3339.
func parseWhen(cmd, name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	t, err := sharding.ParseDate(v)
	if err != nil {
		return time.Time{}, usagef("%s: %s must be a date YYYY-MM-DD, epoch milliseconds or an RFC 3339 time (got %q)", cmd, name, v)
	}
	return t, nil
}

// verifyOnce runs one verification (and the gap report under -remote),
// printing each problem and the summary line.
func verifyOnce(ctx context.Context, e *env, cfg *config.Config, f *verifyFlags, log *slog.Logger) (verify.Result, []verify.Gap, error) {
	opts := verify.Options{
		Root: cfg.TargetDir, From: f.fromTime, To: f.toTime, SignatureKey: cfg.SignatureKey(), DecryptKey: f.decryptKey,
		Kept:   func(typ string) bool { return !cfg.MetadataOnly && cfg.MediaTypePattern.MatchString(typ) },
		Report: func(line string) { fmt.Fprintln(e.stdout, line) },
		Note:   func(line string) { fmt.Fprintln(e.stderr, "rcbs: "+line) },
	}
	res, err := verify.Run(ctx, opts)
	if err != nil {
		return res, nil, err
	}
	var gaps []verify.Gap
	if f.remote {
		started := time.Now()
		if gaps, err = remoteGaps(ctx, cfg, f, log, res, opts.Report); err != nil {
			return res, gaps, err
		}
		res.AddGaps(gaps)
		res.Duration += time.Since(started)
	}
	fmt.Fprintln(e.stdout, res.Line())
	return res, gaps, nil
}

// remoteGaps lists the API over -from/-to, or by default from the
// archive's earliest recording (or the window's start) to the window's end.
func remoteGaps(ctx context.Context, cfg *config.Config, f *verifyFlags, log *slog.Logger, res verify.Result, report func(string)) ([]verify.Gap, error) {
	plan, err := backup.MakePlan(cfg, f.now)
	if err != nil {
		return nil, err
	}
	from, to := f.fromTime, f.toTime
	if from.IsZero() {
		from = plan.Window.Start
		if !res.Earliest.IsZero() && res.Earliest.Before(from) {
			from = res.Earliest
		}
	}
	if to.IsZero() {
		to = plan.Window.End
	}
	lister, err := newLister(cfg, log)
	if err != nil {
		return nil, err
	}
	return verify.Gaps(ctx, lister, from, to, verify.Remote{
		Root:   cfg.TargetDir,
		Mine:   func(id string) bool { return sharding.Instance(id, cfg.TotalInstances) == cfg.InstanceID },
		Folder: cfg.FolderFor,
		Report: report,
	})
}
