// Package cloudsim is a simulated recording cloud: a recordings API that
// speaks spec §7 exactly, an S3 endpoint, and a seeded generator of
// recordings with CMS-encrypted media. Tests, `rcbs demo`, `rcbs simulate`
// and the benchmarks run against it. Production code never imports it.
package cloudsim

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcbs/rcbs/cms"
)

// Options shape a simulated cloud. Zero values take the defaults noted.
type Options struct {
	Recordings int       // default 20; negative is an error, use Add for more later
	Seed       int64     // same seed and window, same recordings (see Recording)
	Start, End time.Time // recordings' startTimes spread over [Start, End); default the 2 days before now
	Profile    string    // "small" (default, 1–64 KB) or "large" (8–64 MB)

	UnencryptedShare float64 // share of media stored as plaintext
	APIMediaShare    float64 // share of media with no awsS3 descriptor (served via mediaUri or mediaPath)
	LegacyCap        bool    // cap every query at its first 100 results, ignore offset, no paging
	Paging           string  // PagingPath (default), PagingAbsolute or PagingNone
	NoSettings       bool    // the settings API answers 404 (defaults apply in rcbs)
	// ExtraMediaTypes: every recording also gets one media file of each
	// type (e.g. "audio/mp3x"), to prove that rcbs leaves them alone.
	ExtraMediaTypes []string

	Username, Password string // Basic auth the API demands; both empty = no auth
	Bucket             string // default "rcbs-recordings"
	Region             string // default "us-east-1"
	// AccessKey and SecretKey are the only AWS credentials the in-process
	// S3 accepts (it verifies SigV4, spec §10) and what Env prints; default
	// rcbs-sim-access / rcbs-sim-secret.
	AccessKey, SecretKey string

	// KeyPEM is the recipient's RSA key (PEM, PKCS#1 or PKCS#8) to encrypt
	// to; default a new RSA-2048 key (not repeatable: Go 1.26's crypto/rsa
	// ignores seeded random sources). `rcbs simulate -dir` passes the key it
	// wrote last time, so that files downloaded before a restart still open.
	KeyPEM []byte
	// MediaDir keeps the media bytes in files there instead of in RAM. The
	// large profile defaults to a temporary folder that Close removes.
	MediaDir string

	APIFaults, S3Faults Faults
}

// Faults inject failures into a share of requests, deterministically for the
// seed: the n-th request of a given object or URL fails the same way in every
// run. S3 faults hit object GETs and HEADs only; API faults every route.
type Faults struct {
	Rate    float64       // share of requests that fail, 0..1
	Kinds   []string      // of "500", "503", "429", "reset", "truncate"; default all
	Latency time.Duration // added to every request
	// Never lists S3 keys (or recording IDs / mediaIds for the API media route) that fail every time.
	Never []string
	// RetryAfter is the 429 answers' Retry-After, sent in (possibly
	// fractional) seconds; default 1s. Fractions let tests run fast.
	RetryAfter time.Duration
}

// Media is one generated media file, as the checks need it.
type Media struct {
	MediaID     string
	Type        string
	Bucket      string
	Key         string // "" when served via the API (mediaUri/mediaPath)
	Encrypted   bool
	Cipher      cms.Cipher // when Encrypted: AES128CBC or AES256CBC
	Recipients  int        // when Encrypted: 1, or 2 (a throwaway second recipient besides the key's)
	Size        int64      // bytes as stored (what rcbs writes to disk)
	SHA256      [32]byte   // of the stored bytes (differs run to run when encrypted: the RSA padding is random)
	PlainSHA256 [32]byte   // of the plaintext (what decrypt must produce); repeatable for the seed
}

// Recording is one generated recording. For the same Seed, Options and
// window, IDs, times, media sizes, plaintexts and JSON are identical run to
// run (JSON once rendered for the same API address).
type Recording struct {
	ID        string
	StartTime time.Time
	Media     []Media
	JSON      []byte // the resource as the API serves it (mediaUri points at a placeholder host until Start)
}

