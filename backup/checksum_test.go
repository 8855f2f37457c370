package backup

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms/cmstest"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/metadata"
)

// errLate is what a body reports after its last byte: the AWS SDK's
// checksum mismatch arrives so.
var errLate = errors.New("checksum did not match")

// lateErrBody yields all of r, then (0, errLate) instead of EOF.
type lateErrBody struct {
	r      io.Reader
	closer io.Closer
}

func (b *lateErrBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, errLate
	}
	return n, err
}

func (b *lateErrBody) Close() error {
	if b.closer == nil {
		return nil
	}
	return b.closer.Close()
}

func TestExpectEnd(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"clean end", strings.NewReader(""), nil},
		{"one byte more", strings.NewReader("x"), errSize},
		{"error at the end", &lateErrBody{r: strings.NewReader("")}, errLate},
		{"held back by a bufio.Reader", func() io.Reader { br, _ := peekHead(&lateErrBody{r: strings.NewReader("")}); return br }(), errLate},
	}
	for _, tt := range tests {
		err := expectEnd(tt.r, 5)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

// A body that gives every byte and then an error (the SDK's checksum
// mismatch) is a failed attempt on every path: small objects held back by
// the sniffing buffer, larger ones, ranged parts, tool-side encryption
// (single and ranged) and the API fallback (known size or spooled).
func TestBodyErrorAfterLastByteFailsTheAttempt(t *testing.T) {
	pki := cmstest.NewPKI(t, t.TempDir(), "late")
	tests := []downloadPath{
		{"small, under the sniff buffer", 1000, false, ""},
		{"larger", 100_000, false, ""},
		{"ranged parts", 30_000, false, ""},
		{"encrypted", 1000, true, ""},
		{"encrypted, ranged", 30_000, true, ""},
		{"api, known size", 1000, false, `"1000"`},
		{"api, encrypted", 1000, true, `"1000"`},
		{"api, encrypted, spooled", 1000, true, "null"},
		{"api, unknown size", 1000, false, "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, cfg := tt.world(t, pki.CertFile, 5)
			hs := &hookStore{inner: w.store(cfg), hook: func(_ int, _ GetInput, obj *Object) (*Object, error) {
				obj.Body = &lateErrBody{r: obj.Body, closer: obj.Body}
				return obj, nil
			}}
			deps := w.deps()
			deps.S3 = hs
			lister := &lateLister{fakeLister: w.lister}
			deps.Lister = lister
			deps.Tuning.MultipartThreshold, deps.Tuning.PartSize = 20_000, 8192
			sum, err := Run(context.Background(), cfg, deps)
			if !errors.Is(err, ErrRecordingsFailed) || sum.Failed != 1 || sum.Downloaded != 0 {
				t.Fatalf("%+v, %v: want the recording failed", sum, err)
			}
			if !strings.Contains(w.logs.String(), errLate.Error()) {
				t.Errorf("the body's error is not what failed it:\n%s", w.logs.String())
			}
			gets := len(hs.requests()) + lister.calls
			if gets < cfg.Retries {
				t.Errorf("%d requests, want at least retries=%d attempts", gets, cfg.Retries)
			}
			if got := tree(t, w.target); len(got) != 1 { // the lock file only
				t.Errorf("files left: %v", got)
			}
		})
	}
}

// downloadPath is one way a media file reaches the disk.
type downloadPath struct {
	name    string
	size    int
	encrypt bool   // tool-side encryption (the media arrive plain)
	api     string // "" for S3, else the metadata size of an API media
}

// world is a world with one recording "REC" of one media file a.mp3 that
// takes this path.
func (p downloadPath) world(t *testing.T, cert string, seed byte) (*world, *config.Config) {
	w := newWorld(t)
	if p.encrypt {
		w.extra = "encryptionCertificate=" + filepath.ToSlash(cert) + "\n"
	}
	w.addRecording("REC", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(seed, p.size), api: p.api != "", size: p.api})
	return w, w.config()
}

