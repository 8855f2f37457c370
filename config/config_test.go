package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/sharding"
)

const prefix = "gwsUriPrefix=https://example.com/api/v2\n"

// envOf is a getenv over a fixed map.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParseDefaults(t *testing.T) {
	c, warnings, err := Parse(prefix, "config.properties", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	want := Defaults()
	want.File, want.GWSURIPrefix = "config.properties", "https://example.com/api/v2"
	want.values = map[string]string{"gwsUriPrefix": "https://example.com/api/v2"}
	if want.MediaTypePattern.String() != c.MediaTypePattern.String() {
		t.Errorf("pattern %q, want %q", c.MediaTypePattern, want.MediaTypePattern)
	}
	want.MediaTypePattern, c.MediaTypePattern = nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(minimal) =\n%+v\nwant\n%+v", c, want)
	}
	// The spec's defaults, spelled out rather than read back from Defaults.
	d := Defaults()
	if d.TargetDir != "./target" || d.MaxAge != (sharding.Period{Days: 2}) || !d.MinAge.IsZero() ||
		d.ShardBy != (sharding.Period{Days: 1}) || d.Overlap != (sharding.Period{Clock: 6 * time.Hour}) ||
		d.RecordingFolderFormat != "yyyy/MM/dd/HH" || d.EncryptionFormat != "AES-128" || d.DownloadMode != "multithread" ||
		d.NumThreads != 4 || d.TotalInstances != 1 || d.InstanceID != 0 || d.GWSRecordingsURI != "/recordings" ||
		d.GWSSettingsURI != "/me/settings/rcbs" || d.AWSRegion != "us-east-1" || d.RequestTimeout != 60*time.Second ||
		d.Retries != 5 || d.LogFormat != "text" || d.MinDate != nil || d.MaxDate != nil || d.MetadataOnly || d.UsePayloadSigning {
		t.Errorf("Defaults() = %+v differs from spec §2", d)
	}
}

