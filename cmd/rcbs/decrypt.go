package main

import (
	"context"
	"errors"
)

// Placeholder until the decrypt command lands.
func cmdDecrypt(ctx context.Context, e *env, args []string) error {
	return errors.New("decrypt: not implemented yet")
}
