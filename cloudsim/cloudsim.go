// Package cloudsim is a simulated recording cloud: a recordings API that
// speaks spec §7 exactly, an S3 endpoint, and a seeded generator of
// recordings with CMS-encrypted media. Tests, `rcbs demo`, `rcbs simulate`
// and the benchmarks run against it. Production code never imports it.
package cloudsim

import (
	"context"
	"errors"
	"time"
)

// Options shape a simulated cloud. Zero values take the defaults noted.
type Options struct {
	Recordings int       // default 20
	Seed       int64     // same seed, same recordings
	Start, End time.Time // recordings' startTimes spread over [Start, End); default the 2 days before now
	Profile    string    // "small" (default, 1–64 KB) or "large" (tens of MB)

	UnencryptedShare float64 // share of media stored as plaintext
	APIMediaShare    float64 // share of media with no awsS3 descriptor (served via mediaUri)
	LegacyCap        bool    // cap every query at its first 100 results, ignore offset

	Username, Password string // Basic auth the API demands; both empty = no auth
	Bucket             string // default "rcbs-recordings"
	Region             string // default "us-east-1"

	APIFaults, S3Faults Faults
}

// Faults inject failures into a share of requests, deterministically for the seed.
type Faults struct {
	Rate    float64       // share of requests that fail, 0..1
	Kinds   []string      // of "500", "503", "429", "reset", "truncate"; default all
	Latency time.Duration // added to every request
	// Never lists S3 keys (or recording IDs for the API media route) that fail every time.
	Never []string
}

// Media is one generated media file, as the checks need it.
type Media struct {
	MediaID     string
	Type        string
	Bucket      string
	Key         string // "" when served via the API (mediaUri)
	Encrypted   bool
	Size        int64    // bytes as stored (what rcbs writes to disk)
	SHA256      [32]byte // of the stored bytes
	PlainSHA256 [32]byte // of the plaintext (what decrypt must produce)
}

// Recording is one generated recording.
type Recording struct {
	ID        string
	StartTime time.Time
	Media     []Media
	JSON      []byte // the resource as the API serves it
}

// Cloud is a running simulated cloud.
type Cloud struct {
	opts Options
}

// New generates the recordings of opts; Start serves them.
func New(opts Options) (*Cloud, error) { return nil, errors.New("not implemented") }

// Start serves the API and an in-process S3 on 127.0.0.1 ports chosen by the OS.
func (c *Cloud) Start() error { return errors.New("not implemented") }

// APIURL is the gwsUriPrefix of the running API, e.g. http://127.0.0.1:PORT/api/v2.
func (c *Cloud) APIURL() string { return "" }

// S3URL is the awsEndpoint of the in-process S3 (or the external one after UploadTo).
func (c *Cloud) S3URL() string { return "" }

// Recordings returns every generated recording, oldest first.
func (c *Cloud) Recordings() []Recording { return nil }

// Add generates n more recordings over [start, end) (new calls arriving).
func (c *Cloud) Add(n int, start, end time.Time) error { return errors.New("not implemented") }

// KeyPEM and CertPEM are the recipient's private key (PKCS#8) and certificate.
func (c *Cloud) KeyPEM() []byte  { return nil }
func (c *Cloud) CertPEM() []byte { return nil }

// Properties returns a config.properties for this cloud writing to targetDir.
func (c *Cloud) Properties(targetDir string) string { return "" }

// UploadTo puts every media object into an external S3 endpoint (versitygw,
// MinIO), creating the bucket; S3URL then names it.
func (c *Cloud) UploadTo(ctx context.Context, endpoint, accessKey, secretKey string) error {
	return errors.New("not implemented")
}

// Close stops the servers.
func (c *Cloud) Close() {}
