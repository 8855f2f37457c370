package backup

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/rcbs/rcbs/internal/atomicfile"

	"golang.org/x/sync/errgroup"

	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/metadata"
)

// errSize is a body shorter or longer than expected: a failed attempt.
var errSize = errors.New("size mismatch")

// fetchResult is one media file written.
type fetchResult struct {
	bytes  int64    // on disk
	plain  bool     // it arrived unencrypted
	sha256 [32]byte // of the bytes on disk, computed as they streamed
	method string   // how the bytes were checked against the source (VerifyMethods)
}

// fetchWithRetry writes one media file, trying up to cfg.Retries times
// with backoff. Every attempt starts over from a fresh temporary file.
func (e *engine) fetchWithRetry(ctx context.Context, dir string, m metadata.MediaFile, s *slots) (fetchResult, error) {
	attempts := max(e.cfg.Retries, 1)
	for attempt := 1; ; attempt++ {
		res, err := e.fetch(ctx, dir, m, s)
		if err == nil {
			e.countVerified(res.method)
		}
		if err == nil || ctx.Err() != nil {
			return res, err
		}
		if attempt >= attempts || !retryable(err) {
			return res, fmt.Errorf("media %s (attempt %d of %d): %w", m.MediaID, attempt, attempts, err)
		}
		if throttling(err) {
			e.flow.throttled()
		}
		d := e.retryDelay(attempt, err)
		e.log.Warn("retrying media", "id", filepath.Base(dir), "media", m.MediaID, "attempt", attempt, "in", d, "err", err)
		if err := sleep(ctx, d); err != nil {
			return res, err
		}
	}
}

// countVerified books one media file written, by how it was checked.
func (e *engine) countVerified(method string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sum.Verified == nil {
		e.sum.Verified = map[string]int{}
	}
	e.sum.Verified[method]++
}

// fetch is one attempt: stream the media into a temporary file beside its
// final name and rename it into place only when complete.
func (e *engine) fetch(ctx context.Context, dir string, m metadata.MediaFile, s *slots) (res fetchResult, err error) {
	final, err := within(dir, m.MediaID+".bin")
	if err != nil {
		return res, err
	}
	f, err := e.files.Create(final, filePerm)
	if err != nil {
		return res, err
	}
	defer f.Abort()
	meter := &meter{p: e.prog}
	defer func() {
		if err != nil {
			meter.takeBack()
		}
	}()
	sink := newSink(e, f, meter)
	if m.InS3() {
		err = e.fromS3(ctx, sink, m)
	} else {
		err = e.fromAPI(ctx, sink, m)
	}
	if err == nil {
		err = ctx.Err() // once cancelled, nothing more is written
	}
	if err != nil {
		return res, err
	}
	res = fetchResult{bytes: meter.n.Load(), plain: sink.plain, method: sink.method}
	if h := sink.hash.hashed(); h != res.bytes {
		return res, fmt.Errorf("hashed %d of the %d bytes written to %s", h, res.bytes, f.Final())
	}
	sink.disk.Sum(res.sha256[:0])
	s.give() // the request is done; the sync is the disk's business
	if err := f.Commit(sink.wantSize); err != nil {
		return res, err
	}
	return res, nil
}

// sink is where one attempt's bytes go: the temp file, through the meter
// and the hashes, encrypted when tool-side encryption applies.
type sink struct {
	f        *atomicfile.File
	meter    *meter
	e        *engine
	plain    bool
	wantSize int64 // size the file must have at commit; -1: checked already
	// disk is the sha256 of the file's bytes (the manifest's, spec §13),
	// fed in file order by hash however the parts arrive.
	disk   hash.Hash
	hash   *orderedHash
	method string // how the source's bytes were checked
}

func newSink(e *engine, f *atomicfile.File, m *meter) *sink {
	s := &sink{f: f, meter: m, e: e, disk: sha256.New(), method: VerifyNone}
	s.hash = newOrderedHash(s.disk, f)
	return s
}

// meter counts bytes written and reports them to the progress as they
// stream; safe for the parallel parts.
type meter struct {
	p Progress
	n atomic.Int64
}

func (m *meter) add(n int) {
	m.n.Add(int64(n))
	m.p.Bytes(int64(n))
}

func (m *meter) takeBack() {
	if n := m.n.Swap(0); n != 0 {
		m.p.Bytes(-n)
	}
}

// writerAt writes sequentially from off: metered and hashed.
func (s *sink) writerAt(off int64) io.Writer {
	return &hashingWriter{f: s.f, off: off, m: s.meter, h: s.hash, path: s.f.Final()}
}

