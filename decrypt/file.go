package decrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/rcbs/rcbs/cms"
)

const dirPerm = 0o700 // recordings are personal data; files are 0600 (CreateTemp)

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
// not an error, whatever Force says.
func copyFile(ctx context.Context, j job, force bool) (int64, error) {
	data, err := os.ReadFile(j.src)
	if err != nil {
		return 0, srcErr(err)
	}
	if old, err := os.ReadFile(j.dst); err == nil && bytes.Equal(old, data) {
		return int64(len(data)), nil
	}
	return writeAtomic(ctx, j.dst, force, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// checkFree fails when dst exists and may not be overwritten.
func checkFree(dst string, force bool) error {
	if force {
		return nil
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("output %s exists (use -force to overwrite)", dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// writeAtomic runs fill on a temporary file in dst's folder, then syncs it
// and renames it to dst; on any error (or cancellation) the temporary file
// is removed and dst is untouched. Returns the bytes written.
func writeAtomic(ctx context.Context, dst string, force bool, fill func(io.Writer) error) (n int64, err error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return 0, unwrapPath(err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return 0, fmt.Errorf("create temporary file in %s: %w", dir, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	cw := &countWriter{ctx: ctx, w: tmp}
	if err := fill(cw); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, fmt.Errorf("sync %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("close %s: %w", dst, err)
	}
	if err := checkFree(dst, force); err != nil { // it may have appeared meanwhile
		return 0, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, fmt.Errorf("rename into %s: %w", dst, unwrapPath(err))
	}
	return cw.n, syncDir(dir)
}

// syncDir makes the rename durable. Some systems (Windows, SMB mounts)
// cannot sync a folder; that is not an error of the write.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// srcErr drops the path of an error about the input: FileError names it.
func srcErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// unwrapPath flattens a *PathError into one message naming its path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %w", pe.Op, pe.Path, pe.Err)
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
