package main

import (
	"context"
	"flag"
	"fmt"
)

func loadBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return fmt.Errorf("load: not yet")
}

func streamBench(ctx context.Context, args []string) error {
	return fmt.Errorf("stream: not yet")
}