func TestParseValues(t *testing.T) {
	dir := t.TempDir()
	cert := writeCert(t, dir, "rsa")
	tests := []struct {
		name  string
		text  string
		env   []string
		check func(c *Config) bool
	}{
		{"trailing slash of the prefix dropped", "gwsUriPrefix=https://example.com/api/v2/\n",
			nil, func(c *Config) bool { return c.GWSURIPrefix == "https://example.com/api/v2" }},
		{"colon separator and spaces", "gwsUriPrefix : http://127.0.0.1:8080/api/v2\n",
			nil, func(c *Config) bool { return c.GWSURIPrefix == "http://127.0.0.1:8080/api/v2" }},
		{"continuation line", "gwsUriPrefix=https://example.com/\\\n    api/v2\n",
			nil, func(c *Config) bool { return c.GWSURIPrefix == "https://example.com/api/v2" }},
		{"comments # and !", "# a comment\n! another\n" + prefix + "  # indented comment\n",
			nil, func(c *Config) bool { return c.GWSURIPrefix == "https://example.com/api/v2" }},
		{"unicode escape", prefix + "targetDir=/data/r\\u00e9cordings\n",
			nil, func(c *Config) bool { return c.TargetDir == "/data/récordings" }},
		{"${} is not expanded", prefix + "targetDir=/data/${HOME}\n",
			nil, func(c *Config) bool { return c.TargetDir == "/data/${HOME}" }},
		{"ISO-8859-1 file", prefix + "targetDir=/data/r\xe9cordings\n",
			nil, func(c *Config) bool { return c.TargetDir == "/data/récordings" }},
		{"UNC targetDir kept", prefix + "targetDir=//server/share/path\n",
			nil, func(c *Config) bool { return c.TargetDir == "//server/share/path" }},
		{"CRLF line ends", "gwsUriPrefix=https://example.com/api/v2\r\nmaxAge=3\r\nlogFormat=json\r\n",
			nil, func(c *Config) bool { return c.MaxAge == sharding.Period{Days: 3} && c.LogFormat == "json" }},
		{"empty value is unset", prefix + "maxAge=\nnumThreads=   \n",
			nil, func(c *Config) bool { return c.MaxAge == sharding.Period{Days: 2} && c.NumThreads == 4 }},
		{"trailing blanks trimmed", prefix + "maxAge=3  \t\n",
			nil, func(c *Config) bool { return c.MaxAge == sharding.Period{Days: 3} }},
		{"ISO ages", prefix + "maxAge=P1Y2DT4H30M\nminAge=PT30M\n",
			nil, func(c *Config) bool {
				return c.MaxAge == sharding.Period{Years: 1, Days: 2, Clock: 4*time.Hour + 30*time.Minute} &&
					c.MinAge == sharding.Period{Clock: 30 * time.Minute} && c.MinDate == nil && c.MaxDate == nil
			}},
		{"dates both ways", prefix + "minDate=2015-07-31\nmaxDate=1438300800000\n",
			nil, func(c *Config) bool {
				want := time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)
				return c.MinDate.Equal(want) && c.MaxDate.Equal(want)
			}},
		{"overlap in hours and ISO", prefix + "overlap=12\nshardBy=P6MT12H\n",
			nil, func(c *Config) bool {
				return c.Overlap == sharding.Period{Clock: 12 * time.Hour} && c.ShardBy == sharding.Period{Months: 6, Clock: 12 * time.Hour}
			}},
		{"overlap P6D", prefix + "overlap=P6D\n", nil, func(c *Config) bool { return c.Overlap == sharding.Period{Days: 6} }},
		{"manual's escaped pattern", prefix + "mediaTypePattern=audio\\/mp3|video\\/mp4\n",
			nil, func(c *Config) bool {
				return matchesAll(c, "audio/mp3", "video/mp4") && matchesNone(c, "audio/mp3x", "xaudio/mp3", "audio/wav")
			}},
		{"escape kept through the properties layer", prefix + "mediaTypePattern=audio\\\\/mp3|video\\\\/mp4\n",
			nil, func(c *Config) bool { return matchesAll(c, "audio/mp3", "video/mp4") && matchesNone(c, "audio\\/mp3") }},
		{"plain pattern is anchored", prefix + "mediaTypePattern=audio/mp3\n",
			nil, func(c *Config) bool {
				return matchesAll(c, "audio/mp3") && matchesNone(c, "video/mp4", "audio/mp3;codec=x")
			}},
		{"folder format", prefix + "recordingFolderFormat=yyyy-MM/dd_HH.mm/'rec'\n",
			nil, func(c *Config) bool {
				return c.FolderFor(time.Date(2018, 2, 12, 19, 1, 7, 0, time.UTC)) == "2018-02/12_19.01/rec"
			}},
		{"booleans any case", prefix + "skipLastRecordingCheck=TRUE\nmetadataOnly=True\nusePayloadSigning=false\n",
			nil, func(c *Config) bool { return c.SkipLastRecordingCheck && c.MetadataOnly && !c.UsePayloadSigning }},
		{"encryption", prefix + "encryptionFormat=aes-256\nencryptionCertificate=" + filepath.ToSlash(cert) + "\n",
			nil, func(c *Config) bool {
				return c.EncryptionFormat == "AES-256" && c.EncryptionCert != nil && c.EncryptionCertificate != ""
			}},
		{"key transport", prefix + "encryptionKeyTransport=PKCS1\n",
			nil, func(c *Config) bool { return c.KeyTransport == "pkcs1" }},
		{"key transport default", prefix,
			nil, func(c *Config) bool { return c.KeyTransport == "oaep" }},
		{"single mode uses one worker", prefix + "downloadMode=single\n",
			nil, func(c *Config) bool { return c.DownloadMode == "single" && c.NumThreads == 1 }},
		{"multithread workers", prefix + "downloadMode=multithread\nnumThreads=256\n",
			nil, func(c *Config) bool { return c.NumThreads == 256 }},
		{"instances both", prefix + "totalRcbsInstances=4\nrcbsInstanceId=3\n",
			[]string{"JOB_COMPLETION_INDEX", "1"}, func(c *Config) bool { return c.TotalInstances == 4 && c.InstanceID == 3 }},
		{"instances from JOB_COMPLETION_INDEX", prefix + "totalRcbsInstances=4\n",
			[]string{"JOB_COMPLETION_INDEX", "2"}, func(c *Config) bool { return c.TotalInstances == 4 && c.InstanceID == 2 }},
		{"one instance alone needs no index", prefix + "totalRcbsInstances=1\n",
			nil, func(c *Config) bool { return c.TotalInstances == 1 && c.InstanceID == 0 }},
		{"proxies", prefix + "awsProxyHost=10.0.1.31\nawsProxyPort=8080\ngwsProxyHost=http://proxy.corp\ngwsProxyPort=3128\n",
			nil, func(c *Config) bool {
				return c.AWSProxyURL().String() == "http://10.0.1.31:8080" && c.GWSProxyURL().String() == "http://proxy.corp:3128"
			}},
		{"IPv6 proxies, port inside gwsProxyHost", prefix + "awsProxyHost=[::1]\nawsProxyPort=8080\ngwsProxyHost=http://[fe80::1]:3128\n",
			nil, func(c *Config) bool {
				return c.AWSProxyHost == "::1" && c.AWSProxyURL().String() == "http://[::1]:8080" && c.GWSProxyURL().String() == "http://[fe80::1]:3128"
			}},
		{"same port twice", prefix + "gwsProxyPort=3128\ngwsProxyHost=http://proxy:3128\n",
			nil, func(c *Config) bool { return c.GWSProxyURL().String() == "http://proxy:3128" }},
		{"no proxies", prefix, nil, func(c *Config) bool { return c.AWSProxyURL() == nil && c.GWSProxyURL() == nil }},
		{"API paths, region, endpoint", prefix + "gwsRecordingsUri=/v3/recordings\ngwsSettingsUri=/settings\nawsRegion=eu-west-1\nawsEndpoint=http://127.0.0.1:9000\n",
			nil, func(c *Config) bool {
				return c.GWSRecordingsURI == "/v3/recordings" && c.GWSSettingsURI == "/settings" && c.AWSRegion == "eu-west-1" && c.AWSEndpoint == "http://127.0.0.1:9000"
			}},
		{"timeout in seconds", prefix + "requestTimeout=90\n", nil, func(c *Config) bool { return c.RequestTimeout == 90*time.Second }},
		{"timeout ISO", prefix + "requestTimeout=PT2M30S\n", nil, func(c *Config) bool { return c.RequestTimeout == 150*time.Second }},
		{"retries, log, metrics, ping", prefix + "retries=1\nlogFormat=JSON\nmetricsFile=" + filepath.ToSlash(dir) + "/rcbs.prom\npingUrl=https://hc.example.com/ping/abc\n",
			nil, func(c *Config) bool {
				return c.Retries == 1 && c.LogFormat == "json" && strings.HasSuffix(c.MetricsFile, "/rcbs.prom") && c.PingURL == "https://hc.example.com/ping/abc"
			}},
		{"credentials from the environment", prefix,
			[]string{"GWS_USERNAME", "u@tenant", "GWS_PASSWORD", "pw", "AWS_ACCESS_KEY_ID", "AKIA", "AWS_SECRET_ACCESS_KEY", "sk"},
			func(c *Config) bool {
				return c.GWSUsername == "u@tenant" && c.GWSPassword.Reveal() == "pw" && c.AWSAccessKeyID == "AKIA" && c.AWSSecretAccessKey.Reveal() == "sk"
			}},
		{"value recorded for messages", prefix + "maxAge= P3D \n", nil, func(c *Config) bool {
			return c.Value("maxAge") == "P3D" && c.Value("minAge") == "0" && c.Value("shardBy") == "1" && c.Value("nope") == ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := Parse(tt.text, "c.properties", envOf(tt.env...))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q", warnings)
			}
			if !tt.check(c) {
				t.Errorf("Parse(%q) = %+v: check failed", tt.text, c)
			}
		})
	}
}

