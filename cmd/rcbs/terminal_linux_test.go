package main

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal's follower side: a real terminal for
// isTerminal, without a package for it.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	leader, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { leader.Close() })
	if err := unix.IoctlSetPointerInt(int(leader.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(leader.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	follower, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { follower.Close() })
	if !isTerminal(follower) {
		t.Fatal("premise: the pseudo-terminal is not a terminal")
	}
	return follower
}

// The bar is drawn on stderr, so stderr decides: `rcbs … 2>>log` typed at
// a terminal gets no bar (its frames would fill the log), and `rcbs … >out`
// still shows one.
func TestBarFollowsStderr(t *testing.T) {
	pty := openPTY(t)
	file, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if e := newEnv(pty, file); e.isTerminal {
		t.Error("stdout a terminal, stderr a file: a bar would be drawn into the file")
	}
	if e := newEnv(file, pty); !e.isTerminal {
		t.Error("stderr a terminal, stdout a file: no bar")
	}
}
