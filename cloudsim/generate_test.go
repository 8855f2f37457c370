package cloudsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cms/cmstest"
)

func newCloud(t testing.TB, o Options) *Cloud {
	t.Helper()
	if o.Start.IsZero() {
		o.Start, o.End = testStart, testStart.Add(10*24*time.Hour)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// repeatable is what must not change between two clouds of the same seed.
type repeatable struct {
	ID        string
	StartTime time.Time
	JSON      string
	Sizes     []int64
	Plain     [][32]byte
}

func summary(c *Cloud) []repeatable {
	var out []repeatable
	for _, r := range c.Recordings() {
		s := repeatable{ID: r.ID, StartTime: r.StartTime, JSON: string(r.JSON)}
		for _, m := range r.Media {
			s.Sizes = append(s.Sizes, m.Size)
			s.Plain = append(s.Plain, m.PlainSHA256)
		}
		out = append(out, s)
	}
	return out
}

func TestSameSeedSameRecordings(t *testing.T) {
	o := Options{Recordings: 40, Seed: 42, APIMediaShare: 0.3, UnencryptedShare: 0.3}
	a, b := summary(newCloud(t, o)), summary(newCloud(t, o))
	if len(a) != 40 || !slices.EqualFunc(a, b, func(x, y repeatable) bool {
		return x.ID == y.ID && x.StartTime.Equal(y.StartTime) && x.JSON == y.JSON &&
			slices.Equal(x.Sizes, y.Sizes) && slices.Equal(x.Plain, y.Plain)
	}) {
		t.Fatal("two clouds of seed 42 differ")
	}
	o.Seed = 43
	if c := summary(newCloud(t, o)); c[0].ID == a[0].ID || c[0].Plain[0] == a[0].Plain[0] {
		t.Fatal("seed 43 gives the recordings of seed 42")
	}
}

var (
	idRe      = regexp.MustCompile(`^[0-9A-Z]{32}$`)
	digitsRe  = regexp.MustCompile(`^[0-9]+$`)
	mediaIDRe = regexp.MustCompile(`^([0-9A-Z]{32})_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-[0-9A-F]{8}-[0-9A-F]{8}-\d{8}\.(mp3|mp4)$`)
)

// timeLayout classifies a JSON time as one of the §7 layouts and parses it.
func timeLayout(t *testing.T, v any) (int, time.Time) {
	t.Helper()
	switch x := v.(type) {
	case json.Number:
		ms, err := x.Int64()
		if err != nil {
			t.Fatalf("time %v: %v", x, err)
		}
		return layoutEpoch, time.UnixMilli(ms)
	case string:
		for _, l := range []struct {
			layout int
			format string
		}{
			{layoutOffset, "2006-01-02T15:04:05.000-0700"},
			{layoutZ, "2006-01-02T15:04:05Z"},
			{layoutColon, "2006-01-02T15:04:05.000-07:00"},
		} {
			if tm, err := time.Parse(l.format, x); err == nil {
				return l.layout, tm
			}
		}
	}
	t.Fatalf("time %#v in no §7 layout", v)
	return 0, time.Time{}
}

func TestRecordingShape(t *testing.T) {
	c := newCloud(t, plain(Options{Recordings: 200, Seed: 11, APIMediaShare: 0.2}))
	o := c.Options()
	layouts := map[int]int{}
	sizeKinds := map[string]int{}
	types := map[string]int{}
	var unknownKeys int
	for _, rec := range c.Recordings() {
		dec := json.NewDecoder(bytes.NewReader(rec.JSON))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if !idRe.MatchString(rec.ID) || doc["id"] != rec.ID {
			t.Fatalf("id %q / %v", rec.ID, doc["id"])
		}
		l, st := timeLayout(t, doc["startTime"])
		layouts[l]++
		if !st.Equal(rec.StartTime) || st.Before(o.Start) || !st.Before(o.End) {
			t.Fatalf("%s: startTime %v, Recording.StartTime %v, window [%v, %v)", rec.ID, st, rec.StartTime, o.Start, o.End)
		}
		if _, stop := timeLayout(t, doc["stopTime"]); stop.Before(st) {
			t.Fatalf("%s: stops before it starts", rec.ID)
		}
		for _, k := range []string{"callerPhoneNumber", "dialedPhoneNumber", "region", "eventHistory", "sequence", "tenant"} {
			if doc[k] == nil {
				t.Fatalf("%s: no %s", rec.ID, k)
			}
		}
		if doc["x-vendor-extension"] != nil {
			unknownKeys++
		}
		files := doc["mediaFiles"].([]any)
		if len(files) != len(rec.Media) || len(files) == 0 {
			t.Fatalf("%s: %d mediaFiles, %d Media", rec.ID, len(files), len(rec.Media))
		}
		for i, f := range files {
			m := f.(map[string]any)
			checkMedia(t, rec, rec.Media[i], m, sizeKinds)
			types[m["type"].(string)]++
		}
	}
	for l := range layoutCount {
		if layouts[l] == 0 {
			t.Errorf("no recording startTime in layout %d: %v", l, layouts)
		}
	}
	if sizeKinds["string"] == 0 || sizeKinds["number"] == 0 || types["audio/mp3"] == 0 || types["video/mp4"] == 0 || unknownKeys == 0 {
		t.Errorf("variety missing: sizes %v, types %v, extension keys %d", sizeKinds, types, unknownKeys)
	}
}

func checkMedia(t *testing.T, rec Recording, want Media, m map[string]any, sizeKinds map[string]int) {
	t.Helper()
	id := m["mediaId"].(string)
	if sm := mediaIDRe.FindStringSubmatch(id); sm == nil || sm[1] != rec.ID || id != want.MediaID {
		t.Fatalf("mediaId %q", id)
	}
	switch s := m["size"].(type) {
	case string:
		sizeKinds["string"]++
		if !digitsRe.MatchString(s) {
			t.Fatalf("size %q is not a decimal string", s)
		}
	case json.Number:
		sizeKinds["number"]++
	}
	if n, _ := json.Number(stringOf(m["size"])).Int64(); n != want.Size {
		t.Fatalf("%s: size %v, stored %d", id, m["size"], want.Size)
	}
	if d, ok := m["mediaDescriptor"].(map[string]any); ok {
		data := d["data"].(map[string]any)
		if d["storage"] != "awsS3" || data["bucket"] != want.Bucket || d["path"] != want.Key || want.Key == "" {
			t.Fatalf("%s: descriptor %v, want bucket %q key %q", id, d, want.Bucket, want.Key)
		}
	} else if want.Key != "" || (m["mediaUri"] == nil && m["mediaPath"] == nil) {
		t.Fatalf("%s: no descriptor and no mediaUri/mediaPath", id)
	}
}

func stringOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// TestMediaDecryptWithOpenSSL checks the stored media against the reference
// decoder: every encrypted file opens with the cloud's key to the plaintext
// the cloud recorded, whatever its cipher and recipient count.
func TestMediaDecryptWithOpenSSL(t *testing.T) {
	cmstest.RequireOpenSSL(t)
	c := newCloud(t, Options{Recordings: 24, Seed: 4, UnencryptedShare: 0.1})
	dir := t.TempDir()
	keyPath, certPath, err := c.WriteKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if _, err := os.Stat(certPath); err != nil {
		t.Fatal(err)
	}
	var encrypted, plainCount int
	variants := map[string]bool{}
	for _, rec := range c.Recordings() {
		for i, m := range rec.Media {
			stored := readBlob(t, c, rec.ID, i)
			if sha256.Sum256(stored) != m.SHA256 || int64(len(stored)) != m.Size {
				t.Fatalf("%s: stored bytes do not match Media", m.MediaID)
			}
			if !m.Encrypted {
				plainCount++
				if m.SHA256 != m.PlainSHA256 {
					t.Fatalf("%s: plaintext media with two hashes", m.MediaID)
				}
				continue
			}
			encrypted++
			variants[fmt.Sprint(m.Cipher, "/", m.Recipients)] = true
			in := filepath.Join(dir, m.MediaID+".bin")
			out := filepath.Join(dir, m.MediaID)
			if err := os.WriteFile(in, stored, 0o600); err != nil {
				t.Fatal(err)
			}
			cmstest.OpenSSL(t, "cms", "-decrypt", "-inform", "DER", "-binary", "-inkey", keyPath, "-in", in, "-out", out)
			got, err := os.ReadFile(out)
			if err != nil || sha256.Sum256(got) != m.PlainSHA256 {
				t.Fatalf("%s: openssl plaintext differs from PlainSHA256 (%v)", m.MediaID, err)
			}
		}
	}
	if encrypted == 0 || plainCount == 0 {
		t.Errorf("encrypted %d, plaintext %d: want both", encrypted, plainCount)
	}
	for _, v := range []string{"AES-128/1", "AES-256/1"} {
		if !variants[v] {
			t.Errorf("no %s media among %v", v, variants)
		}
	}
	if !variants["AES-128/2"] && !variants["AES-256/2"] {
		t.Errorf("no media with two recipients among %v", variants)
	}
}

func readBlob(t *testing.T, c *Cloud, id string, i int) []byte {
	t.Helper()
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, rec := range c.recs {
		if rec.pub.ID == id {
			rc, err := rec.blobs[i].open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var buf bytes.Buffer
			if _, err := buf.ReadFrom(rc); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
	}
	t.Fatalf("no recording %s", id)
	return nil
}

func TestKeyReused(t *testing.T) {
	a := newCloud(t, Options{Recordings: 1})
	b := newCloud(t, Options{Recordings: 1, KeyPEM: a.KeyPEM()})
	if !bytes.Equal(a.KeyPEM(), b.KeyPEM()) || !bytes.Equal(a.CertPEM(), b.CertPEM()) {
		t.Fatal("KeyPEM not reused, or its certificate not repeatable")
	}
	if c := newCloud(t, plain(Options{Recordings: 1})); c.KeyPEM() != nil {
		t.Fatal("an all-plaintext cloud made a key")
	}
}

func TestOptionsRejected(t *testing.T) {
	for _, o := range []Options{
		{Recordings: -1},
		{Profile: "huge"},
		{Paging: "pages"},
		{UnencryptedShare: 1.5},
		{Bucket: "ab"},
		{Start: testStart, End: testStart},
		{S3Faults: Faults{Rate: 2}},
	} {
		if c, err := New(o); err == nil {
			c.Close()
			t.Errorf("New(%+v): no error", o)
		}
	}
}
