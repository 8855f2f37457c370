package config

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	"github.com/rcbs/rcbs/sharding"
)

// keySpec is one configuration key: its default as a user would write it
// and how a value is checked and stored. set returns the problem alone; the
// caller turns it into an *Error naming key and value.
type keySpec struct {
	name string
	def  string
	set  func(c *Config, v string) error
}

// keyTable lists every key of spec §2 (and pingUrl), then spec §12's, in the spec's order.
func keyTable() []keySpec {
	return append([]keySpec{
		{"gwsUriPrefix", "", func(c *Config, v string) (err error) { c.GWSURIPrefix, err = parseURL(v); return }},
		{"targetDir", "./target", func(c *Config, v string) (err error) { c.TargetDir, err = parsePath(v); return }},
		{"maxAge", "2", func(c *Config, v string) (err error) { c.MaxAge, err = sharding.ParsePeriod(v, 24*time.Hour); return }},
		{"minAge", "0", func(c *Config, v string) (err error) { c.MinAge, err = sharding.ParsePeriod(v, 24*time.Hour); return }},
		{"minDate", "", func(c *Config, v string) error { return setDate(&c.MinDate, v) }},
		{"maxDate", "", func(c *Config, v string) error { return setDate(&c.MaxDate, v) }},
		{"skipLastRecordingCheck", "false", func(c *Config, v string) (err error) { c.SkipLastRecordingCheck, err = parseBool(v); return }},
		{"shardBy", "1", setShardBy},
		{"overlap", "6", func(c *Config, v string) (err error) { c.Overlap, err = sharding.ParsePeriod(v, time.Hour); return }},
		{"mediaTypePattern", DefaultMediaTypePattern, setMediaTypePattern},
		{"recordingFolderFormat", DefaultRecordingFolderFormat, setFolderFormat},
		{"encryptionFormat", "AES-128", func(c *Config, v string) (err error) {
			c.EncryptionFormat, err = oneOf(strings.ToUpper(v), "AES-128", "AES-256")
			return
		}},
		{"encryptionCertificate", "", setCertificate},
		// How rcbs wraps the content key when it encrypts (spec §8): RSA-OAEP
		// with SHA-256, or PKCS#1 v1.5 for readers without OAEP.
		{"encryptionKeyTransport", "oaep", func(c *Config, v string) (err error) {
			c.KeyTransport, err = oneOf(strings.ToLower(v), "oaep", "pkcs1")
			return
		}},
		{"metadataOnly", "false", func(c *Config, v string) (err error) { c.MetadataOnly, err = parseBool(v); return }},
		{"usePayloadSigning", "false", func(c *Config, v string) (err error) { c.UsePayloadSigning, err = parseBool(v); return }},
		{"downloadMode", "multithread", func(c *Config, v string) (err error) {
			c.DownloadMode, err = oneOf(strings.ToLower(v), "single", "multithread")
			return
		}},
		{"numThreads", "4", func(c *Config, v string) (err error) { c.NumThreads, err = parseInt(v, 1, 256); return }},
		{"totalRcbsInstances", "1", func(c *Config, v string) (err error) { c.TotalInstances, err = parseInt(v, 1, 65536); return }},
		{"rcbsInstanceId", "0", func(c *Config, v string) (err error) { c.InstanceID, err = parseInt(v, 0, 65535); return }},
		{"awsProxyHost", "", func(c *Config, v string) (err error) { c.AWSProxyHost, err = parseHost(v); return }},
		{"awsProxyPort", "", func(c *Config, v string) (err error) { c.AWSProxyPort, err = parseInt(v, 1, 65535); return }},
		{"gwsProxyHost", "", setGWSProxyHost},
		{"gwsProxyPort", "", func(c *Config, v string) (err error) { c.GWSProxyPort, err = parseInt(v, 1, 65535); return }},
		{"gwsRecordingsUri", "/recordings", func(c *Config, v string) (err error) { c.GWSRecordingsURI, err = parseURIPath(v); return }},
		{"gwsSettingsUri", "/me/settings/rcbs", func(c *Config, v string) (err error) { c.GWSSettingsURI, err = parseURIPath(v); return }},
		{"awsRegion", "us-east-1", setRegion},
		{"awsEndpoint", "", func(c *Config, v string) (err error) { c.AWSEndpoint, err = parseURL(v); return }},
		{"requestTimeout", "PT60S", setTimeout},
		{"retries", "5", func(c *Config, v string) (err error) { c.Retries, err = parseInt(v, 1, 100); return }},
		{"logFormat", "text", func(c *Config, v string) (err error) {
			c.LogFormat, err = oneOf(strings.ToLower(v), "text", "json")
			return
		}},
		{"metricsFile", "", setMetricsFile},
		{"pingUrl", "", func(c *Config, v string) (err error) { c.PingURL, err = parseURL(v); return }},
		{"manifestKey", "", setManifestKey},
		{"verifyKey", "", setVerifyKey},
		{"retentionDays", "0", func(c *Config, v string) (err error) { c.RetentionDays, err = parseInt(v, 0, 11000); return }},
		{"pruneMode", "trash", func(c *Config, v string) (err error) {
			c.PruneMode, err = oneOf(strings.ToLower(v), "trash", "delete")
			return
		}},
		{"trashDays", "30", func(c *Config, v string) (err error) { c.TrashDays, err = parseInt(v, 0, 11000); return }},
		{"pruneAfterRun", "false", func(c *Config, v string) (err error) { c.PruneAfterRun, err = parseBool(v); return }},
	}, serveKeys()...)
}