func (s *sink) writer() io.Writer { return s.writerAt(0) }

// fromS3 fetches m from S3: one GET for small objects; for large ones the
// first part's response pins the ETag and the other parts follow in
// parallel with If-Match, so a replaced object cannot mix two versions.
func (e *engine) fromS3(ctx context.Context, s *sink, m metadata.MediaFile) error {
	in := GetInput{Bucket: m.Bucket, Key: m.Key}
	if in.Bucket == "" {
		in.Bucket = e.settings.S3Bucket
	}
	if in.Bucket == "" {
		return fmt.Errorf("media %s: no bucket in its descriptor nor in the settings: %w", m.MediaID, errPermanent)
	}
	ranged := m.Size > e.tun.MultipartThreshold
	if ranged {
		in.Length = e.tun.PartSize
	}
	obj, err := e.store.Get(ctx, in)
	if err != nil {
		return err
	}
	defer obj.Body.Close()
	if m.Size >= 0 && obj.Size != m.Size {
		return fmt.Errorf("s3://%s/%s is %d bytes, metadata says %d: %w", in.Bucket, in.Key, obj.Size, m.Size, errSize)
	}
	partial := obj.Length >= 0 && obj.Length < obj.Size
	c, err := e.planCheck(ctx, in, obj, partial)
	if err != nil {
		return err
	}
	s.method = c.method
	v := newVerifier(c)
	if err := e.fromObject(ctx, s, obj, in, partial, v); err != nil || v == nil {
		return err
	}
	return v.verify()
}

// fromObject streams the open object to the sink, feeding v (when not nil)
// the object's bytes in order: the plaintext, when rcbs encrypts them.
func (e *engine) fromObject(ctx context.Context, s *sink, obj *Object, in GetInput, partial bool, v *verifier) error {
	br, head := peekHead(obj.Body)
	var src io.Reader = br
	if s.needsEncryption(head) {
		if partial { // encrypt as one stream: the rest in a single ranged GET
			rest := &lazyBody{ctx: ctx, e: e, in: GetInput{
				Bucket: in.Bucket, Key: in.Key, Offset: obj.Length, IfMatch: obj.ETag}}
			defer rest.Close()
			src = io.MultiReader(br, rest)
		}
		if v != nil {
			src = io.TeeReader(src, v)
		}
		return s.encrypt(src, obj.Size)
	}
	if v != nil { // the bytes on disk are the object's: one ordered pass feeds both
		s.hash.dst = io.MultiWriter(s.disk, v)
	}
	if partial {
		return e.parts(ctx, s, br, obj, in)
	}
	return s.copy(src, obj.Size)
}

// fromAPI fetches a media file that has no S3 descriptor through the
// recordings API (spec §7).
func (e *engine) fromAPI(ctx context.Context, s *sink, m metadata.MediaFile) error {
	body, err := e.deps.Lister.Media(ctx, m)
	if err != nil {
		return err
	}
	defer body.Close()
	br, head := peekHead(body)
	if !s.needsEncryption(head) {
		return s.copy(br, m.Size)
	}
	if m.Size >= 0 {
		return s.encrypt(br, m.Size)
	}
	return s.spoolEncrypt(br)
}

// needsEncryption sniffs the first bytes: already CMS → stored as is; plain
// → encrypted when a certificate is configured, else noted for a warning.
func (s *sink) needsEncryption(head []byte) bool {
	if looksLikeCMS(head) {
		return false
	}
	s.plain = true
	return len(s.e.certs) > 0
}

// copy streams r to the file; size < 0 means unknown (then it must not be
// empty, or the completeness check would fetch it forever).
func (s *sink) copy(r io.Reader, size int64) error {
	n, err := s.e.copyExact(s.writer(), r, size)
	if err != nil {
		return err
	}
	if size < 0 && n == 0 {
		return fmt.Errorf("media body is empty: %w", errSize)
	}
	s.wantSize = n
	return nil
}

// copyExact copies exactly size bytes (all of r when size < 0) through a
// pooled buffer and fails on a shorter or longer body. It never writes past
// size, so parallel parts cannot overwrite each other.
func (e *engine) copyExact(w io.Writer, r io.Reader, size int64) (int64, error) {
	buf, put := e.buffer(size)
	defer put()
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size)
	}
	n, err := io.CopyBuffer(w, src, *buf)
	if err != nil {
		if werr := (*FileError)(nil); errors.As(err, &werr) {
			return n, err
		}
		return n, fmt.Errorf("after %d bytes: %w", n, err)
	}
	if size < 0 {
		return n, nil
	}
	if n < size {
		return n, fmt.Errorf("body ended after %d of %d bytes: %w", n, size, errSize)
	}
	return n, expectEnd(r, size)
}

