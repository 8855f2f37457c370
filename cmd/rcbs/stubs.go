package main

import (
	"context"
	"errors"
	"os"
)

// Placeholders, replaced file by file as each command lands.

func cmdRun(ctx context.Context, e *env, args []string) error {
	return errors.New("run: not implemented yet")
}
func cmdPlan(ctx context.Context, e *env, args []string) error {
	return errors.New("plan: not implemented yet")
}
func cmdDecrypt(ctx context.Context, e *env, args []string) error {
	return errors.New("decrypt: not implemented yet")
}
func cmdDemo(ctx context.Context, e *env, args []string) error {
	return errors.New("demo: not implemented yet")
}
func cmdSimulate(ctx context.Context, e *env, args []string) error {
	return errors.New("simulate: not implemented yet")
}
func cmdVersion(ctx context.Context, e *env, args []string) error {
	return errors.New("version: not implemented yet")
}
func isTerminal(f *os.File) bool { return false }
