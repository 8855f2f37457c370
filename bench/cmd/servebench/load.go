package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms"
)

const benchToken = "servebench-token"

// writeKey makes an RSA key (PEM, PKCS#8) and its certificate.
func writeKey(dir string) (*x509.Certificate, string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "servebench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", err
	}
	cert, _ := x509.ParseCertificate(der)
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	path := filepath.Join(dir, "key.pem")
	return cert, path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600)
}

// writeMedia encrypts size pseudo-random bytes into path; it returns the
// plaintext's sha256.
func writeMedia(path string, size int64, cert *x509.Certificate, seed uint64) ([32]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return [32]byte{}, err
	}
	f, err := os.Create(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	src := io.TeeReader(io.LimitReader(mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), size), h)
	w := bufio.NewWriterSize(f, 1<<20)
	if err := cms.Encrypt(w, src, size, []*x509.Certificate{cert}, cms.AES128CBC, rand.Reader); err != nil {
		return [32]byte{}, err
	}
	if err := w.Flush(); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, f.Close()
}

// server is a running rcbs serve.
type server struct {
	cmd  *exec.Cmd
	base string
	out  *bytes.Buffer
}

var listening = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

func startServe(ctx context.Context, bin, dir, keyPath string) (*server, error) {
	cfg := filepath.Join(dir, "serve.properties")
	text := fmt.Sprintf("gwsUriPrefix=http://127.0.0.1:1/api/v2\ntargetDir=%s\nserveListen=127.0.0.1:0\nserveDecryptionKey=%s\nlogFormat=json\n", dir, keyPath)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "RCBS_SERVE_TOKEN="+benchToken)
	stdout, _ := cmd.StdoutPipe()
	s := &server{cmd: cmd, out: &bytes.Buffer{}}
	cmd.Stderr = s.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	m := listening.FindStringSubmatch(line)
	if err != nil || m == nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("rcbs serve did not start: %q %v\n%s", line, err, s.out)
	}
	go io.Copy(io.Discard, stdout)
	s.base = m[1]
	return s, nil
}

// peakRSS is the process's VmHWM in bytes (Linux).
func (s *server) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
}

type answer struct {
	Results []struct {
		Media []struct {
			URL  string `json:"url"`
			Size int64  `json:"size"`
		} `json:"media"`
	} `json:"results"`
}

func loadBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	bin := fs.String("rcbs", "", "the rcbs binary to serve with")
	dir := fs.String("dir", "", "archive folder (reused)")
	n := fs.Int("n", 100_000, "recordings in the index")
	clients := fs.Int("clients", 200, "concurrent clients")
	dur := fs.Duration("duration", 60*time.Second, "how long")
	mediaKiB := fs.Int("media-kib", 256, "size of each of the 256 media files")
	think := fs.Duration("think", 0, "mean pause of a client between requests (0: none, a stress test)")
	noFetch := fs.Bool("search-only", false, "clients only search (the search path's own capacity)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" || *dir == "" {
		return errors.New("load: -rcbs and -dir are required")
	}
	const folders = 256
	x, err := buildIndex(ctx, *dir, *n, folders)
	if err != nil {
		return err
	}
	x.Close()
	cert, keyPath, err := writeKey(*dir)
	if err != nil {
		return err
	}
	for i := range folders {
		p := filepath.Join(*dir, "media", fmt.Sprintf("%04d", i), "m.bin")
		if _, err := writeMedia(p, int64(*mediaKiB)<<10, cert, uint64(i)); err != nil {
			return err
		}
	}
	s, err := startServe(ctx, *bin, *dir, keyPath)
	if err != nil {
		return err
	}
	defer s.stop()
	mediaSize := *mediaKiB << 10
	if *noFetch {
		mediaSize = 0
	}
	res := hammer(ctx, s.base, newSynth(*n), *clients, *dur, mediaSize, *think)
	p50, p95, mx := pct(res.search)
	fmt.Printf("| clients | think | duration | searches | media fetches | bytes | errors | search p50 | search p95 | search max | server peak RSS |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Printf("| %d | %s | %s | %d | %d | %d MB | %d | %s | **%s** | %s | **%.1f MB** |\n", *clients, *think, *dur, len(res.search),
		res.fetches.Load(), res.bytes.Load()>>20, res.errors.Load(), p50, p95, mx, float64(s.peakRSS())/1e6)
	if e := res.firstErr.Load(); e != nil {
		fmt.Println("first error:", *e)
	}
	return nil
}

type loadResult struct {
	mu                     sync.Mutex
	search                 []time.Duration
	fetches, bytes, errors atomic.Int64
	firstErr               atomic.Pointer[string]
}

