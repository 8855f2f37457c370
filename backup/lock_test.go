package backup

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLockTwiceInProcess(t *testing.T) {
	dir := t.TempDir()
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, LockFileName))
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want our pid", b)
	}
	_, err = Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Dir != dir {
		t.Fatalf("second Lock: %v, want LockedError{%s, %d}", err, dir, os.Getpid())
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()
}

// TestLockHelperProcess holds a lock for TestLockAcrossProcesses.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("RCBS_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := Lock(dir); err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	os.Stdin.Read(make([]byte, 1)) // hold until killed
	os.Exit(0)
}

func TestLockAcrossProcesses(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no processes")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "RCBS_LOCK_HELPER_DIR="+dir)
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	_, err := Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Errorf("Lock while the helper holds it: %v, want the helper's pid %d", err, cmd.Process.Pid)
	}
	// The OS releases the lock of a killed process.
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	l.Unlock()
}

// A holder caught between creating the lock file and writing its pid: the
// message must not name pid 0, a process that does not exist.
func TestLockedBeforePIDWritten(t *testing.T) {
	dir := t.TempDir()
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if err := os.Truncate(filepath.Join(dir, LockFileName), 0); err != nil {
		t.Fatal(err)
	}
	_, err = Lock(dir)
	if !IsLocked(err) {
		t.Fatalf("second Lock: %v, want LockedError", err)
	}
	if msg := err.Error(); strings.Contains(msg, "pid 0") || !strings.Contains(msg, "pid not yet written") || !strings.Contains(msg, dir) {
		t.Errorf("message %q: want the folder and that the pid is not yet written", msg)
	}
}

// A pid is rewritten in place, so a reader sees a whole pid at every
// moment: while a shorter one overwrites a longer one, the first line.
func TestLockPIDRewrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockFileName)
	if err := os.WriteFile(path, []byte("4194304999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if b, _ := os.ReadFile(path); string(b) != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("lock file %q, want our pid alone", b)
	}
	for in, want := range map[string]int{"123\n999\n": 123, "123\n": 123, "": 0, "\n": 0, "0\n": 0, "-5\n": 0, "x\n": 0, " 77 \n1": 77} {
		if got := parsePID([]byte(in)); got != want {
			t.Errorf("parsePID(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestReadPIDWaitsForTheHolder: a lock file only just created is empty
// until its holder writes its pid; readPID reads it again, a few times over
// about pidReads × pidReadGap, and finds a pid written a little later
// (here after one gap: well inside the 80 ms the reads span).
func TestReadPIDWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".rcbs.lock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	written := make(chan error, 1)
	go func() {
		time.Sleep(pidReadGap)
		written <- os.WriteFile(path, []byte("4242\n"), 0o600)
	}()
	got := readPID(path)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if got != 4242 {
		t.Errorf("readPID = %d, want 4242: the pid written one gap after the first read was missed", got)
	}
}
