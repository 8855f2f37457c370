package main

import (
	"context"
	"errors"
)

// Placeholder until the demo command lands.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	return errors.New("demo: not implemented yet")
}