// expectEnd reads once past the expected end of a body: a byte there is a
// longer body, and an error other than EOF is the body's verdict on the
// bytes it gave. The AWS SDK reports a checksum mismatch on the read that
// reaches the end, and the sniffing bufio.Reader holds that error back
// until the next read — this one — so it must never be discarded.
func expectEnd(r io.Reader, size int64) error {
	var one [1]byte
	k, err := io.ReadFull(r, one[:])
	switch {
	case k > 0:
		return fmt.Errorf("body is longer than %d bytes: %w", size, errSize)
	case err == io.EOF:
		return nil
	}
	return fmt.Errorf("after all %d bytes: %w", size, err)
}

// parts writes the first part from the open body and fetches the rest in
// parallel ranged GETs, each written at its offset.
func (e *engine) parts(ctx context.Context, s *sink, first io.Reader, obj *Object, in GetInput) error {
	g, gctx := errgroup.WithContext(ctx)
	// The first part's body was opened under ctx, before the group: close
	// it when a sibling fails, or it would stream on to its end for nothing.
	stop := context.AfterFunc(gctx, func() { obj.Body.Close() })
	defer stop()
	g.SetLimit(max(e.tun.PartWorkers, 1))
	g.Go(func() error { return e.writePart(s, first, 0, obj.Length) })
	for off := obj.Length; off < obj.Size; off += e.tun.PartSize {
		part := GetInput{Bucket: in.Bucket, Key: in.Key, Offset: off, Length: min(e.tun.PartSize, obj.Size-off), IfMatch: obj.ETag}
		g.Go(func() error {
			p, err := e.store.Get(gctx, part)
			if err != nil {
				return err
			}
			defer p.Body.Close()
			return e.writePart(s, p.Body, part.Offset, part.Length)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s.wantSize = obj.Size
	return nil
}

func (e *engine) writePart(s *sink, r io.Reader, off, n int64) error {
	if _, err := e.copyExact(s.writerAt(off), r, n); err != nil {
		return fmt.Errorf("part at %d: %w", off, err)
	}
	return nil
}

// encrypt writes r (size bytes of plaintext) as CMS EnvelopedData to the
// configured certificate. The on-disk size then differs from the metadata
// size; mediaComplete knows it.
func (s *sink) encrypt(r io.Reader, size int64) error {
	cr := &countReader{r: r}
	w := s.writer()
	if err := cms.Encrypt(w, cr, size, s.e.certs, s.e.cipher, s.e.tun.Random); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if cr.n != size {
		return fmt.Errorf("body gave %d of %d bytes: %w", cr.n, size, errSize)
	}
	if err := expectEnd(r, size); err != nil {
		return err
	}
	s.wantSize = -1
	if n, err := cms.EncryptedSize(size, s.e.certs, s.e.cipher); err == nil {
		s.wantSize = n // what mediaComplete will look for
	}
	return nil
}

// spoolEncrypt handles an unencrypted body of unknown size: CMS in DER
// needs the size first, so the plaintext goes to a temporary file (0600,
// removed at once, and by the next run after a crash) and is encrypted
// from there. Only the API fallback without a size in the metadata gets
// here.
func (s *sink) spoolEncrypt(r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(s.f.Final()), TempPrefix+"*")
	if err != nil {
		return fileErr(s.f.Final(), "create spool for", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := s.e.copyExact(tmp, r, -1)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("media body is empty: %w", errSize)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fileErr(tmp.Name(), "rewind", err)
	}
	return s.encrypt(tmp, n)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// lazyBody opens its ranged GET on the first Read, so that the rest of an
// object is asked for only once the first part has been consumed.
type lazyBody struct {
	ctx  context.Context
	e    *engine
	in   GetInput
	body io.ReadCloser
}

func (l *lazyBody) Read(p []byte) (int, error) {
	if l.body == nil {
		obj, err := l.e.store.Get(l.ctx, l.in)
		if err != nil {
			return 0, err
		}
		l.body = obj.Body
	}
	return l.body.Read(p)
}

func (l *lazyBody) Close() error {
	if l.body == nil {
		return nil
	}
	return l.body.Close()
}
