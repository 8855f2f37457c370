// Package config reads config.properties (Java properties syntax) and the
// credentials in the environment into a validated Config.
package config

import (
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/rcbs/rcbs/sharding"
)

// Secret holds a password or secret key. It formats as "[redacted]" so that
// it can never leak through a log line, an error or a %v of a Config.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

// MarshalText keeps the secret out of JSON and slog output too.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// Error is a bad configuration value: one line naming the key, what is wrong
// and the value given. The command exits 2 on it.
type Error struct {
	Key     string
	Problem string
	Value   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("config: %s: %s (got %q)", e.Key, e.Problem, e.Value)
}

// FileError is a configuration file that cannot be used at all: missing,
// unreadable, a directory, not text, or not valid properties syntax. The
// command exits 2 on it, as on Error.
type FileError struct {
	Path    string
	Problem string
	Err     error // the underlying cause, if any (e.g. fs.ErrNotExist)
}

func (e *FileError) Error() string { return fmt.Sprintf("config file %s: %s", e.Path, e.Problem) }

func (e *FileError) Unwrap() error { return e.Err }

// Config is a validated configuration (spec §2). Zero-valued optional
// fields mean "unset". A Config is read-only after Load: safe for concurrent
// use.
type Config struct {
	File string // path it was read from, for messages

	GWSURIPrefix     string // without a trailing slash
	GWSRecordingsURI string
	GWSSettingsURI   string
	TargetDir        string // as given, "/" separators (UNC //server/share kept)

	MaxAge, MinAge         sharding.Period
	MinDate, MaxDate       *time.Time
	SkipLastRecordingCheck bool
	ShardBy                sharding.Period
	Overlap                sharding.Period

	MediaTypePattern      *regexp.Regexp // anchored: ^(?:P)$
	RecordingFolderFormat string
	EncryptionFormat      string            // "AES-128" or "AES-256"
	EncryptionCertificate string            // path, "" when unset
	EncryptionCert        *x509.Certificate // parsed at load (RSA key), nil when unset
	KeyTransport          string            // encryptionKeyTransport: "oaep" (RSA-OAEP, SHA-256) or "pkcs1"
	MetadataOnly          bool
	UsePayloadSigning     bool
	DownloadMode          string // "single" or "multithread"
	NumThreads            int    // workers actually used (1 in single mode)

	TotalInstances int
	InstanceID     int

	AWSProxyHost string // host name or IP, no brackets
	AWSProxyPort int
	GWSProxyHost string // scheme://host without port, e.g. http://10.0.1.31
	GWSProxyPort int    // from gwsProxyPort, or the port written in gwsProxyHost

	AWSRegion      string
	AWSEndpoint    string
	RequestTimeout time.Duration
	Retries        int
	LogFormat      string // "text" or "json"
	MetricsFile    string
	PingURL        string
	Serve          Serve // rcbs serve (spec §12)

	// Integrity and retention (spec §13, §14).
	ManifestKeyFile string             // manifestKey as given, "" when unset
	ManifestKey     ed25519.PrivateKey // parsed at load; nil when unset
	VerifyKeyFile   string             // verifyKey as given
	VerifyKey       ed25519.PublicKey  // parsed at load; nil when unset
	RetentionDays   int                // 0: keep forever
	PruneMode       string             // "trash" or "delete"
	TrashDays       int
	PruneAfterRun   bool

	// From the environment only.
	GWSUsername        string
	GWSPassword        Secret
	AWSAccessKeyID     string
	AWSSecretAccessKey Secret
	AWSSessionToken    Secret // AWS_SESSION_TOKEN, for temporary keys

	values     map[string]string // keys as written in the file, trimmed
	folder     []folderPart      // RecordingFolderFormat, parsed at load
	gwsURLPort int               // port written inside gwsProxyHost, 0 if none
}

// Defaults returns a Config holding every default of spec §2 and no
// gwsUriPrefix: the base Load starts from, and handy for tests.
func Defaults() *Config {
	return &Config{
		GWSRecordingsURI:      "/recordings",
		GWSSettingsURI:        "/me/settings/rcbs",
		TargetDir:             "./target",
		MaxAge:                sharding.Period{Days: 2},
		ShardBy:               sharding.Period{Days: 1},
		Overlap:               sharding.Period{Clock: 6 * time.Hour},
		MediaTypePattern:      regexp.MustCompile(anchor(DefaultMediaTypePattern)),
		RecordingFolderFormat: DefaultRecordingFolderFormat,
		EncryptionFormat:      "AES-128",
		KeyTransport:          "oaep",
		DownloadMode:          "multithread",
		NumThreads:            4,
		TotalInstances:        1,
		AWSRegion:             "us-east-1",
		RequestTimeout:        60 * time.Second,
		Retries:               5,
		LogFormat:             "text",
		Serve:                 Serve{Listen: "127.0.0.1:4000", LinkTTL: 15 * time.Minute},
		PruneMode:             "trash",
		TrashDays:             30,
		folder:                defaultFolder(),
	}
}

// Defaults of keys whose default is text.
const (
	DefaultMediaTypePattern      = "audio/mp3|video/mp4"
	DefaultRecordingFolderFormat = "yyyy/MM/dd/HH"
)

// anchor makes a pattern match a whole string, as Java's String.matches.
func anchor(p string) string { return "^(?:" + p + ")$" }

// Value returns key's value as written in the file (trimmed), or its
// default text when the file does not set it; for messages that quote what
// the user wrote, e.g. "minAge must be less than maxAge=2".
func (c *Config) Value(key string) string {
	if v, ok := c.values[key]; ok {
		return v
	}
	for _, k := range keyTable() {
		if k.name == key {
			return k.def
		}
	}
	return ""
}

// AWSProxyURL is the S3 proxy as a URL (http://host:port), nil when unset.
func (c *Config) AWSProxyURL() *url.URL {
	if c.AWSProxyHost == "" {
		return nil
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(c.AWSProxyHost, strconv.Itoa(c.AWSProxyPort))}
}

// GWSProxyURL is the recordings-API proxy as a URL, nil when unset.
func (c *Config) GWSProxyURL() *url.URL {
	if c.GWSProxyHost == "" {
		return nil
	}
	u, err := url.Parse(c.GWSProxyHost)
	if err != nil {
		return nil
	}
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(c.GWSProxyPort))
	return u
}
