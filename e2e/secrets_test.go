//go:build unix

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
	"github.com/rcbs/rcbs/cloudsim/s3test"
)

// Unique markers for the secrets of TestSecretsNeverShown; the user name
// and access key ID may be shown, so they are not markers.
const (
	markUser       = "secrets-test-user"
	markPassword   = "GWSPASSWORDMARKERq7Zk2v"
	markAccessKey  = "AKIDSECRETSTEST"
	markSecretKey  = "AWSSECRETKEYMARKERw4Hn8x"
	markPassphrase = "PASSPHRASEMARKERr9Tc5m"
)

// markers are the strings no output or file may contain: each secret, and
// the Basic auth header value that carries the password.
func markers() []string {
	return []string{markPassword, markSecretKey, markPassphrase,
		base64.StdEncoding.EncodeToString([]byte(markUser + ":" + markPassword))}
}

// secretEnv is the environment of every command of the test: the markers
// as the credentials and the key passphrase.
func secretEnv(extra ...string) []string {
	return append(append(inherited(), "GWS_USERNAME="+markUser, "GWS_PASSWORD="+markPassword,
		"AWS_ACCESS_KEY_ID="+markAccessKey, "AWS_SECRET_ACCESS_KEY="+markSecretKey,
		"RCBS_KEY_PASSPHRASE="+markPassphrase), extra...)
}

// TestSecretsNeverShown runs every command with the credentials and the
// key passphrase set to unique markers: plan, run (success; the API
// answering 401; S3 refusing the secret; API and S3 answering 500 with a
// body that echoes the request's headers, Authorization included),
// dry-run, decrypt (wrong and right passphrase), simulate -h, demo and
// version, with logFormat text and json and a metricsFile. No marker, nor
// the base64 Basic auth value, appears in stdout, stderr, the metrics
// file, or any file under the test's folders (targets, demo, decrypt
// output).
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := &secretsRun{root: root}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			s.backupCommands(t, format)
			s.failures(t, format)
		})
	}
	t.Run("s3 refuses the secret", s.s3Refuses)
	t.Run("decrypt", s.decrypt)
	t.Run("other commands", s.otherCommands)
	t.Run("files", func(t *testing.T) { checkNoMarkerInFiles(t, root) })
}

// secretsRun is TestSecretsNeverShown's state: every file it makes lives
// under root, so that one walk checks them all.
type secretsRun struct{ root string }

