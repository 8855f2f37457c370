package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers each connection with everything it sent, then closes.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

func startDelay(t *testing.T, target string, rtt time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, errc, err := ListenDelay(ctx, "127.0.0.1:0", &DelayProxy{Target: target, RTT: rtt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("proxy: %v", err)
		}
	})
	return l.Addr().String()
}

// TestDelayProxyBytes: every byte arrives, in order, both ways, and the
// half-close of the client reaches the server (the echo then ends).
func TestDelayProxyBytes(t *testing.T) {
	addr := startDelay(t, echoServer(t), 2*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 3<<20+17)
	rand.Read(want)
	go func() {
		c.Write(want)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo through the proxy: got %d bytes, want %d (equal: false)", len(got), len(want))
	}
}

// TestDelayProxyAddsRoundTrips checks a lower bound only (a machine under
// load can be slower, never faster): connection setup costs one RTT and
// a request/answer another.
func TestDelayProxyAddsRoundTrips(t *testing.T) {
	const rtt = 60 * time.Millisecond
	addr := startDelay(t, echoServer(t), rtt)
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 2*rtt {
		t.Errorf("first answer after %v, want at least 2 RTTs (%v)", took, 2*rtt)
	}
	start = time.Now()
	c.Write([]byte("pong"))
	io.ReadFull(c, buf)
	if took := time.Since(start); took < rtt {
		t.Errorf("second answer after %v, want at least 1 RTT (%v)", took, rtt)
	}
}

func TestListenDelayNeedsTarget(t *testing.T) {
	if _, _, err := ListenDelay(context.Background(), "127.0.0.1:0", &DelayProxy{}); err != ErrNoTarget {
		t.Errorf("ListenDelay without target = %v, want ErrNoTarget", err)
	}
}