// lateLister serves the API fallback's media with errLate after the last byte.
type lateLister struct {
	*fakeLister
	calls int
}

func (l *lateLister) Media(ctx context.Context, m metadata.MediaFile) (io.ReadCloser, error) {
	l.calls++
	rc, err := l.fakeLister.Media(ctx, m)
	if err != nil {
		return nil, err
	}
	return &lateErrBody{r: rc, closer: rc}, nil
}

// catalogSpy keeps what the run tells the archive.
type catalogSpy struct {
	mu   sync.Mutex
	recs []archive.Recording
}

func (c *catalogSpy) Add(_ context.Context, rec archive.Recording) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, rec)
	return nil
}

func (c *catalogSpy) Sync() error { return nil }

// slowFirstPart delays every body that starts at offset 0, so that the
// later parts of a ranged download finish first and are hashed from disk.
func slowFirstPart(_ int, in GetInput, obj *Object) (*Object, error) {
	if in.Offset == 0 {
		obj.Body = &slowBody{ReadCloser: obj.Body}
	}
	return obj, nil
}

type slowBody struct{ io.ReadCloser }

func (b *slowBody) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	return b.ReadCloser.Read(p[:min(len(p), 512)])
}

// The sha256 handed to the archive is the sha256 of the final file, on
// every download path.
func TestSHA256IsOfTheFileOnDisk(t *testing.T) {
	pki := cmstest.NewPKI(t, t.TempDir(), "sha")
	tests := []downloadPath{
		{"single GET", 5000, false, ""},
		{"ranged, parts out of order", 40_000, false, ""},
		{"encrypted", 5000, true, ""},
		{"encrypted, ranged", 40_000, true, ""},
		{"api", 5000, false, `"5000"`},
		{"api, unknown size", 5000, false, "null"},
		{"api, encrypted", 5000, true, `"5000"`},
		{"api, encrypted, spooled", 5000, true, "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, cfg := tt.world(t, pki.CertFile, 6)
			deps := w.deps()
			deps.S3 = &hookStore{inner: w.store(cfg), hook: slowFirstPart}
			spy := &catalogSpy{}
			deps.Catalog = spy
			deps.Tuning.MultipartThreshold, deps.Tuning.PartSize, deps.Tuning.PartWorkers = 10_000, 4096, 4
			if _, err := Run(context.Background(), cfg, deps); err != nil {
				t.Fatal(err)
			}
			if len(spy.recs) != 1 || len(spy.recs[0].Files) != 2 {
				t.Fatalf("catalog got %+v", spy.recs)
			}
			for _, f := range spy.recs[0].Files {
				data, err := os.ReadFile(filepath.Join(w.recDir("REC", day(1, 1)), f.Name))
				if err != nil {
					t.Fatal(err)
				}
				if sha256.Sum256(data) != f.SHA256 || int64(len(data)) != f.Size {
					t.Errorf("%s: catalog has sha256 %x size %d, the file %x size %d", f.Name, f.SHA256, f.Size, sha256.Sum256(data), len(data))
				}
			}
		})
	}
}

// orderedHash gives the digest of the whole file whatever order parts of
// it are written in and however each part's writes are split.
func TestOrderedHashAnyOrder(t *testing.T) {
	data := blob(9, 100_000)
	want := sha256.Sum256(data)
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		f, err := os.Create(filepath.Join(t.TempDir(), "f"))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		o := newOrderedHash(h, f)
		// Parts of random sizes, each written in random chunks by its own goroutine.
		var bounds []int
		for off := 0; off < len(data); off += 1 + rng.IntN(20_000) {
			bounds = append(bounds, off)
		}
		bounds = append(bounds, len(data))
		var wg sync.WaitGroup
		for i := range len(bounds) - 1 {
			chunk := 1 + rng.IntN(3000)
			wg.Go(func() {
				w := &hashingWriter{f: f, off: int64(bounds[i]), m: &meter{p: noProgress{}}, h: o, path: f.Name()}
				for p := data[bounds[i]:bounds[i+1]]; len(p) > 0; {
					n := min(chunk, len(p))
					if _, err := w.Write(p[:n]); err != nil {
						t.Error(err)
						return
					}
					p = p[n:]
				}
			})
		}
		wg.Wait()
		f.Close()
		if o.hashed() != int64(len(data)) || [32]byte(h.Sum(nil)) != want {
			t.Fatalf("seed %d: hashed %d of %d bytes, digest differs: %v", seed, o.hashed(), len(data), [32]byte(h.Sum(nil)) != want)
		}
	}
}

