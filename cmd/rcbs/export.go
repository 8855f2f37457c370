package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/export"
	"github.com/rcbs/rcbs/internal/atomicfile"
	"github.com/rcbs/rcbs/sharding"
)

const exportUsage = `Usage: rcbs export -config FILE -out FILE.zip [-from D] [-to D] [-id ID]... [-agent A] [-ani P] [-key KEY.pem]

Writes the chosen recordings of the archive (targetDir and serveArchives, the
other instances' folders) into one zip: per recording a folder
<start yyyy-MM-dd_HH-mm-ss>_<id>/ with its media files, recording.json and
call-info.pdf (the call's information on one page), and at the end SHA256SUMS
(check: unzip FILE.zip -d x && cd x && sha256sum -c SHA256SUMS).
Without -key the media are the .bin files as stored (encrypted); with -key
they are decrypted and named by their type (.mp3, .mp4, ...).

-from is inclusive and -to exclusive, each YYYY-MM-DD (00:00 GMT) or 13-digit
epoch milliseconds; -ani matches a prefix, -agent one agent id exactly; -id
may be repeated (or comma-separated). The zip is written under a temporary
name beside FILE.zip and renamed when complete: a failed export (a media file
that does not decrypt, a damaged recording.json) leaves no zip behind.

Examples:
  rcbs export -config rcbs.properties -out 2018-02-12.zip -from 2018-02-12 -to 2018-02-13
  RCBS_KEY_PASSPHRASE=... rcbs export -config rcbs.properties -key recordings.key \
      -out call.zip -id 01F62DGIBGD8369P7GC362LAES00000G
  rcbs export -config rcbs.properties -out agent-42.zip -agent 42 -ani +4930

Exit codes: 0 written, 1 export failed (the culprit named on stderr; no zip
left), 2 usage, configuration or key error, 130 interrupted.

Flags:
`

type exportFlags struct {
	config, out, from, to, agent, ani, key string
	ids                                    idList
}

// idList collects repeated (or comma-separated) -id flags.
type idList []string

func (l *idList) String() string { return strings.Join(*l, ",") }

func (l *idList) Set(s string) error {
	for id := range strings.SplitSeq(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			*l = append(*l, id)
		}
	}
	return nil
}

// cmdExport selects recordings, counts them, then writes the zip.
func cmdExport(ctx context.Context, e *env, args []string) error {
	f, err := parseExportFlags(e, args)
	if err != nil {
		return err
	}
	filter, err := f.filter()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(e, f.config)
	if err != nil {
		return err
	}
	opts := export.Options{TempDir: filepath.Dir(f.out)}
	if f.key != "" {
		if opts.Key, err = loadKey("export", f.key, e.getenv("RCBS_KEY_PASSPHRASE")); err != nil {
			return err
		}
	}
	var roots []string
	for _, root := range append([]string{cfg.TargetDir}, cfg.Serve.Archives...) {
		roots = append(roots, filepath.FromSlash(root))
	}
	n, err := countRecordings(ctx, roots, filter)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if n == 0 {
		return errors.New("export: no recording matches (nothing written)")
	}
	start := time.Now()
	meter := newProgressMeter("recordings", e.isTerminal, e.stderr, newLogger(e.stderr, cfg.LogFormat), cronInterval)
	meter.AddTotal(n)
	bytes, err := writeExport(ctx, f.out, roots, filter, opts, meter)
	meter.Close()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(e.stdout, "exported: recordings %d, bytes %d, %s, %s\n", n, bytes, f.out, time.Since(start).Round(time.Millisecond))
	return nil
}

func parseExportFlags(e *env, args []string) (exportFlags, error) {
	var f exportFlags
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.config, "config", "", "configuration `FILE` (required)")
	fs.StringVar(&f.out, "out", "", "the zip `FILE` to write (required)")
	fs.StringVar(&f.from, "from", "", "start (inclusive): `YYYY-MM-DD` GMT or epoch ms")
	fs.StringVar(&f.to, "to", "", "end (exclusive): `YYYY-MM-DD` GMT or epoch ms")
	fs.Var(&f.ids, "id", "a recording `ID` (repeatable, or comma-separated)")
	fs.StringVar(&f.agent, "agent", "", "only recordings with this agent `id`")
	fs.StringVar(&f.ani, "ani", "", "only recordings whose ANI starts with this `prefix`")
	fs.StringVar(&f.key, "key", "", "RSA private key `KEY.pem`: decrypt the media")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, exportUsage)
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
			return f, err
		}
		return f, usagef("export: %v (see rcbs export -h)", err)
	}
	switch {
	case fs.NArg() > 0:
		return f, usagef("export: unexpected argument %q (see rcbs export -h)", fs.Arg(0))
	case f.config == "":
		return f, usagef("export: -config FILE is required (see rcbs export -h)")
	case f.out == "":
		return f, usagef("export: -out FILE.zip is required (see rcbs export -h)")
	}
	return f, nil
}

func (f exportFlags) filter() (export.Filter, error) {
	filter := export.Filter{IDs: f.ids, Agent: f.agent, ANI: f.ani}
	for _, d := range []struct {
		name, value string
		to          *time.Time
	}{{"-from", f.from, &filter.From}, {"-to", f.to, &filter.To}} {
		if d.value == "" {
			continue
		}
		t, err := sharding.ParseDate(d.value)
		if err != nil {
			return filter, usagef("export: %s %q %v", d.name, d.value, err)
		}
		*d.to = t
	}
	if !filter.From.IsZero() && !filter.To.IsZero() && !filter.From.Before(filter.To) {
		return filter, usagef("export: -from %s must be before -to %s", f.from, f.to)
	}
	return filter, nil
}

// countRecordings counts what the filter selects. An -id that selects
// nothing fails the export: a zip that silently lacks a recording asked
// for by name would mislead whoever receives it.
func countRecordings(ctx context.Context, roots []string, filter export.Filter) (int, error) {
	n := 0
	found := map[string]bool{}
	err := export.Select(ctx, roots, filter, func(_ string, info archive.Info) error {
		n++
		found[info.ID] = true
		return nil
	})
	if err != nil {
		return n, err
	}
	for _, id := range filter.IDs {
		if !found[id] {
			return n, fmt.Errorf("recording %s: not in the archive, or outside the other filters (nothing written)", id)
		}
	}
	return n, nil
}

// writeExport writes the zip under a temporary name beside out and renames
// it into place only when every recording made it in.
func writeExport(ctx context.Context, out string, roots []string, filter export.Filter, opts export.Options, meter *progressMeter) (int64, error) {
	file, err := atomicfile.Create(out, atomicfile.FilePerm)
	if err != nil {
		return 0, err
	}
	defer file.Abort()
	zw := export.NewWriter(file, opts)
	defer zw.Abort()
	var bytes int64
	err = export.Select(ctx, roots, filter, func(dir string, _ archive.Info) error {
		added, err := zw.Add(ctx, dir)
		if err != nil {
			return err
		}
		bytes += added.Bytes
		meter.AddBytes(added.Bytes)
		meter.ItemDone()
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return bytes, file.Commit(-1)
}
