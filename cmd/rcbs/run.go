package main

import (
	"context"
	"errors"
)

// Placeholder until the run command lands.
func cmdRun(ctx context.Context, e *env, args []string) error {
	return errors.New("run: not implemented yet")
}