// Stats counts the requests the cloud has answered.
type Stats struct {
	Settings, Listings, Media, NotFound int64 // API requests by route
	Unauthorized                        int64 // API requests refused for their credentials
	NoAcceptJSON                        int64 // API JSON requests without Accept: application/json
	S3Get, S3Head, S3Other              int64 // S3 object GETs, HEADs, and everything else
	APIFaults, S3Faults                 map[string]int64
}

type counters struct {
	settings, listings, media, notFound atomic.Int64
	unauthorized, noAcceptJSON          atomic.Int64
	s3Get, s3Head, s3Other              atomic.Int64
}

type externalS3 struct{ endpoint, access, secret string }

// unstartedBase stands in for the API address in mediaUri until Start.
const unstartedBase = "http://rcbs-sim.invalid" + apiPrefix

// Cloud is a simulated cloud. Its methods are safe for concurrent use.
type Cloud struct {
	opts     Options
	relative bool // the window was defaulted from now: Properties uses maxAge
	keys     *keyPair
	backend  *simBackend
	spoolDir string
	ownSpool bool

	apiFaults, s3Faults *faulter
	stats               counters

	genMu sync.Mutex // serialises generation (the seeded stream)
	gen   *generator

	mu       sync.RWMutex
	recs     []*genRecording // by StartTime, then ID
	apiMedia map[string]*blob
	apiBase  string
	apiURL   string
	s3URL    string
	external *externalS3
	servers  []*http.Server
}

