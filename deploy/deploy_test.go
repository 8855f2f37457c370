package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/magiconair/properties"
)

// The contract's facts these files must agree with, written out here on
// purpose: a deployment file that drifts from the spec must fail, even if
// the code drifted with it.
var (
	// wantTimes is the schedule of the original manual's crontab (04:30,
	// 10:30, 16:30, 22:30) that every scheduler here must reproduce.
	wantTimes = []string{"04:30", "10:30", "16:30", "22:30"}

	// credentialEnv are the environment variables of spec §2.
	credentialEnv = []string{"GWS_USERNAME", "GWS_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}

	// configKeys are the keys of spec §2's table; anything else in a config
	// file here is a typo rcbs would only warn about.
	configKeys = []string{
		"gwsUriPrefix", "targetDir", "maxAge", "minAge", "minDate", "maxDate",
		"skipLastRecordingCheck", "shardBy", "overlap", "mediaTypePattern",
		"recordingFolderFormat", "encryptionFormat", "encryptionCertificate",
		"metadataOnly", "usePayloadSigning", "downloadMode", "numThreads",
		"totalRcbsInstances", "rcbsInstanceId", "awsProxyHost", "awsProxyPort",
		"gwsProxyHost", "gwsProxyPort", "gwsRecordingsUri", "gwsSettingsUri",
		"awsRegion", "awsEndpoint", "requestTimeout", "retries", "logFormat",
		"metricsFile",
	}
)

// placeholder is the only shape a credential value may have in an example
// file: <something>. It keeps a real secret from being committed by mistake.
var placeholder = regexp.MustCompile(`^<[a-z_]+>$`)

// readFile returns a file of this folder as text, failing the test if absent.
func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return string(b)
}

// loadProperties parses config.properties text as rcbs does (spec §2) and
// checks that it names only documented keys and the required one.
func loadProperties(t *testing.T, name, text string) *properties.Properties {
	t.Helper()
	p, err := properties.LoadString(text)
	if err != nil {
		t.Fatalf("%s: parse properties: %v", name, err)
	}
	for _, k := range p.Keys() {
		if !slices.Contains(configKeys, k) {
			t.Errorf("%s: key %q is not a config key of spec §2", name, k)
		}
	}
	if _, ok := p.Get("gwsUriPrefix"); !ok {
		t.Errorf("%s: the required key gwsUriPrefix is missing", name)
	}
	for _, c := range credentialLike(p) {
		t.Errorf("%s: %s; credentials belong in the environment (spec §2)", name, c)
	}
	return p
}

// credentialLike lists the entries of a config that look like a credential:
// spec §2 reads credentials from the environment only.
func credentialLike(p *properties.Properties) []string {
	suspicious := append([]string{"password", "secret", "passphrase"}, credentialEnv...)
	var found []string
	for _, k := range p.Keys() {
		entry := strings.ToLower(k + "=" + p.GetString(k, ""))
		for _, s := range suspicious {
			if strings.Contains(entry, strings.ToLower(s)) {
				found = append(found, k+" mentions "+s)
			}
		}
	}
	return found
}

// envFileKeys parses a KEY=value file as systemd's EnvironmentFile= and sh
// both read it, failing on lines the two would read differently.
func envFileKeys(t *testing.T, name, text string) map[string]string {
	t.Helper()
	kv := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(k, " \t") || strings.HasPrefix(k, "export") {
			t.Errorf("%s:%d: %q is not a plain KEY=value line", name, i+1, line)
			continue
		}
		kv[k] = v
	}
	return kv
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// TestCredentialsEnvExample checks the env file shared by systemd and cron:
// exactly the four variables of spec §2, each a placeholder.
func TestCredentialsEnvExample(t *testing.T) {
	const name = "systemd/credentials.env.example"
	kv := envFileKeys(t, name, readFile(t, name))
	if got, want := sortedKeys(kv), sortedCopy(credentialEnv); !slices.Equal(got, want) {
		t.Errorf("%s: variables %v, want %v", name, got, want)
	}
	for k, v := range kv {
		if !placeholder.MatchString(v) {
			t.Errorf("%s: %s=%q is not a <placeholder>: never commit a real credential", name, k, v)
		}
	}
}

// TestSystemdConfigExample checks the config the systemd unit points at.
func TestSystemdConfigExample(t *testing.T) {
	const name = "systemd/config.properties.example"
	p := loadProperties(t, name, readFile(t, name))
	if dir := p.GetString("targetDir", ""); !filepath.IsAbs(dir) {
		t.Errorf("%s: targetDir %q must be absolute for a service", name, dir)
	}
}

// TestCredentialLike shows that the credential check can fail.
func TestCredentialLike(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"gwsUriPrefix=https://x\ntargetDir=/data\n", 0},
		{"GWS_PASSWORD=hunter2\n", 2}, // the key names both "password" and GWS_PASSWORD
		{"awsProxyHost=secret.example.com\n", 1},
		{"password=hunter2\n", 1},
	}
	for _, tt := range tests {
		p, err := properties.LoadString(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := credentialLike(p); len(got) != tt.want {
			t.Errorf("%q: found %v, want %d findings", tt.text, got, tt.want)
		}
	}
}
