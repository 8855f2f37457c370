// Package faultproxy is an HTTP reverse proxy for tests that damages S3
// responses the way a faulty network, disk or middlebox would: it flips
// one bit at a chosen offset of an object's body, holds back the last
// bytes of a body for a while (the SDK then reports a checksum mismatch on
// a separate, late read), and can hide the checksum headers or the ETag
// so that a client must check the bytes some other way. Requests pass
// unchanged, so SigV4 signatures still verify at the server.
package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is what happens to the responses for one object.
type Fault struct {
	// Flip is the offset in the object of the bit to flip (the lowest bit
	// of that byte) in every body that holds it, ranges included; -1: none.
	Flip int64
	// Delay holds back the last Tail bytes of every body this long.
	Delay time.Duration
	Tail  int64 // default 1
	// StripChecksums drops the x-amz-checksum-* headers; StripETag the ETag.
	StripChecksums, StripETag bool
}

// Proxy serves on 127.0.0.1 until Close. Safe for concurrent use.
type Proxy struct {
	URL string
	srv *httptest.Server

	mu      sync.Mutex
	faults  map[string]Fault // by URL path, "/bucket/key"
	gets    map[string]int
	flipped map[string]int
}

// Start proxies to target (an http:// base URL).
func Start(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{faults: map[string]Fault{}, gets: map[string]int{}, flipped: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // every write reaches the client at once: a delay is felt
	rp.ModifyResponse = p.modify
	p.srv = httptest.NewServer(rp)
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// Set puts fault on the object at path ("/bucket/key"), replacing any.
func (p *Proxy) Set(path string, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[path] = f
}

// Gets counts the GET responses for path; Flipped those whose flipped bit
// was actually sent.
func (p *Proxy) Gets(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gets[path]
}

func (p *Proxy) Flipped(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flipped[path]
}

func (p *Proxy) modify(resp *http.Response) error {
	path := resp.Request.URL.Path
	p.mu.Lock()
	f, ok := p.faults[path]
	if resp.Request.Method == http.MethodGet {
		p.gets[path]++
	}
	p.mu.Unlock()
	if !ok {
		return nil
	}
	if f.StripChecksums {
		for k := range resp.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
				resp.Header.Del(k)
			}
		}
	}
	if f.StripETag {
		resp.Header.Del("ETag")
	}
	if resp.Request.Method != http.MethodGet || resp.StatusCode/100 != 2 {
		return nil
	}
	b := &body{rc: resp.Body, flip: -1, tailAt: -1, delay: f.Delay}
	if f.Flip >= 0 {
		b.flip = f.Flip - rangeStart(resp.Header.Get("Content-Range"))
		b.flipped = func() { p.mu.Lock(); p.flipped[path]++; p.mu.Unlock() }
	}
	if f.Delay > 0 && resp.ContentLength > 0 {
		b.tailAt = resp.ContentLength - max(f.Tail, 1)
	}
	resp.Body = b
	return nil
}

// rangeStart reads the first offset of "bytes 100-199/1000"; 0 for none.
func rangeStart(cr string) int64 {
	s, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(s[:max(strings.IndexByte(s, '-'), 0)], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// body damages a response body as it is read.
type body struct {
	rc      io.ReadCloser
	n       int64 // bytes read so far
	flip    int64 // body offset to flip; outside the body: none
	flipped func()
	tailAt  int64 // body offset where the delay happens; -1: none
	delay   time.Duration
}

func (b *body) Read(p []byte) (int, error) {
	if b.tailAt >= 0 {
		if b.n == b.tailAt {
			time.Sleep(b.delay)
			b.tailAt = -1
		} else if left := b.tailAt - b.n; left > 0 && int64(len(p)) > left {
			p = p[:left] // stop at the tail, so that it is sent apart
		}
	}
	n, err := b.rc.Read(p)
	if b.flip >= b.n && b.flip < b.n+int64(n) {
		p[b.flip-b.n] ^= 0x01
		b.flipped()
	}
	b.n += int64(n)
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }
