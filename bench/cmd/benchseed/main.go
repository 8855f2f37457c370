// Command benchseed is scripts/bench's Go half: it describes, uploads and
// serves the standard download workloads, and turns results.tsv into the
// Markdown tables of BENCHMARKS.md.
//
//	benchseed info   -workload a [-quick] [-recordings N]        key=value lines for the shell
//	benchseed upload -workload a -s3 URL [-parallel 8]           put the media into an S3 server
//	benchseed serve  -workload a -listen 127.0.0.1:0 -ready F    serve the recordings API until SIGTERM
//	benchseed delay  -to HOST:PORT -rtt 20ms -ready F           a TCP proxy adding a round trip (wide-area link)
//	benchseed stats  -api URL                                    requests the API has answered so far
//	benchseed header                                             the header line of results.tsv
//	benchseed report -results results.tsv [-meta meta.txt]       Markdown report on stdout
//
// S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the
// API's Basic auth from GWS_USERNAME / GWS_PASSWORD (none when both unset).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rcbs/rcbs/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchseed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: benchseed info|upload|serve|delay|stats|header|report [flags] (see go doc ./bench/cmd/benchseed)")
	}
	cmds := map[string]func(context.Context, []string, io.Writer) error{
		"info": cmdInfo, "upload": cmdUpload, "serve": cmdServe, "delay": cmdDelay, "stats": cmdStats, "report": cmdReport,
		"header": func(context.Context, []string, io.Writer) error {
			_, err := fmt.Fprintln(out, bench.ResultHeader)
			return err
		},
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q: want info, upload, serve, delay, stats, header or report", args[0])
	}
	return cmd(ctx, args[1:], out)
}

// workloadFlags are the flags that pick a workload.
type workloadFlags struct {
	name       string
	quick      bool
	recordings int
}

func (w *workloadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&w.name, "workload", "a", "workload: a, b or c")
	fs.BoolVar(&w.quick, "quick", false, "the small smoke-test sizes")
	fs.IntVar(&w.recordings, "recordings", 0, "override the recording count (0: the workload's)")
}

func (w *workloadFlags) get() (bench.Workload, error) {
	return bench.Standard(w.name, w.quick, w.recordings)
}

func cmdInfo(_ context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	var wf workloadFlags
	wf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	w, err := wf.get()
	if err != nil {
		return err
	}
	t := w.Totals()
	_, err = fmt.Fprintf(out, "recordings=%d\nmedia=%d\nbytes=%d\nstart_ms=%d\nend_ms=%d\nbucket=%s\nprefix=%s\n",
		t.Recordings, t.Media, t.Bytes, w.Start.UnixMilli(), w.End().UnixMilli(), w.Bucket, w.Prefix)
	return err
}

func cmdUpload(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	var wf workloadFlags
	wf.register(fs)
	endpoint := fs.String("s3", "", "S3 endpoint URL (path-style)")
	parallel := fs.Int("parallel", 8, "concurrent PUTs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w, err := wf.get()
	if err != nil {
		return err
	}
	if *endpoint == "" {
		return errors.New("upload: -s3 is required")
	}
	t := bench.S3Target{Endpoint: *endpoint, Access: os.Getenv("AWS_ACCESS_KEY_ID"), Secret: os.Getenv("AWS_SECRET_ACCESS_KEY")}
	tot, err := bench.Upload(ctx, t, w, *parallel)
	if err != nil {
		return fmt.Errorf("seed workload %s: %w", w.Name, err)
	}
	_, err = fmt.Fprintf(out, "uploaded workload %s: %d objects, %d bytes into s3://%s/%s/\n", w.Name, tot.Media, tot.Bytes, w.Bucket, w.Prefix)
	return err
}
