package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rcbs/rcbs/backup"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/sharding"
)

const planUsage = `Usage: rcbs plan -config FILE [-json] [-now TIME]

Prints what a run would cover: the download window, its shards (oldest
first), this instance's share, and the state file it read (spec §3, §5).
Contacts nothing and writes nothing; exit 0, or 2 on a configuration error.

-json prints one object, times in RFC 3339 UTC with milliseconds:
  {"start":"…","end":"…","shards":[{"start":"…","end":"…"}],
   "instance":0,"instances":1,"stateFile":"…","recovered":false}

Example (the manual's: on 9 January 2018, maxAge=3 covers 6..9 January):
  rcbs plan -config config.properties -now 2018-01-09T00:00:00Z

Flags:
`

// stamp is the time format of plan's output: RFC 3339 UTC, milliseconds.
const stamp = sharding.TimeLayout

func cmdPlan(ctx context.Context, e *env, args []string) error {
	var cf configFlags
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	if err := parseFlags(e, fs, args, planUsage); err != nil {
		return err
	}
	now, err := cf.resolve("plan")
	if err != nil {
		return err
	}
	if now.IsZero() {
		now = time.Now().UTC()
	}
	cfg, err := loadConfig(e, cf.config)
	if err != nil {
		return err
	}
	p, err := backup.MakePlan(cfg, now)
	if err != nil {
		return err
	}
	if *asJSON {
		return printPlanJSON(e.stdout, p)
	}
	return printPlanText(e.stdout, cfg, p, now)
}

type planWindowJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// planJSON is the shape spec §1 fixes; field order is the output order.
type planJSON struct {
	Start     string           `json:"start"`
	End       string           `json:"end"`
	Shards    []planWindowJSON `json:"shards"`
	Instance  int              `json:"instance"`
	Instances int              `json:"instances"`
	StateFile string           `json:"stateFile"`
	Recovered bool             `json:"recovered"`
}

func printPlanJSON(w io.Writer, p backup.Plan) error {
	out := planJSON{
		Start: p.Window.Start.UTC().Format(stamp), End: p.Window.End.UTC().Format(stamp),
		Shards:   make([]planWindowJSON, 0, len(p.Shards)),
		Instance: p.Instance, Instances: p.Instances, StateFile: p.StateFile, Recovered: p.Recovered,
	}
	for _, s := range p.Shards {
		out.Shards = append(out.Shards, planWindowJSON{s.Start.UTC().Format(stamp), s.End.UTC().Format(stamp)})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // paths stay readable: & and < are not escaped
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// shardsShown bounds the shard lines of the text form; -json lists all.
const shardsShown = 12

func printPlanText(w io.Writer, cfg *config.Config, p backup.Plan, now time.Time) error {
	pw := &errWriter{w: w}
	pw.printf("now         %s\n", now.UTC().Truncate(time.Millisecond).Format(stamp))
	pw.printf("window      %s .. %s  (%s)\n", p.Window.Start.UTC().Format(stamp), p.Window.End.UTC().Format(stamp), span(p.Window.End.Sub(p.Window.Start)))
	pw.printf("shards      %d of shardBy=%s, oldest first\n", len(p.Shards), cfg.Value("shardBy"))
	for i, s := range p.Shards {
		if len(p.Shards) > shardsShown && i == shardsShown-3 {
			pw.printf("  …         %d more\n", len(p.Shards)-shardsShown+1)
		}
		if len(p.Shards) <= shardsShown || i < shardsShown-3 || i >= len(p.Shards)-2 {
			pw.printf("  %-9d %s .. %s\n", i+1, s.Start.UTC().Format(stamp), s.End.UTC().Format(stamp))
		}
	}
	pw.printf("instance    %d of %d\n", p.Instance, p.Instances)
	pw.printf("state file  %s: %s\n", backup.StatePath(cfg.TargetDir), stateText(cfg, p))
	return pw.err
}

// stateText says what the state file did to the window.
func stateText(cfg *config.Config, p backup.Plan) string {
	switch {
	case cfg.SkipLastRecordingCheck:
		return "neither read nor moved (skipLastRecordingCheck=true)"
	case cfg.MaxDate != nil:
		return "neither read nor moved (maxDate is set: a one-off export)"
	}
	l, ok, err := backup.ReadState(cfg.TargetDir)
	switch {
	case err != nil:
		return err.Error()
	case !ok:
		return "absent (a first run: the window comes from maxAge)"
	case p.Recovered:
		return fmt.Sprintf("%s; the start moved back to it minus overlap=%s (recovered)", l.Format(stamp), cfg.Value("overlap"))
	}
	return fmt.Sprintf("%s; start unchanged (now − maxAge is earlier than it minus overlap)", l.Format(stamp))
}

// span writes a duration in days, hours, minutes and seconds: "2d 6h".
func span(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	units := []struct {
		n    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	out := ""
	for _, u := range units {
		if n := d / u.n; n > 0 {
			out += fmt.Sprintf(" %d%s", n, u.name)
			d -= n * u.n
		}
	}
	return out[1:]
}

// errWriter keeps the first write error so a sequence of prints can be
// checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