// New generates the recordings of opts; Start serves them. Call Close when
// done, even without Start (it removes a temporary media folder).
func New(opts Options) (*Cloud, error) {
	c := &Cloud{apiMedia: map[string]*blob{}, apiBase: unstartedBase}
	if err := c.setOptions(opts); err != nil {
		return nil, err
	}
	if err := c.setStorage(); err != nil {
		return nil, err
	}
	if c.opts.UnencryptedShare < 1 || len(c.opts.KeyPEM) > 0 {
		keys, err := newKeyPair(c.opts.KeyPEM, c.opts.Start.AddDate(0, 0, -1).Truncate(24*time.Hour))
		if err != nil {
			c.Close()
			return nil, err
		}
		c.keys = keys
	}
	if err := c.add(c.opts.Recordings, c.opts.Start, c.opts.End); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cloud) setOptions(o Options) error {
	if o.Recordings == 0 {
		o.Recordings = 20
	}
	if o.End.IsZero() && o.Start.IsZero() {
		c.relative = true
		o.End = time.Now().UTC().Truncate(time.Minute)
		o.Start = o.End.Add(-48 * time.Hour)
	}
	o.Profile = cmpOr(o.Profile, "small")
	o.Paging = cmpOr(o.Paging, PagingPath)
	o.Bucket = cmpOr(o.Bucket, "rcbs-recordings")
	o.Region = cmpOr(o.Region, "us-east-1")
	o.AccessKey = cmpOr(o.AccessKey, simAccessKey)
	o.SecretKey = cmpOr(o.SecretKey, simSecretKey)
	var problems []string
	check := func(bad bool, msg string) {
		if bad {
			problems = append(problems, msg)
		}
	}
	check(o.Recordings < 0, "Recordings is negative")
	check(!o.Start.Before(o.End), "Start must be before End")
	check(o.Profile != "small" && o.Profile != "large", "Profile must be small or large")
	check(!slices.Contains([]string{PagingPath, PagingAbsolute, PagingNone}, o.Paging), "Paging must be path, absolute or none")
	check(o.UnencryptedShare < 0 || o.UnencryptedShare > 1 || o.APIMediaShare < 0 || o.APIMediaShare > 1, "shares must be in 0..1")
	check(len(o.Bucket) < 3, "Bucket needs at least 3 characters")
	check(o.APIFaults.Rate < 0 || o.APIFaults.Rate > 1 || o.S3Faults.Rate < 0 || o.S3Faults.Rate > 1, "fault rates must be in 0..1")
	if len(problems) > 0 {
		return fmt.Errorf("cloudsim: %s", strings.Join(problems, "; "))
	}
	c.opts = o
	c.gen = newGenerator(o)
	c.backend = newSimBackend()
	c.apiFaults, c.s3Faults = newFaulter(o.APIFaults, o.Seed), newFaulter(o.S3Faults, o.Seed+1)
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (c *Cloud) setStorage() error {
	switch {
	case c.opts.MediaDir != "":
		if err := os.MkdirAll(c.opts.MediaDir, 0o700); err != nil {
			return fmt.Errorf("media folder: %w", err)
		}
		c.spoolDir = c.opts.MediaDir
	case c.opts.Profile == "large":
		dir, err := os.MkdirTemp("", "rcbs-sim-media-")
		if err != nil {
			return fmt.Errorf("media folder: %w", err)
		}
		c.spoolDir, c.ownSpool = dir, true
	}
	return nil
}

// Add generates n more recordings over [start, end) (new calls arriving);
// they are listed, and stored in S3 (also the external one after UploadTo),
// before Add returns.
func (c *Cloud) Add(n int, start, end time.Time) error {
	if n < 0 || !start.Before(end) {
		return fmt.Errorf("cloudsim: Add(%d, %v, %v): want n ≥ 0 and start < end", n, start, end)
	}
	return c.add(n, start, end)
}

func (c *Cloud) add(n int, start, end time.Time) error {
	c.genMu.Lock()
	defer c.genMu.Unlock()
	var fresh []*genRecording
	for range n {
		rec, err := c.generate(start, end)
		if err != nil {
			return err
		}
		fresh = append(fresh, rec)
	}
	if err := c.publish(fresh); err != nil {
		return err
	}
	return c.uploadFresh(fresh)
}

// generate makes one recording with its media stored.
func (c *Cloud) generate(start, end time.Time) (*genRecording, error) {
	rec, specs := c.gen.next(start, end)
	for i, spec := range specs {
		m := &rec.pub.Media[i]
		if spec.encrypted && c.keys == nil {
			spec.encrypted = false
		}
		b, err := c.makeBlob(spec, m)
		if err != nil {
			return nil, err
		}
		rec.blobs = append(rec.blobs, b)
		rec.doc.MediaFiles[i].Size = strconv.FormatInt(m.Size, 10)
		if spec.sizeAsNumber {
			rec.doc.MediaFiles[i].Size = m.Size
		}
		if m.Key != "" {
			if err := c.backend.putBlob(m.Bucket, m.Key, b); err != nil {
				return nil, err
			}
		}
	}
	return rec, nil
}

// publish renders the new recordings and makes them visible to the API.
func (c *Cloud) publish(fresh []*genRecording) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rec := range fresh {
		if err := rec.render(c.apiBase); err != nil {
			return err
		}
		for i, m := range rec.pub.Media {
			if m.Key == "" {
				c.apiMedia[rec.pub.ID+"/"+m.MediaID] = rec.blobs[i]
			}
		}
	}
	c.recs = append(c.recs, fresh...)
	slices.SortStableFunc(c.recs, func(a, b *genRecording) int {
		if d := a.pub.StartTime.Compare(b.pub.StartTime); d != 0 {
			return d
		}
		return strings.Compare(a.pub.ID, b.pub.ID)
	})
	return nil
}

// Start serves the API and an in-process S3 on 127.0.0.1 ports chosen by the OS.
func (c *Cloud) Start() error {
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("cloudsim: listen: %w", err)
	}
	s3l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		api.Close()
		return fmt.Errorf("cloudsim: listen: %w", err)
	}
	c.ServeOn(api, s3l)
	return nil
}

