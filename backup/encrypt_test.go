package backup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/cms/cmstest"
)

func TestToolSideEncryption(t *testing.T) {
	cmstest.RequireOpenSSL(t)
	dir := t.TempDir()
	pki := cmstest.NewPKI(t, dir, "backup")
	// One media already CMS (from the vendor), stored as is; one plain, encrypted by rcbs.
	plain, vendor := blob(1, 100_000), blob(2, 5000)
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "in.bin")
	os.WriteFile(in, vendor, 0o600)
	cmstest.Encrypt(t, in, out, []string{"-aes256"}, pki.CertFile)
	vendorCMS, _ := os.ReadFile(out)

	for _, tt := range []struct{ format, transport, wantAlg string }{
		{"AES-128", "", "rsaesOaep"}, // the default
		{"AES-256", "oaep", "rsaesOaep"},
		{"AES-128", "pkcs1", "rsaEncryption"},
	} {
		format := tt.format
		t.Run(format+" "+tt.transport, func(t *testing.T) {
			w := newWorld(t)
			w.extra = "encryptionCertificate=" + filepath.ToSlash(pki.CertFile) + "\nencryptionFormat=" + format + "\n"
			if tt.transport != "" {
				w.extra += "encryptionKeyTransport=" + tt.transport + "\n"
			}
			w.addRecording("REC", day(1, 1),
				media{id: "plain.mp3", typ: "audio/mp3", data: plain},
				media{id: "vendor.mp3", typ: "audio/mp3", data: vendorCMS},
				media{id: "api.mp3", typ: "audio/mp3", data: blob(3, 777), api: true, size: "null"})
			deps := w.deps()
			deps.Tuning.MultipartThreshold, deps.Tuning.PartSize = 10_000, 4096 // the plain one is ranged
			if _, err := w.run(context.Background(), deps); err != nil {
				t.Fatal(err)
			}
			recDir := w.recDir("REC", day(1, 1))
			got, _ := os.ReadFile(filepath.Join(recDir, "vendor.mp3.bin"))
			if !bytes.Equal(got, vendorCMS) {
				t.Error("an already encrypted media file was changed")
			}
			for name, want := range map[string][]byte{"plain.mp3.bin": plain, "api.mp3.bin": blob(3, 777)} {
				f := filepath.Join(recDir, name)
				if !fileIsCMS(f) {
					t.Fatalf("%s is not CMS", name)
				}
				if dec := cmstest.Decrypt(t, f, pki.KeyFile); !bytes.Equal(dec, want) {
					t.Errorf("%s: openssl decrypts %d bytes, not the source", name, len(dec))
				}
			}
			aes := map[string]string{"AES-128": "aes-128-cbc", "AES-256": "aes-256-cbc"}[format]
			info := cmstest.OpenSSL(t, "cms", "-cmsout", "-print", "-inform", "DER", "-in", filepath.Join(recDir, "plain.mp3.bin"))
			if !strings.Contains(string(info), aes) {
				t.Errorf("not encrypted with %s:\n%.400s", aes, info)
			}
			if !strings.Contains(string(info), "algorithm: "+tt.wantAlg) {
				t.Errorf("key not wrapped with %s: %q", tt.wantAlg, regexp.MustCompile(`algorithm: \S+`).FindAllString(string(info), -1))
			}
			// The next run sees the encrypted files as complete.
			hs := &hookStore{inner: w.store(w.config())}
			deps.S3 = hs
			if sum, err := w.run(context.Background(), deps); err != nil || sum.Skipped != 1 || len(hs.requests()) != 0 {
				t.Errorf("second run: %+v, %v, %d requests", sum, err, len(hs.requests()))
			}
		})
	}
}

// Media stored unencrypted are warned about once per run, not once per
// recording (thousands of cron mails): one line with the count and the
// first recording, and the count in the summary.
func TestPlainMediaWarnsOncePerRun(t *testing.T) {
	w := newWorld(t)
	w.addRecording("PLAINREC", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 10)},
		media{id: "b.mp4", typ: "video/mp4", data: blob(2, 10)})
	w.addRecording("PLAIN2", day(2, 1), media{id: "c.mp3", typ: "audio/mp3", data: blob(3, 10)})
	w.addRecording("PLAIN3", day(2, 2), media{id: "d.mp3", typ: "audio/mp3", data: blob(4, 10)})
	sum, err := w.run(context.Background(), w.deps())
	if err != nil {
		t.Fatal(err)
	}
	logs := w.logs.String()
	if n := strings.Count(logs, "media arrived unencrypted"); n != 1 || !strings.Contains(logs, "recordings=3") || !strings.Contains(logs, "first=PLAINREC") {
		t.Errorf("%d warnings, want 1 with the count and the first recording:\n%s", n, logs)
	}
	if sum.Unencrypted != 3 {
		t.Errorf("summary counts %d unencrypted, want 3", sum.Unencrypted)
	}
	_ = cms.AES128CBC
}
