package bench

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// DelayProxy is a TCP proxy that makes a loopback server look as far away
// as real S3: every chunk is held for half the round trip in each
// direction, and a new connection waits one round trip before its first
// byte moves (the TCP handshake a real link would cost). Bandwidth is not
// limited, so only the latency differs from a direct connection — which is
// what separates a tool with few requests in flight from one with many.
type DelayProxy struct {
	Target string        // host:port of the real server
	RTT    time.Duration // the round trip to simulate
	// MaxInFlight bounds the chunks held per direction of one connection;
	// a sender blocks beyond it, as a full TCP window would. Default 1024.
	MaxInFlight int
}

// chunkSize is the largest piece read at once; each is delayed as a whole.
const chunkSize = 32 << 10

// Serve accepts on l until ctx ends or l fails, proxying each connection.
func (p *DelayProxy) Serve(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.handle(ctx, c)
		}()
	}
}

func (p *DelayProxy) handle(ctx context.Context, down net.Conn) {
	defer down.Close()
	if !sleepCtx(ctx, p.RTT) {
		return
	}
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", p.Target)
	if err != nil {
		return
	}
	defer up.Close()
	stop := context.AfterFunc(ctx, func() { down.Close(); up.Close() })
	defer stop()
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, down); done <- struct{}{} }()
	go func() { p.pipe(down, up); done <- struct{}{} }()
	<-done
	<-done
}

// held is a chunk and the time it may be delivered.
type held struct {
	data []byte
	at   time.Time
}

// pipe copies src to dst, each chunk delivered one-way delay after it was
// read; reading goes on meanwhile, so a long transfer is not slowed. A
// closed src half-closes dst once everything before it is delivered.
func (p *DelayProxy) pipe(dst, src net.Conn) {
	limit := p.MaxInFlight
	if limit <= 0 {
		limit = 1024
	}
	oneWay := p.RTT / 2
	queue := make(chan held, limit)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, chunkSize)
			n, err := src.Read(buf)
			if n > 0 {
				queue <- held{buf[:n], time.Now().Add(oneWay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for h := range queue {
		if d := time.Until(h.at); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(h.data); err != nil {
			src.Close() // the reader stops, the queue drains
			for range queue {
			}
			return
		}
	}
	if tc, ok := dst.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ErrNoTarget is returned by ListenDelay without a target address.
var ErrNoTarget = errors.New("delay proxy: no target")

// ListenDelay starts a DelayProxy on addr in the background and returns
// its listener (its Addr is where clients connect).
func ListenDelay(ctx context.Context, addr string, p *DelayProxy) (net.Listener, <-chan error, error) {
	if p.Target == "" {
		return nil, nil, ErrNoTarget
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(ctx, l) }()
	return l, errc, nil
}
