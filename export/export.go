// Package export writes recordings as one zip (spec §15): the single zip
// writer behind `rcbs export` and the service's /x/<id>.zip.
//
// Layout, per recording, a folder <start yyyy-MM-dd_HH-mm-ss>_<id>/ holding
// each media file (decrypted with Options.Key, else the .bin as stored),
// recording.json and call-info.pdf; the zip ends with SHA256SUMS, in
// sha256sum's format, so `unzip x.zip && sha256sum -c SHA256SUMS` checks it.
//
// Memory: media bytes stream through one 64 KiB buffer (entries carry a data
// descriptor, so nothing is seeked back or held), hashes are computed as the
// bytes pass, and SHA256SUMS's lines spill to a temporary file past 1 MiB.
// What grows with the number of entries is the zip central directory that
// archive/zip keeps until Close (the format puts it at the end): a few
// hundred bytes per entry, about 1 KiB per recording.
package export

import (
	"archive/zip"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/metadata"
)

// SumsName is the zip's last entry.
const SumsName = "SHA256SUMS"

// PDFName and the recording.json are in every recording's folder.
const PDFName = "call-info.pdf"

// Options say how recordings are written.
type Options struct {
	// Key decrypts media; nil writes them as stored (.bin).
	Key *rsa.PrivateKey
	// Cert, when set with Key, picks the recipient exactly (spec §8).
	Cert *x509.Certificate
	// Now stamps SHA256SUMS; zero: time.Now.
	Now time.Time
	// TempDir holds SHA256SUMS's lines once they pass 1 MiB; "": os.TempDir.
	TempDir string
}

// Writer writes recordings into one zip. Not safe for concurrent use.
// Call Close to finish the zip, or Abort after an error: a zip whose Add
// failed is unfinished and must be thrown away (a media file that failed to
// decrypt has already streamed part of its bytes into it).
type Writer struct {
	zw   *zip.Writer
	opts Options
	sums spillBuffer
	buf  []byte
	err  error // first failure: the zip is unusable after it
}

// NewWriter starts a zip on w.
func NewWriter(w io.Writer, opts Options) *Writer {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	return &Writer{
		zw:   zip.NewWriter(w),
		opts: opts,
		sums: spillBuffer{dir: opts.TempDir, limit: 1 << 20},
		buf:  make([]byte, 64<<10),
	}
}

// Added is what Add wrote for one recording.
type Added struct {
	ID     string
	Folder string // the folder name inside the zip
	Bytes  int64  // uncompressed bytes of its entries
}

// Add writes the recording in folder dir (on disk: recording.json and its
// media files). Errors name the recording and the file.
func (w *Writer) Add(ctx context.Context, dir string) (Added, error) {
	if w.err != nil {
		return Added{}, w.err
	}
	added, err := w.add(ctx, dir)
	if err != nil {
		w.err = err
	}
	return added, err
}

func (w *Writer) add(ctx context.Context, dir string) (Added, error) {
	raw, err := os.ReadFile(filepath.Join(dir, archive.RecordingFile))
	if err != nil {
		return Added{}, err
	}
	info, err := archive.ParseInfo(raw)
	if err != nil {
		return Added{}, fmt.Errorf("%s: %w", dir, err)
	}
	if err := metadata.ValidateName(info.ID); err != nil {
		return Added{}, fmt.Errorf("%s: recording id %q: %w", dir, info.ID, err)
	}
	added := Added{ID: info.ID, Folder: FolderName(info)}
	var media []MediaSummary
	used := map[string]bool{archive.RecordingFile: true, PDFName: true}
	for _, m := range info.Media {
		s, err := w.addMedia(ctx, added.Folder, dir, info, m, used)
		if err != nil {
			return added, fmt.Errorf("recording %s: media %s: %w", info.ID, m.ID, err)
		}
		added.Bytes += s.Size
		media = append(media, s)
	}
	pdf, err := CallInfoPDF(info, media, w.opts.Key != nil)
	if err != nil {
		return added, fmt.Errorf("recording %s: %s: %w", info.ID, PDFName, err)
	}
	for _, e := range []struct {
		name   string
		data   []byte
		method uint16
	}{{archive.RecordingFile, raw, zip.Deflate}, {PDFName, pdf, zip.Store}} {
		if err := w.addBytes(added.Folder+"/"+e.name, e.data, e.method, info.Start); err != nil {
			return added, fmt.Errorf("recording %s: %s: %w", info.ID, e.name, err)
		}
		added.Bytes += int64(len(e.data))
	}
	return added, nil
}

// FolderName is a recording's folder in the zip: start (GMT) and id.
func FolderName(info archive.Info) string {
	return info.Start.UTC().Format("2006-01-02_15-04-05") + "_" + info.ID
}

// MediaSummary is one media file as written, for the PDF.
type MediaSummary struct {
	archive.MediaInfo
	Name         string // entry name inside the recording's folder
	StoredSize   int64  // the .bin on disk
	StoredSHA256 [32]byte
	Size         int64 // the entry (plaintext when decrypted)
	SHA256       [32]byte
}

