package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rcbs/rcbs/bench"
)

// cmdDelay runs a bench.DelayProxy in front of -to until the context ends;
// the ready file gets the proxy's host:port once it listens.
func cmdDelay(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("delay", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	to := fs.String("to", "", "host:port of the server behind the proxy")
	rtt := fs.Duration("rtt", 20*time.Millisecond, "round trip to add (half in each direction, one more on connect)")
	ready := fs.String("ready", "", "file to write the proxy's host:port into once listening")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, errc, err := bench.ListenDelay(ctx, *listen, &bench.DelayProxy{Target: *to, RTT: *rtt})
	if err != nil {
		return fmt.Errorf("delay proxy: %w", err)
	}
	if err := writeReady(*ready, l.Addr().String()); err != nil {
		return err
	}
	fmt.Fprintf(out, "delaying %s by %v round trip at %s\n", *to, *rtt, l.Addr())
	return <-errc
}