func TestChecksumAlgorithms(t *testing.T) {
	// The standard check values of "123456789" (CRC catalogue).
	for alg, want := range map[string]string{"CRC32": "cbf43926", "CRC32C": "e3069283", "CRC64NVME": "ae8b14860a799888"} {
		h := newHash(alg)
		h.Write([]byte("123456789"))
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != want {
			t.Errorf("%s: %s, want %s", alg, got, want)
		}
	}
	tests := []struct {
		in   string
		want Checksum
	}{
		{"", Checksum{}},
		{"pEouyQ==", Checksum{Algorithm: "CRC32", Value: "pEouyQ=="}},
		{"ADAqiw==-2", Checksum{Algorithm: "CRC32", Value: "ADAqiw==", Parts: 2}},
		{"abc-x", Checksum{Algorithm: "CRC32", Value: "abc-x"}},
	}
	for _, tt := range tests {
		if got := parseChecksum("CRC32", tt.in); got != tt.want {
			t.Errorf("parseChecksum(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// crcOf is the big-endian CRC32 of b, as S3 encodes it.
func crcOf(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)) }

func TestVerifier(t *testing.T) {
	data := blob(4, 10_000)
	parts := []int64{4000, 4000, 2000}
	composite := crc32.NewIEEE()
	md5s := md5.New()
	for off := int64(0); off < 10_000; off += 4000 {
		p := data[off:min(off+4000, 10_000)]
		composite.Write(crcOf(p))
		s := md5.Sum(p)
		md5s.Write(s[:])
	}
	whole := md5.Sum(data)
	tests := []struct {
		name string
		c    check
	}{
		{"full-object CRC32", check{method: VerifyFullObject, alg: "CRC32", want: crcOf(data)}},
		{"composite CRC32", check{method: VerifyComposite, alg: "CRC32", want: composite.Sum(nil), parts: parts}},
		{"MD5 ETag", check{method: VerifyMD5ETag, alg: "MD5", want: whole[:]}},
		{"multipart MD5 ETag", check{method: VerifyMD5ETag, alg: "MD5", want: md5s.Sum(nil), parts: parts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, flip := range []int{-1, 0, 3999, 4000, 9999} {
				v := newVerifier(tt.c)
				b := bytes.Clone(data)
				if flip >= 0 {
					b[flip] ^= 0x10
				}
				for p := b; len(p) > 0; p = p[min(len(p), 777):] {
					v.Write(p[:min(len(p), 777)])
				}
				err := v.verify()
				if (flip < 0) != (err == nil) || (err != nil && !errors.Is(err, errChecksum)) {
					t.Errorf("bit flipped at %d: %v", flip, err)
				}
			}
			short := newVerifier(tt.c)
			short.Write(data[:9000])
			if err := short.verify(); !errors.Is(err, errChecksum) {
				t.Errorf("short body: %v", err)
			}
		})
	}
	if v := newVerifier(check{method: VerifySDK}); v != nil {
		t.Error("a verifier for a check the SDK does")
	}
	_ = base64.StdEncoding
}

// flipBit flips one bit at off of every body of the object, counting from
// the object's start (bodies of ranges hold their own slice).
func flipBit(off int64) func(int, GetInput, *Object) (*Object, error) {
	return func(_ int, in GetInput, obj *Object) (*Object, error) {
		if off >= in.Offset && off < in.Offset+obj.Length {
			obj.Body = &flipBody{ReadCloser: obj.Body, at: off - in.Offset}
		}
		return obj, nil
	}
}

type flipBody struct {
	io.ReadCloser
	at, n int64
}

func (b *flipBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.at >= b.n && b.at < b.n+int64(n) {
		p[b.at-b.n] ^= 0x01
	}
	b.n += int64(n)
	return n, err
}

// gofakes3 keeps no checksums: its ETag, the MD5, catches a flipped bit in
// a single GET and in a ranged download; intact objects pass and are
// counted as md5-etag.
func TestMD5ETagCatchesFlippedBit(t *testing.T) {
	for _, tt := range []struct {
		name string
		size int
		flip int64
	}{
		{"single GET", 5000, 4999},
		{"ranged", 40_000, 20_001},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.addRecording("BAD", day(1, 1), media{id: "bad.mp3", typ: "audio/mp3", data: blob(1, tt.size)})
			w.addRecording("GOOD", day(1, 2), media{id: "good.mp3", typ: "audio/mp3", data: blob(2, tt.size)})
			cfg := w.config()
			flip := flipBit(tt.flip)
			hs := &hookStore{inner: w.store(cfg), hook: func(n int, in GetInput, obj *Object) (*Object, error) {
				if in.Key != "media/bad.mp3" {
					return obj, nil
				}
				return flip(n, in, obj)
			}}
			deps := w.deps()
			deps.S3 = hs
			deps.Tuning.MultipartThreshold, deps.Tuning.PartSize = 10_000, 4096
			sum, err := Run(context.Background(), cfg, deps)
			if !errors.Is(err, ErrRecordingsFailed) || sum.Failed != 1 || sum.FailedIDs[0] != "BAD" || sum.Downloaded != 1 {
				t.Fatalf("%+v, %v", sum, err)
			}
			if !strings.Contains(w.logs.String(), "md5-etag MD5") {
				t.Errorf("not failed by the ETag check:\n%s", w.logs.String())
			}
			if sum.Verified[VerifyMD5ETag] != 1 || len(sum.Verified) != 1 {
				t.Errorf("verified %v, want md5-etag 1", sum.Verified)
			}
			checkMedia(t, w.target, map[string][]byte{"2018/01/01/02/GOOD/good.mp3.bin": blob(2, tt.size)})
		})
	}
}