// addMedia writes one media entry. used holds the folder's entry names so
// far: a decrypted name that would repeat one (mediaIds "a" and "a.mp3",
// both audio/mp3; a mediaId "call-info.pdf") keeps the stored name instead,
// which the metadata's distinct mediaIds make unique.
func (w *Writer) addMedia(ctx context.Context, folder, dir string, info archive.Info, m archive.MediaInfo, used map[string]bool) (MediaSummary, error) {
	s := MediaSummary{MediaInfo: m, Name: m.File}
	if err := metadata.ValidateName(m.ID); err != nil {
		return s, fmt.Errorf("unsafe media id: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, m.File))
	if err != nil {
		return s, err
	}
	defer f.Close()
	if w.opts.Key != nil && !used[PlainName(m)] {
		s.Name = PlainName(m)
	}
	if used[s.Name] {
		return s, fmt.Errorf("two media files named %s", s.Name)
	}
	used[s.Name] = true
	ew, err := w.zw.CreateHeader(&zip.FileHeader{Name: folder + "/" + s.Name, Method: zip.Store, Modified: info.Start})
	if err != nil {
		return s, err
	}
	stored := &hashCounter{h: sha256.New()}
	src := io.TeeReader(ctxReader{ctx, f}, stored)
	if w.opts.Key == nil {
		if _, err := io.CopyBuffer(ew, src, w.buf); err != nil {
			return s, err
		}
		s.StoredSize, s.StoredSHA256 = stored.sum()
		s.Size, s.SHA256 = s.StoredSize, s.StoredSHA256
		return s, w.sums.line(s.SHA256, folder+"/"+s.Name)
	}
	plain := &hashCounter{h: sha256.New()}
	if err := cms.Decrypt(io.MultiWriter(ew, plain), src, w.opts.Key, w.opts.Cert); err != nil {
		return s, err
	}
	s.StoredSize, s.StoredSHA256 = stored.sum()
	s.Size, s.SHA256 = plain.sum()
	return s, w.sums.line(s.SHA256, folder+"/"+s.Name)
}

// addBytes writes a small entry and its SHA256SUMS line.
func (w *Writer) addBytes(name string, data []byte, method uint16, mod time.Time) error {
	ew, err := w.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: mod})
	if err != nil {
		return err
	}
	if _, err := ew.Write(data); err != nil {
		return err
	}
	return w.sums.line(sha256.Sum256(data), name)
}

// Close writes SHA256SUMS and the central directory. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	defer w.sums.close()
	if w.err != nil {
		return w.err
	}
	ew, err := w.zw.CreateHeader(&zip.FileHeader{Name: SumsName, Method: zip.Deflate, Modified: w.opts.Now})
	if err != nil {
		return err
	}
	if err := w.sums.writeTo(ew); err != nil {
		return fmt.Errorf("%s: %w", SumsName, err)
	}
	return w.zw.Close()
}

// Abort drops what Close would have written and frees the spill file.
func (w *Writer) Abort() { w.sums.close() }

// PlainName is a decrypted media file's name: the mediaId without .bin,
// with the extension of its type added when missing (audio/mp3 → .mp3,
// video/mp4 → .mp4). A type not known here keeps the mediaId's own
// extension, or .bin when it has none, rather than guess.
func PlainName(m archive.MediaInfo) string {
	ext := extension(m.Type)
	name := m.ID
	if ext != "" && !strings.EqualFold(filepath.Ext(name), ext) {
		return name + ext
	}
	if ext == "" && filepath.Ext(name) == "" {
		return name + ".bin"
	}
	return name
}

func extension(mediaType string) string {
	t, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(mediaType)), ";")
	switch t {
	case "audio/mp3", "audio/mpeg", "audio/mpeg3", "audio/x-mpeg-3":
		return ".mp3"
	case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave":
		return ".wav"
	case "audio/ogg":
		return ".ogg"
	case "audio/webm":
		return ".weba"
	case "audio/mp4", "audio/x-m4a":
		return ".m4a"
	case "audio/aac":
		return ".aac"
	case "audio/flac", "audio/x-flac":
		return ".flac"
	case "video/mp4":
		return ".mp4"
	case "video/webm":
		return ".webm"
	}
	return ""
}

// hashCounter hashes and counts what is written to it.
type hashCounter struct {
	h hash.Hash
	n int64
}

func (c *hashCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *hashCounter) sum() (int64, [32]byte) {
	var s [32]byte
	c.h.Sum(s[:0])
	return c.n, s
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// spillBuffer keeps SHA256SUMS's lines in memory up to limit bytes, then
// in a temporary file, so that 10,000 recordings do not grow the heap.
type spillBuffer struct {
	dir   string
	limit int
	mem   []byte
	file  *os.File
}

func (b *spillBuffer) line(sum [32]byte, name string) error {
	l := hex.EncodeToString(sum[:]) + "  " + name + "\n"
	if b.file == nil && len(b.mem)+len(l) <= b.limit {
		b.mem = append(b.mem, l...)
		return nil
	}
	if b.file == nil {
		f, err := os.CreateTemp(b.dir, ".rcbs-tmp-sums-")
		if err != nil {
			return fmt.Errorf("%s spill file: %w", SumsName, err)
		}
		b.file = f
		if _, err := f.Write(b.mem); err != nil {
			return err
		}
		b.mem = nil
	}
	_, err := io.WriteString(b.file, l)
	return err
}

func (b *spillBuffer) writeTo(w io.Writer) error {
	if b.file == nil {
		_, err := w.Write(b.mem)
		return err
	}
	if _, err := b.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, b.file)
	return err
}

func (b *spillBuffer) close() {
	if b.file != nil {
		b.file.Close()
		os.Remove(b.file.Name())
		b.file = nil
	}
}
