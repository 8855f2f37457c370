package decrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/internal/atomicfile"
)

// errOutputExists: the output is already there and Force is off. An output
// is only ever renamed into place complete, so the file is skipped, not
// failed (spec §8).
var errOutputExists = errors.New("output exists")

// decryptFile decrypts j.src into a temporary file for j.dst and returns
// it with the plaintext size; commit renames it into place.
func decryptFile(ctx context.Context, b *atomicfile.Batch, j job, opts Options) (*atomicfile.File, int64, error) {
	if err := checkFree(j.dst, opts.Force); err != nil {
		return nil, 0, err
	}
	in, err := os.Open(j.src)
	if err != nil {
		return nil, 0, srcErr(err)
	}
	defer in.Close()
	return fillTemp(ctx, b, j.dst, func(w io.Writer) error {
		return cms.Decrypt(w, &ctxReader{ctx, in}, opts.Key, opts.Cert)
	})
}

// copyFile copies a recording.json into a temporary file for j.dst; an
// identical copy already in place is not rewritten (no file, nil error),
// whatever Force says.
func copyFile(ctx context.Context, b *atomicfile.Batch, j job, force bool) (*atomicfile.File, int64, error) {
	data, err := os.ReadFile(j.src)
	if err != nil {
		return nil, 0, srcErr(err)
	}
	if old, err := os.ReadFile(j.dst); err == nil && bytes.Equal(old, data) {
		return nil, int64(len(data)), nil
	}
	if err := checkFree(j.dst, force); err != nil {
		return nil, 0, err
	}
	return fillTemp(ctx, b, j.dst, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// checkFree returns errOutputExists when dst exists and may not be
// replaced: the cheap early check that spares decrypting a skipped file.
// The commit checks again, atomically.
func checkFree(dst string, force bool) error {
	if force {
		return nil
	}
	if _, err := os.Lstat(dst); err == nil {
		return errOutputExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// fillTemp runs fill on a new temporary file in dst's folder (of batch b)
// and returns it, not yet committed, with the bytes written; on an error
// (or cancellation) the temporary file is removed.
func fillTemp(ctx context.Context, b *atomicfile.Batch, dst string, fill func(io.Writer) error) (*atomicfile.File, int64, error) {
	tmp, err := b.Create(dst, atomicfile.FilePerm)
	if err != nil {
		return nil, 0, err
	}
	cw := &countWriter{ctx: ctx, w: tmp}
	if err := fill(cw); err != nil {
		tmp.Abort()
		return nil, 0, err
	}
	return tmp, cw.n, nil
}

// commit syncs tmp's data and renames it to its final name. Without force
// the rename never replaces: an output that appeared meanwhile is kept and
// the result is errOutputExists. The temporary file is gone afterwards,
// whatever happened; the folder entry is made durable by the batch's Sync.
func commit(tmp *atomicfile.File, n int64, force bool) (int64, error) {
	defer tmp.Abort()
	if force {
		return n, tmp.Commit(n)
	}
	if err := tmp.CommitNoReplace(n); errors.Is(err, fs.ErrExist) {
		return 0, errOutputExists
	} else if err != nil {
		return 0, err
	}
	return n, nil
}

// writeAtomic is fillTemp then commit: dst is replaced only when fill
// succeeded, and never without force.
func writeAtomic(ctx context.Context, b *atomicfile.Batch, dst string, force bool, fill func(io.Writer) error) (int64, error) {
	tmp, n, err := fillTemp(ctx, b, dst, fill)
	if err != nil {
		return 0, err
	}
	return commit(tmp, n, force)
}

// srcErr drops the path of an error about the input: FileError names it.
func srcErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// countWriter counts bytes and stops at cancellation.
type countWriter struct {
	ctx context.Context
	w   io.Writer
	n   int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops reading at cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