// The first ranged part reads a body opened before the parts' group: a
// failing sibling must stop it rather than let it stream on.
func TestFirstPartStopsWhenSiblingFails(t *testing.T) {
	w := newWorld(t)
	w.addRecording("REC", day(1, 1), media{id: "a.mp4", typ: "video/mp4", data: blob(3, 40_000)})
	cfg := w.config()
	closed := make(chan struct{})
	hs := &hookStore{inner: w.store(cfg), hook: func(_ int, in GetInput, obj *Object) (*Object, error) {
		if in.Offset == 0 { // a body that stalls after its first bytes until closed
			obj.Body = &stallBody{ReadCloser: obj.Body, closed: closed}
			return obj, nil
		}
		obj.Body.Close()
		return nil, &S3Error{Bucket: in.Bucket, Key: in.Key, Status: 404, Code: "NoSuchKey"}
	}}
	deps := w.deps()
	deps.S3 = hs
	deps.Tuning.MultipartThreshold, deps.Tuning.PartSize = 10_000, 4096
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), cfg, deps)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrRecordingsFailed) {
			t.Errorf("err %v, want the recording failed", err)
		}
	case <-time.After(20 * time.Second):
		close(closed) // let the test end
		t.Fatal("the first part kept reading after a sibling failed")
	}
}

type stallBody struct {
	io.ReadCloser
	closed chan struct{}
	once   sync.Once
	n      int
}

