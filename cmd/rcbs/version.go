package main

import (
	"context"
	"errors"
)

// Placeholder until the version command lands.
func cmdVersion(ctx context.Context, e *env, args []string) error {
	return errors.New("version: not implemented yet")
}
