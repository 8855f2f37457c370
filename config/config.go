// Package config reads config.properties (Java properties syntax) and the
// credentials in the environment into a validated Config.
package config

import (
	"fmt"
	"regexp"
	"time"

	"github.com/rcbs/rcbs/sharding"
)

// Secret holds a password or secret key. It formats as "[redacted]" so that
// it can never leak through a log line, an error or a %v of a Config.
type Secret string

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

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

// Config is a validated configuration (spec §2). Zero-valued optional
// fields mean "unset".
type Config struct {
	File string // path it was read from, for messages

	GWSURIPrefix     string
	GWSRecordingsURI string
	GWSSettingsURI   string
	TargetDir        string

	MaxAge, MinAge         sharding.Period
	MinDate, MaxDate       *time.Time
	SkipLastRecordingCheck bool
	ShardBy                sharding.Period
	Overlap                sharding.Period

	MediaTypePattern      *regexp.Regexp // anchored: ^(?:P)$
	RecordingFolderFormat string
	EncryptionFormat      string // "AES-128" or "AES-256"
	EncryptionCertificate string // path, "" when unset
	MetadataOnly          bool
	UsePayloadSigning     bool
	DownloadMode          string // "single" or "multithread"
	NumThreads            int    // workers actually used (1 in single mode)

	TotalInstances int
	InstanceID     int

	AWSProxyHost string
	AWSProxyPort int
	GWSProxyHost string // as given, e.g. http://10.0.1.31
	GWSProxyPort int

	AWSRegion      string
	AWSEndpoint    string
	RequestTimeout time.Duration
	Retries        int
	LogFormat      string // "text" or "json"
	MetricsFile    string
	PingURL        string

	// From the environment only.
	GWSUsername        string
	GWSPassword        Secret
	AWSAccessKeyID     string
	AWSSecretAccessKey Secret
}
