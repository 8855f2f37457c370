// Command servebench measures the archive index and rcbs serve (spec §12's
// targets) — a benchmark, not a test:
//
//	servebench search -n 1000000 -dir D [-queries 5000]
//	    build (or reuse) an index of n synthetic recordings in D, then time
//	    a mix of searches: p50/p95 per kind and overall (target p95 ≤ 50 ms)
//	servebench load -rcbs BIN -n 100000 -clients 200 -duration 60s -dir D
//	    start BIN serve over an archive of n recordings and hammer it with
//	    clients that search and stream (target: 0 errors, search p95 ≤ 100 ms,
//	    peak RSS of the server ≤ 128 MB)
//	servebench stream -rcbs BIN -size 1GiB -dir D
//	    stream one media of that size decrypted and report the server's peak RSS
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "servebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: servebench search|load|stream [flags] (see the package comment)")
	}
	switch args[0] {
	case "search":
		return searchBench(ctx, args[1:])
	case "load":
		return loadBench(ctx, args[1:])
	case "stream":
		return streamBench(ctx, args[1:])
	}
	return fmt.Errorf("unknown mode %q", args[0])
}
