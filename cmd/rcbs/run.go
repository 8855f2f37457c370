package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rcbs/rcbs/backup"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/metadata"
)

const runUsage = `Usage: rcbs run -config FILE [-now TIME] [-dry-run]
       rcbs -config FILE [-now TIME] [-dry-run]

One backup run: lists the recordings of the window shard by shard, downloads
the media files not yet on disk (recording.json last), advances
last_recording_endtime.txt past each completed shard. Credentials come from
the environment: GWS_USERNAME, GWS_PASSWORD, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY (or the AWS SDK's default chain).

Progress goes to stderr (a bar on a terminal, a line per 10% otherwise), one
summary line to stdout: "done: …", or "stopped: …" with the same fields when
the run stopped before its last shard (credentials refused or missing, API
unreachable, interrupted), its reason on stderr. Exit 0 all done, 1 some
recordings failed, 2 bad configuration or missing credentials, 3 targetDir
locked by another rcbs, 130 interrupted.

last_recording_endtime.txt is read and moved only by runs without maxDate
and without skipLastRecordingCheck=true (the cron job): a one-off export
into the same targetDir never makes the cron job skip a day.

Examples:
  rcbs -config /etc/rcbs/config.properties
  rcbs run -config config.properties -dry-run

Flags:
`

// cronInterval is the longest silence of the progress lines under cron.
const cronInterval = time.Minute

func cmdRun(ctx context.Context, e *env, args []string) error {
	var cf configFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cf.register(fs)
	dryRun := fs.Bool("dry-run", false, "list what would be downloaded (recording IDs, bytes); write nothing")
	if err := parseFlags(e, fs, args, runUsage); err != nil {
		return err
	}
	now, err := cf.resolve("run")
	if err != nil {
		return err
	}
	cfg, err := loadConfig(e, cf.config)
	if err != nil {
		return err
	}
	return runBackup(ctx, e, cfg, now, *dryRun)
}

// runBackup wires the clients, the progress and the ping around one
// backup.Run and prints the summary.
func runBackup(ctx context.Context, e *env, cfg *config.Config, now time.Time, dryRun bool) error {
	con := newConsole(e.stderr) // log lines clear and redraw the progress bar
	log := newLogger(con, cfg.LogFormat).With("run", newRunID(), "instance", cfg.InstanceID)
	lister, err := newLister(cfg, log)
	if err != nil {
		return err
	}
	meter := newProgressMeter("recordings", e.isTerminal, con, log, cronInterval)
	deps := backup.Deps{Lister: lister, Progress: backupProgress{meter}, Logger: log, At: now, DryRun: dryRun,
		Pending: func(id string, n int64) { fmt.Fprintf(e.stdout, "would download %s %d bytes\n", id, n) }}
	if !dryRun {
		catalog, closeCatalog, err := openCatalog(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer closeCatalog()
		deps.Catalog = catalog
	}
	ping := pinger{url: cfg.PingURL, log: log}
	if !dryRun {
		ping.send(ctx, "/start")
	}
	sum, err := backup.Run(ctx, cfg, deps)
	meter.Close()
	if sum.Shards > 0 {
		fmt.Fprintln(e.stdout, sum.Line())
	}
	logVerified(log, sum)
	if err == nil && !dryRun && cfg.PruneAfterRun {
		err = pruneArchive(ctx, e, cfg, now, false) // spec §14: after each successful run
	}
	if dryRun && err == nil {
		fmt.Fprintf(e.stdout, "dry run: would download %d recordings, %d bytes\n", sum.Pending, sum.PendingBytes)
	}
	if !dryRun {
		ping.result(err)
	}
	return err
}

// logVerified tells how the media written were checked against the
// source, one count per method (none: could not be checked); a log line,
// so stdout keeps the spec §9 summary line alone.
func logVerified(log *slog.Logger, sum backup.Summary) {
	if sum.Verified == nil {
		return
	}
	attrs := make([]any, 0, 2*len(backup.VerifyMethods))
	for _, m := range backup.VerifyMethods {
		attrs = append(attrs, m, sum.Verified[m])
	}
	log.Info("media checked against the source", attrs...)
}

// newLister is the recordings API client of cfg.
func newLister(cfg *config.Config, log *slog.Logger) (*metadata.Client, error) {
	proxy := ""
	if u := cfg.GWSProxyURL(); u != nil {
		proxy = u.String()
	}
	return metadata.NewClient(metadata.Options{
		Prefix:        cfg.GWSURIPrefix,
		RecordingsURI: cfg.GWSRecordingsURI,
		SettingsURI:   cfg.GWSSettingsURI,
		Username:      cfg.GWSUsername,
		Password:      cfg.GWSPassword.Reveal(),
		HTTPClient:    metadata.NewHTTPClient(proxy, cfg.RequestTimeout),
		Timeout:       cfg.RequestTimeout,
		Attempts:      cfg.Retries,
		Logger:        log,
	})
}

// backupProgress shows a backup's progress on a progressMeter.
type backupProgress struct{ m *progressMeter }

func (p backupProgress) Shard(i, n int)                { p.m.Phase(i, n) }
func (p backupProgress) Listed(n int)                  { p.m.AddTotal(n) }
func (p backupProgress) RecordingDone(string, int64)   { p.m.ItemDone() }
func (p backupProgress) RecordingFailed(string, error) { p.m.ItemFailed() }
func (p backupProgress) Bytes(n int64)                 { p.m.AddBytes(n) }

// pingTimeout bounds each ping: a monitoring outage must not hold a backup.
const pingTimeout = 5 * time.Second

// pinger tells a healthchecks-style monitor (pingUrl) that a run started,
// succeeded (<url>) or failed (<url>/fail). A ping never fails the run; the
// URL is not logged (it is the check's secret), only its host.
type pinger struct {
	url string
	log *slog.Logger
}

func (p pinger) result(runErr error) {
	suffix := ""
	if runErr != nil {
		suffix = "/fail"
	}
	// Detached: an interrupted run still reports its failure.
	p.send(context.Background(), suffix)
}

func (p pinger) send(ctx context.Context, suffix string) {
	if p.url == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(p.url, "/")+suffix, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			}
		}
	}
	if err != nil {
		host := ""
		if u, perr := url.Parse(p.url); perr == nil {
			host = u.Host
		}
		p.log.Warn("ping failed", "host", host, "ping", suffix, "err", redactURL(err))
	}
}

// redactURL drops the URL from a net/http error, which would repeat it.
func redactURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// newRunID tells one run's log lines from another's when several runs
// share a log (cron appends, a collector merges instances).
func newRunID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
