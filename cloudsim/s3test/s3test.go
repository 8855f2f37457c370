// Package s3test starts a real S3 server (versitygw) for tests. It lives
// apart from cloudsim so that production code never imports testing.
package s3test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Test credentials of the versitygw root account; local tests only.
const (
	AccessKey = "rcbs-test-access"
	SecretKey = "rcbs-test-secret-key"
)

// VersityGWPath finds the versitygw binary: $RCBS_VERSITYGW, else
// ${RCBS_CACHE:-~/.cache/rcbs}/bin/versitygw (where `scripts/versitygw
// install` puts it). It returns "" when there is none.
func VersityGWPath() string {
	if p := os.Getenv("RCBS_VERSITYGW"); p != "" {
		return p
	}
	cache := os.Getenv("RCBS_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache", "rcbs")
	}
	p := filepath.Join(cache, "bin", "versitygw")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// StartVersityGW serves a fresh versitygw (posix backend in t.TempDir()) on
// a free 127.0.0.1 port until the test ends, and returns its endpoint and
// credentials. Without the binary the test is skipped, or fails when
// CI=true: CI must not pass by skipping the real-server suite.
func StartVersityGW(t testing.TB) (endpoint, access, secret string) {
	t.Helper()
	bin := VersityGWPath()
	if bin == "" {
		msg := "versitygw not installed: run scripts/versitygw install (or set RCBS_VERSITYGW)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	log, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	cmd := exec.Command(bin, "--quiet", "--port", addr, "posix", data)
	// Credentials through the environment, not argv (ps shows argv).
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	if err := waitReady(addr, 15*time.Second); err != nil {
		out, _ := os.ReadFile(log.Name())
		t.Fatalf("versitygw on %s: %v\n%s", addr, err, out)
	}
	return "http://" + addr, AccessKey, SecretKey
}

// freeAddr asks the OS for a free loopback port. Another process could
// take it before versitygw binds it; on a test machine that is rare enough.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitReady(addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", limit, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