func setDate(dst **time.Time, v string) error {
	t, err := sharding.ParseDate(v)
	if err != nil {
		return err
	}
	*dst = &t
	return nil
}

func setShardBy(c *Config, v string) error {
	p, err := sharding.ParsePeriod(v, 24*time.Hour)
	if err == nil && p.IsZero() {
		err = errors.New("must be at least 1 day, or a non-zero ISO-8601 duration such as PT6H")
	}
	c.ShardBy = p
	return err
}

// setMediaTypePattern compiles the pattern anchored, as Java's matches()
// does. A .properties file turns the manual's audio\/mp3 into audio/mp3
// (an unknown escape drops the backslash, as in Java); a value that keeps
// the backslash (audio\\/mp3 in the file) is fine too: Go's regexp accepts
// \/ as an escaped slash.
func setMediaTypePattern(c *Config, v string) error {
	re, err := regexp.Compile(anchor(v))
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return fmt.Errorf("is not a valid regular expression (Go RE2 syntax): %s", se.Code)
		}
		return fmt.Errorf("is not a valid regular expression: %v", err)
	}
	c.MediaTypePattern = re
	return nil
}

func setFolderFormat(c *Config, v string) error {
	parts, err := parseFolderFormat(v)
	if err != nil {
		return err
	}
	c.RecordingFolderFormat, c.folder = v, parts
	return nil
}

// setTimeout takes seconds or an ISO-8601 duration up to a week; months and
// years have no fixed length and make no sense for a request.
func setTimeout(c *Config, v string) error {
	d, err := parseWeekAtMost(v, "seconds or an ISO-8601 duration such as PT60S")
	if err == nil && d <= 0 {
		err = errors.New("must be more than zero")
	}
	if err != nil {
		return err
	}
	c.RequestTimeout = d
	return nil
}

// parseWeekAtMost reads seconds or an ISO-8601 duration without years or
// months, at most a week; want says what to give, for the message.
func parseWeekAtMost(v, want string) (time.Duration, error) {
	p, err := sharding.ParsePeriod(v, time.Second)
	switch {
	case err != nil:
		return 0, err
	case p.Years != 0 || p.Months != 0:
		return 0, fmt.Errorf("must not use years or months: give %s", want)
	}
	d := time.Duration(p.Days)*24*time.Hour + p.Clock
	if d > 7*24*time.Hour {
		return 0, errors.New("must be at most a week (P7D)")
	}
	return d, nil
}

var regionPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func setRegion(c *Config, v string) error {
	if !regionPattern.MatchString(v) {
		return errors.New("must be a region name such as us-east-1 (letters, digits, - and _)")
	}
	c.AWSRegion = v
	return nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("must be true or false")
}

// parseInt reads a decimal integer in [lo, hi].
func parseInt(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

func oneOf(v string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fmt.Errorf("must be %s", strings.Join(allowed, " or "))
}
