package main

import (
	"context"
	"errors"
)

// Placeholder until the plan command lands.
func cmdPlan(ctx context.Context, e *env, args []string) error {
	return errors.New("plan: not implemented yet")
}