func (s *secretsRun) dir(t *testing.T, name string) string {
	t.Helper()
	d, err := os.MkdirTemp(s.root, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// rcbs runs a command in env and checks its output for markers.
func (s *secretsRun) rcbs(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := start(t, env, args...).wait(t)
	checkNoMarker(t, r.String(), "output of rcbs "+strings.Join(args, " "))
	return r
}

// backupCommands: plan (text and -json), a successful run, a run with
// nothing to do, a dry run, all against a cloud that demands the markers.
func (s *secretsRun) backupCommands(t *testing.T, format string) {
	w := newWorld(t, cloudsim.Options{Recordings: 10, Seed: 88, Start: t0().Add(-day), End: t0(),
		Username: markUser, Password: markPassword, APIMediaShare: 0.3, AccessKey: markAccessKey, SecretKey: markSecretKey})
	w.env = secretEnv()
	d := s.dir(t, "backup-"+format)
	target, metrics := filepath.Join(d, "target"), filepath.Join(d, "rcbs.prom")
	cfg := w.writeConfig(t, target, relative(1, "logFormat", format, "metricsFile", metrics)...)
	now := t0().Format(time.RFC3339)
	for _, args := range [][]string{
		{"plan", "-config", cfg, "-now", now}, {"plan", "-config", cfg, "-json", "-now", now},
		{"run", "-config", cfg, "-dry-run", "-now", now},
		{"run", "-config", cfg, "-now", now}, {"-config", cfg, "-now", now},
	} {
		if r := s.rcbs(t, w.env, args...); r.code != 0 {
			t.Errorf("want exit 0, got %s", r)
		}
	}
	checkTree(t, target, treeWant{recs: w.cloud.Recordings(), state: t0()})
	checkNoMarkerInFile(t, metrics)
}

// failures: the API refusing the password (401), and API and S3 errors
// whose body repeats every request header back.
func (s *secretsRun) failures(t *testing.T, format string) {
	refusing := newWorld(t, cloudsim.Options{Recordings: 2, Seed: 89, Start: t0().Add(-day), End: t0(),
		Username: markUser, Password: "the-right-password-is-another"})
	d := s.dir(t, "refused-"+format)
	cfg := refusing.writeConfig(t, filepath.Join(d, "target"), "logFormat", format, "metricsFile", filepath.Join(d, "rcbs.prom"))
	r := s.rcbs(t, secretEnv(), "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	if r.code != 1 || !strings.Contains(r.stderr, "refused the credentials of "+markUser) {
		t.Errorf("API answering 401: want exit 1 naming the user, got %s", r)
	}

	start, _ := hostileWindow()
	echo := func(kind string) *httptest.Server {
		srv := httptest.NewServer(echoHeaders(kind))
		t.Cleanup(srv.Close)
		return srv
	}
	s3Echo := echo("s3")
	rec := s3Rec(t, "ECHOS3000000000000000000000000001", start.Add(time.Hour))
	api := startHostileAPIAuth(t, markUser, markPassword, serve(listingPage("", rec)), nil)
	for name, apiURL := range map[string]string{
		"api HTTP 500": echo("api500").URL + "/api/v2", "api statusCode 4": echo("api200").URL + "/api/v2", "s3": api.prefix(),
	} {
		cfg := echoConfig(t, s.dir(t, "echo-"+format), apiURL, s3Echo.URL, format)
		if r := s.rcbs(t, secretEnv(), "run", "-config", cfg, "-now", t0().Format(time.RFC3339)); r.code != 1 {
			t.Errorf("%s answering 500 with the request's headers: want exit 1, got %s", name, r)
		}
	}
}

// echoConfig is a config for an API and S3 that answer with echoes.
func echoConfig(t *testing.T, dir, apiURL, s3URL, format string) string {
	t.Helper()
	start, end := hostileWindow()
	text := fmt.Sprintf("gwsUriPrefix=%s\ntargetDir=%s\nawsEndpoint=%s\nmaxDate=%d\nminDate=%d\nretries=2\nlogFormat=%s\nmetricsFile=%s\n",
		apiURL, filepath.ToSlash(filepath.Join(dir, "target")), s3URL, start.UnixMilli(), end.UnixMilli(), format, filepath.Join(dir, "rcbs.prom"))
	path := filepath.Join(dir, "config.properties")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// echoHeaders answers with every request header in the body, as some
// proxies and debug endpoints do: kind "s3" is a 500 with S3's XML error,
// "api500" a 500 with the API's JSON, "api200" a 200 whose statusCode is 4
// (spec §7: an error with its statusMessage).
func echoHeaders(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var dump strings.Builder
		for k, vs := range r.Header {
			fmt.Fprintf(&dump, "%s: %s; ", k, strings.Join(vs, ", "))
		}
		if kind == "s3" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>%s</Message><Headers>%s</Headers></Error>", dump.String(), dump.String())
			return
		}
		b, _ := json.Marshal(map[string]any{"statusCode": 4, "statusMessage": dump.String(), "headers": r.Header, "recordings": []any{}})
		w.Header().Set("Content-Type", "application/json")
		if kind == "api500" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		w.Write(b)
	}
}

// s3Rec is a recording whose one media file is in S3.
func s3Rec(t *testing.T, id string, at time.Time) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"id": id, "startTime": at.UnixMilli(), "mediaFiles": []any{map[string]any{
		"mediaId": id + ".mp3", "type": "audio/mp3", "size": 100,
		"mediaDescriptor": map[string]any{"storage": "awsS3", "data": map[string]any{"bucket": "echo-bucket"}, "path": "k/" + id}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// s3Refuses: a real S3 server (versitygw, which checks SigV4) refusing the
// marker secret. Skipped without versitygw, except in CI.
func (s *secretsRun) s3Refuses(t *testing.T) {
	endpoint, access, secret := s3test.StartVersityGW(t)
	w := newWorld(t, cloudsim.Options{Recordings: 3, Seed: 90, Start: t0().Add(-day), End: t0(), Username: markUser, Password: markPassword})
	if err := w.cloud.UploadTo(t.Context(), endpoint, access, secret); err != nil {
		t.Fatalf("upload to versitygw: %v", err)
	}
	d := s.dir(t, "s3refuses")
	for _, format := range []string{"text", "json"} {
		cfg := w.writeConfig(t, filepath.Join(d, "target-"+format), "logFormat", format, "metricsFile", filepath.Join(d, format+".prom"))
		env := secretEnv()
		env[slices.Index(env, "AWS_ACCESS_KEY_ID="+markAccessKey)] = "AWS_ACCESS_KEY_ID=" + access
		if r := s.rcbs(t, env, "run", "-config", cfg, "-now", t0().Format(time.RFC3339)); r.code != 1 || !strings.Contains(r.stderr, access) {
			t.Errorf("S3 refusing the secret: want exit 1 naming the access key, got %s", r)
		}
	}
}

// decrypt: an encrypted PKCS#8 key opened with a wrong passphrase (the
// marker) and with the right one (the marker too, for another key).
func (s *secretsRun) decrypt(t *testing.T) {
	w := newWorld(t, cloudsim.Options{Recordings: 3, Seed: 91, Start: t0().Add(-day), End: t0(), Username: markUser, Password: markPassword,
		AccessKey: markAccessKey, SecretKey: markSecretKey})
	w.env = secretEnv()
	d := s.dir(t, "decrypt")
	target := filepath.Join(d, "target")
	if r := s.rcbs(t, w.env, "run", "-config", w.writeConfig(t, target), "-now", t0().Format(time.RFC3339)); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	plainKey, _, err := w.cloud.WriteKeys(filepath.Join(d, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := encryptKey(t, plainKey, filepath.Join(d, "keys", "other-pass.pem"), "a-passphrase-that-is-not-the-marker")
	rightKey := encryptKey(t, plainKey, filepath.Join(d, "keys", "marker-pass.pem"), markPassphrase)
	if r := s.rcbs(t, w.env, "decrypt", "-key", wrongKey, "-out", filepath.Join(d, "out-wrong"), target); r.code == 0 {
		t.Errorf("decrypt with a wrong passphrase: want failure, got %s", r)
	}
	out := filepath.Join(d, "out-right")
	if r := s.rcbs(t, w.env, "decrypt", "-key", rightKey, "-out", out, target); r.code != 0 {
		t.Errorf("decrypt with the right passphrase: want exit 0, got %s", r)
	}
	checkPlainTree(t, target, out, w.cloud.Recordings())
}

// encryptKey writes key as encrypted PKCS#8 (AES-256, PBKDF2) with pass,
// given to openssl through its environment, not its command line.
func encryptKey(t *testing.T, key, out, pass string) string {
	t.Helper()
	cmd := exec.Command("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", key, "-out", out, "-passout", "env:RCBS_E2E_PASS")
	cmd.Env = append(os.Environ(), "RCBS_E2E_PASS="+pass)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs8: %v\n%s", err, b)
	}
	return out
}

// otherCommands: simulate -h, demo (twice: the second finds all on disk)
// and version, in the markers' environment.
func (s *secretsRun) otherCommands(t *testing.T) {
	env := secretEnv()
	if r := s.rcbs(t, env, "simulate", "-h"); r.code != 0 {
		t.Errorf("simulate -h: %s", r)
	}
	demo := filepath.Join(s.dir(t, "demo"), "demo")
	for range 2 {
		if r := s.rcbs(t, env, "demo", "-dir", demo, "-recordings", "5"); r.code != 0 {
			t.Errorf("demo: %s", r)
		}
	}
	if r := s.rcbs(t, env, "version"); r.code != 0 {
		t.Errorf("version: %s", r)
	}
}

// checkNoMarker fails if text contains a marker.
func checkNoMarker(t *testing.T, text, where string) {
	t.Helper()
	for _, m := range markers() {
		if strings.Contains(text, m) {
			t.Errorf("a secret (%.12s…) appears in the %s:\n%s", m, where, clip(text))
		}
	}
}

func checkNoMarkerInFile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	checkNoMarker(t, string(b), "file "+path)
}

// checkNoMarkerInFiles walks every file under root.
func checkNoMarkerInFiles(t *testing.T, root string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		n++
		checkNoMarkerInFile(t, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files checked", n)
}
