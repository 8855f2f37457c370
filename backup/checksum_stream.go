package backup

import (
	"fmt"
	"io"
	"sync"
)

// orderedHash feeds dst the bytes of a file in file order while parts of it
// are written concurrently at their offsets. Bytes written at the hashed
// prefix's end go to dst straight from the write; bytes written ahead of
// it are read back from the file once everything before them is hashed.
// Why read back rather than hold them in memory: memory stays bounded by
// the copy buffers, the bytes are still in the page cache, and only parts
// that finish before their predecessor are read back (a single GET never
// reads back at all). One writer at a time hashes, outside the lock, so
// the other parts never wait for the hashing: they note their extent and
// go back to the network. Safe for concurrent use by the parts' writers.
type orderedHash struct {
	dst io.Writer   // used by the busy writer only
	src io.ReaderAt // the file being written
	buf []byte      // for reading back, by the busy writer; allocated on first need

	mu    sync.Mutex
	busy  bool            // a writer is hashing
	next  int64           // bytes [0, next) are hashed
	ahead map[int64]int64 // written but not yet hashed: start → end
}

func newOrderedHash(dst io.Writer, src io.ReaderAt) *orderedHash {
	return &orderedHash{dst: dst, src: src, ahead: map[int64]int64{}}
}

// wrote records that p is now in the file at off, and hashes what is
// next in order unless another writer is doing so.
func (o *orderedHash) wrote(off int64, p []byte) error {
	end := off + int64(len(p))
	o.mu.Lock()
	if o.busy || off != o.next {
		o.extend(off, end)
		_, due := o.ahead[o.next]
		if o.busy || !due {
			o.mu.Unlock()
			return nil // the busy writer, or a later one, hashes it
		}
		o.busy = true
		o.mu.Unlock()
		return o.catchUp()
	}
	o.busy = true
	o.mu.Unlock()
	o.dst.Write(p) // hashes never fail
	o.mu.Lock()
	o.next = end
	o.mu.Unlock()
	return o.catchUp()
}

// extend adds [off, end) to the extent it continues, or starts one.
func (o *orderedHash) extend(off, end int64) {
	for start, e := range o.ahead {
		if e == off {
			o.ahead[start] = end
			return
		}
	}
	o.ahead[off] = end
}

// catchUp hashes, reading them back from the file, the extents that start
// at next, until none does; then it gives up the busy role. Called by the
// busy writer.
func (o *orderedHash) catchUp() error {
	for {
		o.mu.Lock()
		start := o.next
		end, ok := o.ahead[start]
		if !ok {
			o.busy = false
			o.mu.Unlock()
			return nil
		}
		delete(o.ahead, start)
		o.mu.Unlock()
		if o.buf == nil {
			o.buf = make([]byte, 64<<10)
		}
		n, err := io.CopyBuffer(o.dst, io.NewSectionReader(o.src, start, end-start), o.buf)
		o.mu.Lock()
		o.next = start + n
		if err != nil || n != end-start {
			o.busy = false
			o.mu.Unlock()
			return fmt.Errorf("read back bytes %d-%d to hash them: %v", start, end, err)
		}
		o.mu.Unlock()
	}
}

// hashed is how many bytes, from the start, have gone to dst.
func (o *orderedHash) hashed() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next
}

// hashingWriter writes sequentially from off into the file, counting the
// bytes on the meter and telling the orderedHash. A write error names the
// final file (the temporary name would tell the user nothing).
type hashingWriter struct {
	f    io.WriterAt
	off  int64
	m    *meter
	h    *orderedHash
	path string
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.m.add(n)
	if herr := w.h.wrote(w.off, p[:n]); herr != nil && err == nil {
		err = herr
	}
	w.off += int64(n)
	if err != nil {
		err = fileErr(w.path, "write", err)
	}
	return n, err
}
