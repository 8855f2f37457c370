package main

import (
	"context"
	"errors"
)

// Placeholder until the simulate command lands.
func cmdSimulate(ctx context.Context, e *env, args []string) error {
	return errors.New("simulate: not implemented yet")
}
