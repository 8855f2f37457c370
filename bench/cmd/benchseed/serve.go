package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rcbs/rcbs/bench"
)

// cmdServe serves the workload's recordings API until the context ends.
// The ready file gets the gwsUriPrefix once the port listens, written
// atomically, so the shell can wait for it without parsing a log.
func cmdServe(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var wf workloadFlags
	wf.register(fs)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on")
	ready := fs.String("ready", "", "file to write the API URL into once listening")
	logRequests := fs.Bool("log", false, "log every request to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w, err := wf.get()
	if err != nil {
		return err
	}
	api := &bench.API{W: w, Username: os.Getenv("GWS_USERNAME"), Password: os.Getenv("GWS_PASSWORD")}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	prefix := "http://" + ln.Addr().String() + bench.APIPrefix
	if err := writeReady(*ready, prefix); err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, "serving workload %s (%d recordings) at %s\n", w.Name, w.Recordings, prefix)
	h := api.Handler()
	if *logRequests {
		h = logged(h)
	}
	return serveUntilDone(ctx, ln, h)
}

// logged prints each request's method and URL (never its headers: they
// carry the Basic auth).
func logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "%s %s %s\n", time.Now().UTC().Format("15:04:05.000"), r.Method, r.URL.RequestURI())
		h.ServeHTTP(w, r)
	})
}

func writeReady(path, prefix string) error {
	if path == "" {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(prefix+"\n"), 0o600); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	return nil
}

func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// cmdStats prints the number of requests the API has answered (every
// route but /stats itself), for the harness to difference around a run.
func cmdStats(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	apiURL := fs.String("api", "", "the gwsUriPrefix the API serves")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root := strings.TrimSuffix(*apiURL, bench.APIPrefix)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/stats", nil)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	defer resp.Body.Close()
	var s bench.APIStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return fmt.Errorf("stats: decode: %w", err)
	}
	_, err = fmt.Fprintln(out, s.Settings+s.Listings+s.Unauthorized+s.Other)
	return err
}

// cmdReport turns results.tsv (and meta.txt, "key: value" lines) into the
// Markdown report.
func cmdReport(_ context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	results := fs.String("results", "results.tsv", "results file written by scripts/bench")
	metaPath := fs.String("meta", "", "machine and version lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*results)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	rs, err := bench.ParseResults(f)
	if err != nil {
		return fmt.Errorf("report %s: %w", *results, err)
	}
	meta, err := readMeta(*metaPath)
	if err != nil {
		return err
	}
	return bench.WriteReport(out, rs, meta)
}

func readMeta(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	return lines, nil
}