func (b *stallBody) Read(p []byte) (int, error) {
	if b.n > 0 {
		<-b.closed
		return 0, errors.New("read on closed body")
	}
	n, err := b.ReadCloser.Read(p[:min(len(p), 100)])
	b.n += n
	return n, err
}

func (b *stallBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return b.ReadCloser.Close()
}

// headStore answers Head from a table: part 0 the object, part n its
// upload part n.
type headStore struct {
	ObjectStore
	heads map[int]*Object
	err   error
	calls int
}

func (h *headStore) Head(_ context.Context, _ GetInput, part int) (*Object, error) {
	h.calls++
	if h.err != nil {
		return nil, h.err
	}
	o, ok := h.heads[part]
	if !ok {
		return nil, &S3Error{Status: 404}
	}
	return o, nil
}

func TestPlanCheck(t *testing.T) {
	const md5hex = "0123456789abcdef0123456789abcdef"
	crc := Checksum{Algorithm: "CRC32", Value: "pEouyQ=="}
	composite := Checksum{Algorithm: "CRC32", Value: "ADAqiw==", Parts: 2}
	parts := map[int]*Object{1: {Length: 600}, 2: {Length: 400}}
	withHead := func(o *Object) map[int]*Object {
		m := map[int]*Object{0: o}
		for k, v := range parts {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		obj    Object
		ranged bool
		heads  map[int]*Object
		noHead bool // the store cannot describe objects
		method string
		parts  int
	}{
		{"whole GET with a checksum: the SDK's", Object{Checksum: crc, ETag: `"` + md5hex + `"`}, false, nil, false, VerifySDK, 0},
		{"ranged: the stored checksum from HEAD", Object{ETag: `"` + md5hex + `"`}, true, map[int]*Object{0: {Checksum: crc}}, false, VerifyFullObject, 0},
		{"ranged, HEAD has none: the ETag", Object{ETag: `"` + md5hex + `"`}, true, map[int]*Object{0: {}}, false, VerifyMD5ETag, 0},
		{"composite, part sizes known", Object{Checksum: composite, ETag: `"` + md5hex + `-2"`}, false, parts, false, VerifyComposite, 2},
		{"ranged composite", Object{ETag: `"` + md5hex + `-2"`}, true, withHead(&Object{Checksum: composite}), false, VerifyComposite, 2},
		{"multipart ETag", Object{ETag: `"` + md5hex + `-2"`}, false, parts, false, VerifyMD5ETag, 2},
		{"multipart ETag, parts unknown", Object{ETag: `"` + md5hex + `-2"`}, false, nil, true, VerifyNone, 0},
		{"SSE-KMS: the ETag is no MD5", Object{ETag: `"` + md5hex + `"`, OpaqueETag: true}, false, nil, false, VerifyNone, 0},
		{"no ETag, no checksum", Object{}, false, nil, false, VerifyNone, 0},
		{"too many parts", Object{ETag: `"` + md5hex + `-65"`}, false, parts, false, VerifyNone, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(newWorld(t).config(), Deps{})
			e.store = &headStore{heads: tt.heads}
			if tt.noHead {
				e.store = &hookStore{}
			}
			obj := tt.obj
			obj.Size = 1000
			c, err := e.planCheck(context.Background(), GetInput{Bucket: "b", Key: "k"}, &obj, tt.ranged)
			if err != nil || c.method != tt.method || len(c.parts) != tt.parts {
				t.Errorf("got %s with %d parts, %v; want %s with %d parts", c.method, len(c.parts), err, tt.method, tt.parts)
			}
		})
	}
	e := newEngine(newWorld(t).config(), Deps{})
	e.store = &headStore{err: &S3Error{Status: 503}}
	if _, err := e.planCheck(context.Background(), GetInput{}, &Object{Size: 1000}, true); err == nil {
		t.Error("a failed HEAD is not a failed attempt")
	}
}
