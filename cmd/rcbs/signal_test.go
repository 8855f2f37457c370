package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// The first signal cancels; only the second exits, with 130.
func TestInterrupts(t *testing.T) {
	sigs := make(chan os.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	exited := make(chan int)
	go interrupts(sigs, cancel, &stderr, func(code int) { exited <- code })
	sigs <- os.Interrupt
	<-ctx.Done()
	select {
	case code := <-exited:
		t.Fatalf("exited %d on the first signal", code)
	default:
	}
	sigs <- os.Interrupt
	if code := <-exited; code != exitInterrupted || !strings.Contains(stderr.String(), "interrupted again") {
		t.Errorf("second signal: exit %d, stderr %q", code, stderr.String())
	}
}