// ServeOn serves the API on apiLn and S3 on s3Ln (e.g. `rcbs simulate
// -listen`) until Close. S3 needs a port of its own: path-style requests
// own the whole URL path.
func (c *Cloud) ServeOn(apiLn, s3Ln net.Listener) {
	apiSrv := &http.Server{Handler: c.apiHandler(), ReadHeaderTimeout: 10 * time.Second}
	// gofakes3 answers a client that hung up mid-body with a second
	// WriteHeader, which net/http logs; clients hanging up is what fault
	// tests do, so that log is noise.
	s3Srv := &http.Server{Handler: c.s3Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	c.mu.Lock()
	c.servers = append(c.servers, apiSrv, s3Srv)
	c.apiURL = "http://" + loopbackAddr(apiLn.Addr()) + apiPrefix
	c.s3URL = "http://" + loopbackAddr(s3Ln.Addr())
	c.apiBase = c.apiURL
	for _, rec := range c.recs {
		rec.render(c.apiBase) // cannot fail: it rendered before
	}
	c.mu.Unlock()
	go apiSrv.Serve(apiLn)
	go s3Srv.Serve(s3Ln)
}

// loopbackAddr names a listener's address as a client would dial it: an
// unspecified IP (0.0.0.0, ::) becomes 127.0.0.1.
func loopbackAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// APIURL is the gwsUriPrefix of the running API, e.g. http://127.0.0.1:PORT/api/v2.
func (c *Cloud) APIURL() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.apiURL
}

// S3URL is the awsEndpoint of the in-process S3 (or the external one after UploadTo).
func (c *Cloud) S3URL() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.external != nil {
		return c.external.endpoint
	}
	return c.s3URL
}

// Options returns the options in effect, defaults filled in.
func (c *Cloud) Options() Options { return c.opts }

// Recordings returns every generated recording, oldest first.
func (c *Cloud) Recordings() []Recording {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Recording, len(c.recs))
	for i, rec := range c.recs {
		out[i] = rec.pub
		out[i].Media = slices.Clone(rec.pub.Media)
	}
	return out
}

// Stats returns the request counts so far.
func (c *Cloud) Stats() Stats {
	s := &c.stats
	return Stats{
		Settings: s.settings.Load(), Listings: s.listings.Load(), Media: s.media.Load(), NotFound: s.notFound.Load(),
		Unauthorized: s.unauthorized.Load(), NoAcceptJSON: s.noAcceptJSON.Load(),
		S3Get: s.s3Get.Load(), S3Head: s.s3Head.Load(), S3Other: s.s3Other.Load(),
		APIFaults: c.apiFaults.counts(), S3Faults: c.s3Faults.counts(),
	}
}

// KeyPEM and CertPEM are the recipient's private key (PKCS#8) and
// certificate; nil when every media file is plaintext and no key was given.
func (c *Cloud) KeyPEM() []byte {
	if c.keys == nil {
		return nil
	}
	return c.keys.keyPEM
}

func (c *Cloud) CertPEM() []byte {
	if c.keys == nil {
		return nil
	}
	return c.keys.certPEM
}

// WriteKeys writes the key (0600) and certificate into dir, creating it
// (0700), for `rcbs decrypt -key`.
func (c *Cloud) WriteKeys(dir string) (keyPath, certPath string, err error) {
	if c.keys == nil {
		return "", "", errors.New("cloudsim: no key: every media file is plaintext")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("write keys: %w", err)
	}
	keyPath, certPath = filepath.Join(dir, KeyFileName), filepath.Join(dir, CertFileName)
	if err := os.WriteFile(keyPath, c.keys.keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("write key: %w", err)
	}
	if err := os.WriteFile(certPath, c.keys.certPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("write certificate: %w", err)
	}
	return keyPath, certPath, nil
}

// Close stops the servers and removes a temporary media folder. It may be
// called more than once.
func (c *Cloud) Close() {
	c.mu.Lock()
	servers := c.servers
	c.servers = nil
	c.mu.Unlock()
	for _, s := range servers {
		s.Close()
	}
	if c.ownSpool {
		os.RemoveAll(c.spoolDir)
	}
}
