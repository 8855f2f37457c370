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

// decryptFile decrypts j.src to j.dst and returns the plaintext size.
func decryptFile(ctx context.Context, j job, opts Options) (int64, error) {
	if err := checkFree(j.dst, opts.Force); err != nil {
		return 0, err
	}
	in, err := os.Open(j.src)
	if err != nil {
		return 0, srcErr(err)
	}
	defer in.Close()
	return writeAtomic(ctx, j.dst, opts.Force, func(w io.Writer) error {
		return cms.Decrypt(w, &ctxReader{ctx, in}, opts.Key, opts.Cert)
	})
}

// copyFile copies a recording.json; an identical copy already in place is
// not rewritten, whatever Force says.
func copyFile(ctx context.Context, j job, force bool) (int64, error) {
	data, err := os.ReadFile(j.src)
	if err != nil {
		return 0, srcErr(err)
	}
	if old, err := os.ReadFile(j.dst); err == nil && bytes.Equal(old, data) {
		return int64(len(data)), nil
	}
	if err := checkFree(j.dst, force); err != nil {
		return 0, err
	}
	return writeAtomic(ctx, j.dst, force, func(w io.Writer) error {
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

// writeAtomic runs fill on a temporary file in dst's folder and renames it
// to dst only when fill succeeded; on any error (or cancellation) the
// temporary file is removed and dst is untouched. Without force the rename
// never replaces: an output that appeared meanwhile is kept and the result
// is errOutputExists. Returns the bytes written.
func writeAtomic(ctx context.Context, dst string, force bool, fill func(io.Writer) error) (int64, error) {
	tmp, err := atomicfile.Create(dst, atomicfile.FilePerm)
	if err != nil {
		return 0, err
	}
	defer tmp.Abort()
	cw := &countWriter{ctx: ctx, w: tmp}
	if err := fill(cw); err != nil {
		return 0, err
	}
	if force {
		return cw.n, tmp.Commit(cw.n)
	}
	if err := tmp.CommitNoReplace(cw.n); errors.Is(err, fs.ErrExist) {
		return 0, errOutputExists
	} else if err != nil {
		return 0, err
	}
	return cw.n, nil
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
