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
// that finish before their predecessor are read back (the first part
// always streams live, so a single GET never reads back at all).
// Safe for concurrent use by the parts' writers.
type orderedHash struct {
	mu    sync.Mutex
	dst   io.Writer
	src   io.ReaderAt     // the file being written
	next  int64           // bytes [0, next) are hashed
	ahead map[int64]int64 // written but not yet hashed: start → end
	buf   []byte          // for reading back; allocated on first need
	// readBack counts the bytes read back from the file.
	readBack int64
}

func newOrderedHash(dst io.Writer, src io.ReaderAt) *orderedHash {
	return &orderedHash{dst: dst, src: src, ahead: map[int64]int64{}}
}

// wrote records that p is now in the file at off.
func (o *orderedHash) wrote(off int64, p []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	end := off + int64(len(p))
	switch {
	case off == o.next:
		o.dst.Write(p) // hashes never fail
		o.next = end
	default:
		o.extend(off, end)
	}
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

// catchUp hashes, from the file, every extent that now starts at next.
func (o *orderedHash) catchUp() error {
	for {
		end, ok := o.ahead[o.next]
		if !ok {
			return nil
		}
		delete(o.ahead, o.next)
		if o.buf == nil {
			o.buf = make([]byte, 64<<10)
		}
		n, err := io.CopyBuffer(o.dst, io.NewSectionReader(o.src, o.next, end-o.next), o.buf)
		o.readBack += n
		if err != nil || n != end-o.next {
			return fmt.Errorf("read back bytes %d-%d to hash them: %v", o.next, end, err)
		}
		o.next = end
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