// matchesAll: every type is kept. Its negation is not "none is kept" —
// use matchesNone for types that must be rejected, so that one type that
// never matches cannot hide another that wrongly does.
func matchesAll(c *Config, types ...string) bool {
	for _, s := range types {
		if !c.MediaTypePattern.MatchString(s) {
			return false
		}
	}
	return true
}

// matchesNone: every type is rejected.
func matchesNone(c *Config, types ...string) bool {
	for _, s := range types {
		if c.MediaTypePattern.MatchString(s) {
			return false
		}
	}
	return true
}

// The pattern is matched against the whole type, as Java's matches() does:
// each near miss is checked on its own, so one cannot hide behind another.
func TestMediaTypePatternAnchored(t *testing.T) {
	for _, pattern := range []string{"audio/mp3|video/mp4", "audio\\/mp3|video\\/mp4", "audio/mp3"} {
		c, _, err := Parse(prefix+"mediaTypePattern="+pattern+"\n", "c.properties", envOf())
		if err != nil {
			t.Fatal(err)
		}
		if !c.MediaTypePattern.MatchString("audio/mp3") {
			t.Errorf("pattern %s rejects audio/mp3", pattern)
		}
		for _, typ := range []string{"audio/mp3x", "xaudio/mp3", "audio/mp3;codec=x", " audio/mp3", "audio/mp3\n", "AUDIO/MP3"} {
			if c.MediaTypePattern.MatchString(typ) {
				t.Errorf("pattern %s keeps %q", pattern, typ)
			}
		}
	}
	def := Defaults()
	for _, typ := range []string{"audio/mp3x", "xaudio/mp3", "video/mp4;codec=x", "audio/mp3|video/mp4"} {
		if def.MediaTypePattern.MatchString(typ) {
			t.Errorf("the default pattern keeps %q", typ)
		}
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ec := writeCert(t, dir, "ecdsa")
	const ageHelp = "must be a whole number of days or an ISO-8601 duration (P30D, PT30M, P1Y2DT4H30M)"
	const folderMsg = "use the date letters yyyy MM dd HH mm, / between folders, and literal 0-9 - _ . or 'quoted text'"
	tests := []struct {
		text string
		env  []string
		want string
	}{
		{"", nil, `config: gwsUriPrefix: is required: the URL prefix of the recordings web services, e.g. https://example.com/api/v2 (got "")`},
		{"gwsUriPrefix=\n", nil, `config: gwsUriPrefix: is required: the URL prefix of the recordings web services, e.g. https://example.com/api/v2 (got "")`},
		{"gwsUriPrefix=ftp://example.com/api\n", nil, `config: gwsUriPrefix: must be an http:// or https:// URL (got "ftp://example.com/api")`},
		{"gwsUriPrefix=example.com/api/v2\n", nil, `config: gwsUriPrefix: must be an http:// or https:// URL (got "example.com/api/v2")`},
		{"gwsUriPrefix=https://user:hunter2@example.com/api\n", nil, `config: gwsUriPrefix: must not contain a user name or password (credentials come from the environment) (got "https://user:xxxxx@example.com/api")`},
		{"gwsUriPrefix=https:///api\n", nil, `config: gwsUriPrefix: must name a host, e.g. https://example.com/api/v2 (got "https:///api")`},
		{"gwsUriPrefix=https://example.com/api?x=1\n", nil, `config: gwsUriPrefix: must not contain a query or fragment (got "https://example.com/api?x=1")`},
		{"gwsUriPrefix=https://exa mple.com/\n", nil, `config: gwsUriPrefix: must be a URL without spaces or control characters (got "https://exa mple.com/")`},
		{"gwsUriPrefix=https://example.com:99999/\n", nil, `config: gwsUriPrefix: has a port outside 1-65535 (got "https://example.com:99999/")`},
		{prefix + "targetDir=C:\\target\n", nil, `config: targetDir: contains a control character (a backslash in .properties starts an escape such as \t: write / instead) (got "C:\target")`},
		{prefix + "targetDir=C:\\\\target\n", nil, `config: targetDir: must use / as the folder separator, not \ (got "C:\\target")`},
		{prefix + "maxAge=-1\n", nil, `config: maxAge: must not be negative (got "-1")`},
		{prefix + "maxAge=1.5\n", nil, `config: maxAge: ` + ageHelp + ` (got "1.5")`},
		{prefix + "minAge=P1.5D\n", nil, `config: minAge: ` + ageHelp + ` (got "P1.5D")`},
		{prefix + "minAge=3 days\n", nil, `config: minAge: ` + ageHelp + ` (got "3 days")`},
		{prefix + "overlap=2.5\n", nil, `config: overlap: must be a whole number of hours or an ISO-8601 duration (P30D, PT30M, P1Y2DT4H30M) (got "2.5")`},
		{prefix + "minDate=2018-02-30\n", nil, `config: minDate: is not a real calendar date (got "2018-02-30")`},
		{prefix + "maxDate=143830080000\n", nil, `config: maxDate: must be a date YYYY-MM-DD (GMT) or 13-digit epoch milliseconds (got "143830080000")`},
		{prefix + "skipLastRecordingCheck=yes\n", nil, `config: skipLastRecordingCheck: must be true or false (got "yes")`},
		{prefix + "shardBy=0\n", nil, `config: shardBy: must be at least 1 day, or a non-zero ISO-8601 duration such as PT6H (got "0")`},
		{prefix + "shardBy=PT0S\n", nil, `config: shardBy: must be at least 1 day, or a non-zero ISO-8601 duration such as PT6H (got "PT0S")`},
		{prefix + "mediaTypePattern=audio/(mp3\n", nil, `config: mediaTypePattern: is not a valid regular expression (Go RE2 syntax): missing closing ) (got "audio/(mp3")`},
		{prefix + "mediaTypePattern=(?=audio).*\n", nil, `config: mediaTypePattern: is not a valid regular expression (Go RE2 syntax): invalid or unsupported Perl syntax (got "(?=audio).*")`},
		{prefix + "recordingFolderFormat=yyyy/MM/dd/HH:mm\n", nil, `config: recordingFolderFormat: has the character ':': ` + folderMsg + ` (got "yyyy/MM/dd/HH:mm")`},
		{prefix + "recordingFolderFormat=/yyyy/MM\n", nil, `config: recordingFolderFormat: has an empty folder name (a leading, trailing or double /) (got "/yyyy/MM")`},
		{prefix + "recordingFolderFormat=yyyy//MM\n", nil, `config: recordingFolderFormat: has an empty folder name (a leading, trailing or double /) (got "yyyy//MM")`},
		{prefix + "recordingFolderFormat=yyyy/../MM\n", nil, `config: recordingFolderFormat: has the folder name "..", which would leave targetDir (got "yyyy/../MM")`},
		{prefix + "recordingFolderFormat=yy/MM\n", nil, `config: recordingFolderFormat: has unsupported date letters "yy": ` + folderMsg + ` (got "yy/MM")`},
		{prefix + "recordingFolderFormat=yyyy/'x\n", nil, `config: recordingFolderFormat: has an unterminated quote: ` + folderMsg + ` (got "yyyy/'x")`},
		{prefix + "recordingFolderFormat=yyyy/'a b'\n", nil, `config: recordingFolderFormat: has the character ' ' in quoted text: ` + folderMsg + ` (got "yyyy/'a b'")`},
		{prefix + "encryptionFormat=AES-192\n", nil, `config: encryptionFormat: must be AES-128 or AES-256 (got "AES-192")`},
		{prefix + "encryptionKeyTransport=rsa\n", nil, `config: encryptionKeyTransport: must be oaep or pkcs1 (got "rsa")`},
		{prefix + "encryptionCertificate=/nonexistent/cert.pem\n", nil, `config: encryptionCertificate: does not exist (got "/nonexistent/cert.pem")`},
		{prefix + "encryptionCertificate=" + filepath.ToSlash(dir) + "\n", nil, `config: encryptionCertificate: is a directory, not a file (got "` + filepath.ToSlash(dir) + `")`},
		{prefix + "encryptionCertificate=" + filepath.ToSlash(notPEM) + "\n", nil, `config: encryptionCertificate: is not a PEM certificate (no -----BEGIN CERTIFICATE----- block) (got "` + filepath.ToSlash(notPEM) + `")`},
		{prefix + "encryptionCertificate=" + filepath.ToSlash(ec) + "\n", nil, `config: encryptionCertificate: holds a ECDSA key: only RSA certificates can be encrypted to (got "` + filepath.ToSlash(ec) + `")`},
		{prefix + "downloadMode=parallel\n", nil, `config: downloadMode: must be single or multithread (got "parallel")`},
		{prefix + "numThreads=0\n", nil, `config: numThreads: must be a whole number from 1 to 256 (got "0")`},
		{prefix + "numThreads=257\n", nil, `config: numThreads: must be a whole number from 1 to 256 (got "257")`},
		{prefix + "numThreads=four\n", nil, `config: numThreads: must be a whole number from 1 to 256 (got "four")`},
		{prefix + "totalRcbsInstances=0\n", nil, `config: totalRcbsInstances: must be a whole number from 1 to 65536 (got "0")`},
		{prefix + "totalRcbsInstances=4\n", nil, `config: totalRcbsInstances: needs rcbsInstanceId, or JOB_COMPLETION_INDEX in the environment (got "4")`},
		{prefix + "totalRcbsInstances=4\n", []string{"JOB_COMPLETION_INDEX", "4"}, `config: JOB_COMPLETION_INDEX: must be an instance number from 0 to 3 (totalRcbsInstances=4) (got "4")`},
		{prefix + "totalRcbsInstances=4\n", []string{"JOB_COMPLETION_INDEX", "x"}, `config: JOB_COMPLETION_INDEX: must be an instance number from 0 to 3 (totalRcbsInstances=4) (got "x")`},
		{prefix + "rcbsInstanceId=1\n", nil, `config: rcbsInstanceId: needs totalRcbsInstances (got "1")`},
		{prefix + "totalRcbsInstances=2\nrcbsInstanceId=2\n", nil, `config: rcbsInstanceId: must be less than totalRcbsInstances=2 (got "2")`},
		{prefix + "rcbsInstanceId=-1\ntotalRcbsInstances=2\n", nil, `config: rcbsInstanceId: must be a whole number from 0 to 65535 (got "-1")`},
		{prefix + "awsProxyHost=http://10.0.1.31\nawsProxyPort=8080\n", nil, `config: awsProxyHost: must be a host name or IP address only, without http:// (that form is for gwsProxyHost) (got "http://10.0.1.31")`},
		{prefix + "awsProxyHost=proxy:8080\n", nil, `config: awsProxyHost: must not include a port (set awsProxyPort) (got "proxy:8080")`},
		{prefix + "awsProxyHost=bad_host!\n", nil, `config: awsProxyHost: must be a host name or IP address (got "bad_host!")`},
		{prefix + "awsProxyHost=10.0.1.31\n", nil, `config: awsProxyHost: needs awsProxyPort (got "10.0.1.31")`},
		{prefix + "awsProxyPort=8080\n", nil, `config: awsProxyPort: needs awsProxyHost (got "8080")`},
		{prefix + "awsProxyPort=70000\n", nil, `config: awsProxyPort: must be a whole number from 1 to 65535 (got "70000")`},
		{prefix + "gwsProxyHost=10.0.1.31\ngwsProxyPort=8080\n", nil, `config: gwsProxyHost: must be http://host (the proxy's scheme and host name or IP) (got "10.0.1.31")`},
		{prefix + "gwsProxyHost=http://proxy/path\ngwsProxyPort=8080\n", nil, `config: gwsProxyHost: must be http://host without a path or query (got "http://proxy/path")`},
		{prefix + "gwsProxyHost=http://proxy\n", nil, `config: gwsProxyHost: needs gwsProxyPort (got "http://proxy")`},
		{prefix + "gwsProxyPort=3128\ngwsProxyHost=http://proxy:8080\n", nil, `config: gwsProxyPort: differs from the port 8080 in gwsProxyHost (got "3128")`},
		{prefix + "gwsProxyPort=3128\n", nil, `config: gwsProxyPort: needs gwsProxyHost (got "3128")`},
		{prefix + "gwsRecordingsUri=recordings\n", nil, `config: gwsRecordingsUri: must be a path starting with / (got "recordings")`},
		{prefix + "gwsSettingsUri=/me?x=1\n", nil, `config: gwsSettingsUri: must be a path without spaces, query (?) or fragment (#) (got "/me?x=1")`},
		{prefix + "awsRegion=us east 1\n", nil, `config: awsRegion: must be a region name such as us-east-1 (letters, digits, - and _) (got "us east 1")`},
		{prefix + "awsEndpoint=localhost:9000\n", nil, `config: awsEndpoint: must be an http:// or https:// URL (got "localhost:9000")`},
		{prefix + "requestTimeout=0\n", nil, `config: requestTimeout: must be more than zero (got "0")`},
		{prefix + "requestTimeout=P1M\n", nil, `config: requestTimeout: must not use years or months: give seconds or an ISO-8601 duration such as PT60S (got "P1M")`},
		{prefix + "requestTimeout=P8D\n", nil, `config: requestTimeout: must be at most a week (P7D) (got "P8D")`},
		{prefix + "retries=0\n", nil, `config: retries: must be a whole number from 1 to 100 (got "0")`},
		{prefix + "logFormat=xml\n", nil, `config: logFormat: must be text or json (got "xml")`},
		{prefix + "metricsFile=/nonexistent/dir/rcbs.prom\n", nil, `config: metricsFile: is in a folder that does not exist (got "/nonexistent/dir/rcbs.prom")`},
		{prefix + "metricsFile=" + filepath.ToSlash(dir) + "\n", nil, `config: metricsFile: is a directory (got "` + filepath.ToSlash(dir) + `")`},
		{prefix + "pingUrl=https://hc.example.com/abc?x=1\n", nil, `config: pingUrl: must not contain a query or fragment (got "https://hc.example.com/abc?x=1")`},
		{prefix + "pingUrl=mailto:ops@example.com\n", nil, `config: pingUrl: must be an http:// or https:// URL (got "mailto:ops@example.com")`},
		{prefix + "pingUrl=https://u:secret@hc.example.com/x\n", nil, `config: pingUrl: must not contain a user name or password (credentials come from the environment) (got "https://u:xxxxx@hc.example.com/x")`},
		{prefix + "maxAge=x\nminAge=y\n", nil, `config: maxAge: ` + ageHelp + ` (got "x")`},
		{prefix + "minAge=y\nmaxAge=x\n", nil, `config: minAge: ` + ageHelp + ` (got "y")`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c, _, err := Parse(tt.text, "c.properties", envOf(tt.env...))
			var ce *Error
			if !errors.As(err, &ce) || err.Error() != tt.want {
				t.Fatalf("Parse(%q) error = %v\nwant *Error %s", tt.text, err, tt.want)
			}
			if c != nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("want a nil Config and a one-line error")
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "secret@") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.properties", "\x7fELF\x02\x01\x01\x00\x00binary")
	nul := write("nul.properties", prefix+"maxAge=2\x00\n")
	badEscape := write("escape.properties", prefix+"targetDir=/data/\\u00zz\n")
	big := write("big.properties", "# "+strings.Repeat("x", 1<<20)+"\n")
	plainFile := write("plain", "x")
	tests := []struct {
		name, path, want string
		is               error
	}{
		{"missing", filepath.Join(dir, "nope.properties"), "config file " + filepath.Join(dir, "nope.properties") + ": does not exist", fs.ErrNotExist},
		{"directory", dir, "config file " + dir + ": is a directory, not a file", nil},
		{"not a directory on the way", filepath.Join(plainFile, "c.properties"), "config file " + filepath.Join(plainFile, "c.properties") + ": cannot be opened: not a directory", nil},
		{"binary", garbage, "config file " + garbage + ": is not a text properties file (byte 0x7f at offset 0)", nil},
		{"NUL byte", nul, "config file " + nul + fmt.Sprintf(": is not a text properties file (byte 0x00 at offset %d)", len(prefix)+8), nil},
		{"bad unicode escape", badEscape, "config file " + badEscape + ": line 2: invalid unicode literal", nil},
		{"too large", big, "config file " + big + ": is larger than 1024 KiB", nil},
	}
	if os.Geteuid() != 0 { // root reads a 0000 file anyway
		unreadable := write("unreadable.properties", prefix)
		if err := os.Chmod(unreadable, 0); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name, path, want string
			is               error
		}{"unreadable", unreadable, "config file " + unreadable + ": cannot be read: permission denied", fs.ErrPermission})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(tt.path, nil)
			var fe *FileError
			if !errors.As(err, &fe) || err.Error() != tt.want {
				t.Fatalf("Load error = %v\nwant *FileError %s", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.properties")
	if err := os.WriteFile(p, []byte("\xef\xbb\xbf"+prefix+"maxAge=3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != p || c.GWSURIPrefix != "https://example.com/api/v2" || c.MaxAge != (sharding.Period{Days: 3}) {
		t.Errorf("Load = %+v", c)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		text string
		env  []string
		want []string
	}{
		{prefix + "maxage=3\n", nil, []string{`c.properties: unknown key "maxage" ignored (did you mean "maxAge"?)`}},
		{prefix + "numThread=3\nshard_by=2\n", nil, []string{
			`c.properties: unknown key "numThread" ignored (did you mean "numThreads"?)`,
			`c.properties: unknown key "shard_by" ignored (did you mean "shardBy"?)`}},
		{prefix + "colour=blue\n", nil, []string{`c.properties: unknown key "colour" ignored`}},
		{prefix + "GWS_PASSWORD=hunter2\n", nil, []string{`c.properties: unknown key "GWS_PASSWORD" ignored: credentials are read only from the environment (GWS_USERNAME, GWS_PASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); remove it from the file`}},
		{prefix + "minDate=2018-01-04\nminAge=1\nmaxDate=2018-01-02\nmaxAge=3\n", nil, []string{
			"c.properties: minAge is ignored: minDate is set", "c.properties: maxAge is ignored: maxDate is set"}},
		{prefix + "downloadMode=single\nnumThreads=8\n", nil, []string{"c.properties: numThreads is ignored: downloadMode is single"}},
		{prefix, []string{"GWS_USERNAME", "u"}, []string{"c.properties: only one of GWS_USERNAME and GWS_PASSWORD is set in the environment"}},
		{prefix, []string{"AWS_SECRET_ACCESS_KEY", "s"}, []string{"c.properties: only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set in the environment"}},
		{prefix + "metadataOnly=true\n", []string{"AWS_SECRET_ACCESS_KEY", "s"}, nil},
		{prefix, []string{"GWS_USERNAME", "u", "GWS_PASSWORD", "p"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, got, err := Parse(tt.text, "c.properties", envOf(tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("warnings = %q\nwant %q", got, tt.want)
			}
			if strings.Contains(strings.Join(got, " "), "hunter2") {
				t.Errorf("a warning repeats a credential")
			}
		})
	}
	// Warnings come back with the error too.
	_, got, err := Parse(prefix+"maxage=3\nnumThreads=0\n", "c.properties", nil)
	if err == nil || len(got) != 1 {
		t.Errorf("Parse = %v, warnings %q; want an error and one warning", err, got)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	c, _, err := Parse(prefix, "c.properties", envOf("GWS_USERNAME", "user", "GWS_PASSWORD", "pa55word", "AWS_SECRET_ACCESS_KEY", "s3cr3tkey", "AWS_ACCESS_KEY_ID", "AKIA"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(*c), string(j)} {
		if strings.Contains(out, "pa55word") || strings.Contains(out, "s3cr3tkey") {
			t.Errorf("secret printed: %s", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("no [redacted] in %s", out)
		}
	}
}

func TestFolderFor(t *testing.T) {
	at := time.Date(2018, 2, 12, 19, 1, 7, 0, time.FixedZone("X", 5*3600)) // 14:01 GMT
	tests := []struct{ format, want string }{
		{"yyyy/MM/dd/HH", "2018/02/12/14"},
		{"yyyy/MM/dd/HH/mm", "2018/02/12/14/01"},
		{"yyyy-MM-dd", "2018-02-12"},
		{"'year'yyyy/MM", "year2018/02"},
		{"'archive'/yyyy", "archive/2018"}, // letters are Java date letters: words are quoted
		{"", "2018/02/12/14"},              // a literal Config with no format: the default
	}
	for _, tt := range tests {
		c := &Config{RecordingFolderFormat: tt.format}
		if got := c.FolderFor(at); got != tt.want {
			t.Errorf("FolderFor(%q) = %q, want %q", c.RecordingFolderFormat, got, tt.want)
		}
	}
	if _, err := parseFolderFormat("archive/yyyy"); err == nil {
		t.Errorf("unquoted letters accepted")
	}
	loaded, _, err := Parse(prefix+"recordingFolderFormat=yyyy/MM\n", "c", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.FolderFor(at); got != "2018/02" {
		t.Errorf("loaded FolderFor = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", prefix, prefix + "maxAge=P1Y2DT4H30M\nminAge=PT30M\n", "a=b\\\n c\n", "k=\\u00", "k=\\",
		prefix + "recordingFolderFormat='a'/yyyy/../\n", prefix + "mediaTypePattern=(((\n", "\xff\xfe=\x01", prefix + "totalRcbsInstances=3\n",
		prefix + "gwsProxyHost=http://[::1]:0\ngwsProxyPort=1\n", "gwsUriPrefix=http://%zz\n", "#!\n!#=\n:=\n==\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, _, err := Parse(text, "fuzz.properties", envOf("JOB_COMPLETION_INDEX", "1"))
		if err != nil {
			if c != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error with a Config or on several lines: %v", err)
			}
			return
		}
		if c.GWSURIPrefix == "" || c.MediaTypePattern == nil || c.NumThreads < 1 || c.InstanceID >= c.TotalInstances {
			t.Fatalf("invalid Config accepted: %+v", c)
		}
		c.FolderFor(time.Now())
	})
}

// writeCert writes a self-signed certificate with an RSA or ECDSA key as
// PEM and returns its path.
func writeCert(t *testing.T, dir, kind string) string {
	t.Helper()
	var pub, priv any
	switch kind {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
	default:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rcbs test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, kind+".pem")
	// A leading non-certificate block checks that the certificate is searched for.
	text := pem.EncodeToMemory(&pem.Block{Type: "COMMENT", Bytes: []byte("x")})
	text = append(text, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(p, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExampleFile checks config.properties.example: it loads cleanly, names
// every key, and its commented examples are valid values too.
func TestExampleFile(t *testing.T) {
	const path = "../config.properties.example"
	c, warnings, err := Load(path, nil)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Load(example) = %v, warnings %q", err, warnings)
	}
	if c.Value("mediaTypePattern") != "audio/mp3|video/mp4" || !matchesAll(c, "audio/mp3", "video/mp4") {
		t.Errorf("example's escaped mediaTypePattern read as %q", c.Value("mediaTypePattern"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		k, _, isKV := strings.Cut(strings.TrimPrefix(l, "#"), "=")
		switch {
		case !isKV || strings.Contains(k, " "):
			lines = append(lines, l) // prose
		case k == "encryptionCertificate" || k == "metricsFile" || k == "manifestKey" || k == "verifyKey":
			// their example paths do not exist on a test machine
		default:
			lines = append(lines, strings.TrimPrefix(l, "#"))
		}
	}
	text := strings.Join(lines, "\n")
	for _, k := range keyTable() {
		if k.def != "" && c.Value(k.name) != k.def {
			t.Errorf("example sets %s=%s, not its default %s", k.name, c.Value(k.name), k.def)
		}
		if !strings.Contains(string(b), "\n"+k.name+"=") && !strings.Contains(string(b), "\n#"+k.name+"=") {
			t.Errorf("example does not document %s", k.name)
		}
	}
	if _, _, err := Parse(text, "example-uncommented", nil); err != nil {
		t.Errorf("example with every example value: %v", err)
	}
}

// Credentials come from the environment only, session token included, and
// never show when the Config is printed.
func TestCredentialsFromEnvironment(t *testing.T) {
	env := map[string]string{"GWS_USERNAME": "u@t.example", "GWS_PASSWORD": "pw-marker",
		"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-marker", "AWS_SESSION_TOKEN": "token-marker"}
	cfg, _, err := Parse("gwsUriPrefix=https://example.com/api/v2\n", "c.properties", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GWSUsername != "u@t.example" || cfg.GWSPassword.Reveal() != "pw-marker" || cfg.AWSAccessKeyID != "AKIAEXAMPLE" ||
		cfg.AWSSecretAccessKey.Reveal() != "secret-marker" || cfg.AWSSessionToken.Reveal() != "token-marker" {
		t.Errorf("credentials not read from the environment: %+v", cfg)
	}
	for _, shown := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		for _, marker := range []string{"pw-marker", "secret-marker", "token-marker"} {
			if strings.Contains(shown, marker) {
				t.Errorf("%s shows in %q", marker, shown)
			}
		}
	}
}