func (r *loadResult) fail(format string, a ...any) {
	r.errors.Add(1)
	msg := fmt.Sprintf(format, a...)
	r.firstErr.CompareAndSwap(nil, &msg)
}

// hammer runs clients that each loop: one search, then one of its media
// whole or a random range.
func hammer(ctx context.Context, base string, s synth, clients int, dur time.Duration, mediaSize int, think time.Duration) *loadResult {
	res := &loadResult{}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: time.Minute}
	kinds := queryKinds(s)
	var names []string
	for k := range kinds {
		if !strings.HasPrefix(k, "scoped") { // the token has scope *
			names = append(names, k)
		}
	}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(c), 3))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				q := kinds[names[r.IntN(len(names))]](r)
				url := client(hc, base, q, r, res)
				pause(think, r)
				if url != "" && mediaSize > 0 {
					fetch(hc, url, mediaSize, r, res)
				}
				pause(think, r)
			}
		}()
	}
	wg.Wait()
	return res
}

// pause sleeps a random time of mean think (a person reading results).
func pause(think time.Duration, r *mrand.Rand) {
	if think > 0 {
		time.Sleep(time.Duration(r.Int64N(int64(2 * think))))
	}
}

func client(hc *http.Client, base string, q archive.Query, r *mrand.Rand, res *loadResult) string {
	body := map[string]any{"limit": 20, "id": q.ID, "agent": q.Agent, "ani": q.ANI, "dnis": q.DNIS, "direction": q.Direction}
	if !q.From.IsZero() {
		body["from"], body["to"] = q.From.Format(time.RFC3339), q.To.Format(time.RFC3339)
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+"/search/", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+benchToken)
	t := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		res.fail("search: %v", err)
		return ""
	}
	var a answer
	err = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	d := time.Since(t)
	if resp.StatusCode != 200 || err != nil {
		res.fail("search: %d %v", resp.StatusCode, err)
		return ""
	}
	res.mu.Lock()
	res.search = append(res.search, d)
	res.mu.Unlock()
	if len(a.Results) == 0 {
		return ""
	}
	return a.Results[r.IntN(len(a.Results))].Media[0].URL
}

func fetch(hc *http.Client, url string, mediaSize int, r *mrand.Rand, res *loadResult) {
	req, _ := http.NewRequest("GET", url, nil)
	want := http.StatusOK
	if r.IntN(2) == 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", r.IntN(mediaSize)))
		want = http.StatusPartialContent
	}
	resp, err := hc.Do(req)
	if err != nil {
		res.fail("fetch: %v", err)
		return
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want || err != nil {
		res.fail("fetch: %d %v", resp.StatusCode, err)
		return
	}
	res.fetches.Add(1)
	res.bytes.Add(n)
}

func streamBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	bin := fs.String("rcbs", "", "the rcbs binary to serve with")
	dir := fs.String("dir", "", "archive folder")
	mib := fs.Int64("mib", 1024, "media size in MiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" || *dir == "" {
		return errors.New("stream: -rcbs and -dir are required")
	}
	x, err := buildIndex(ctx, *dir, 1, 1)
	if err != nil {
		return err
	}
	x.Close()
	cert, keyPath, err := writeKey(*dir)
	if err != nil {
		return err
	}
	size := *mib << 20
	sum, err := writeMedia(filepath.Join(*dir, "media", "0000", "m.bin"), size, cert, 42)
	if err != nil {
		return err
	}
	s, err := startServe(ctx, *bin, *dir, keyPath)
	if err != nil {
		return err
	}
	defer s.stop()
	r := mrand.New(mrand.NewPCG(1, 1))
	hc := &http.Client{}
	res := &loadResult{}
	url := client(hc, s.base, archive.Query{}, r, res)
	if url == "" {
		return fmt.Errorf("no media found: %v", res.firstErr.Load())
	}
	t := time.Now()
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	whole := time.Since(t)
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), sum[:]) {
		return fmt.Errorf("streamed %d bytes (want %d), err %v, same plaintext %v", n, size, err, bytes.Equal(h.Sum(nil), sum[:]))
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", size-(1<<20), size-1))
	t = time.Now()
	resp, err = hc.Do(req)
	if err != nil {
		return err
	}
	tail, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	seek := time.Since(t)
	fmt.Printf("| media | whole stream | throughput | last MiB (Range) | server peak RSS |\n|---|---|---|---|---|\n")
	fmt.Printf("| %d MiB AES-128-CBC, plaintext sha256 checked | %s | %.0f MB/s | %s (%d bytes, %d) | **%.1f MB** |\n",
		*mib, whole.Round(time.Millisecond), float64(size)/whole.Seconds()/1e6, seek.Round(time.Millisecond), tail, resp.StatusCode, float64(s.peakRSS())/1e6)
	return nil
}
