package serve

import (
	"os"
	"sync"
	"time"

	"github.com/rcbs/rcbs/cms"
)

// seekCacheSize bounds the opened media kept (a few hundred bytes each).
const seekCacheSize = 1024

// seekCache keeps opened media by file identity, so that a player's Range
// requests on one file unwrap its key (RSA) and check its GCM tag once, not
// per request. A file rewritten in place gets a new size or modification
// time and is opened afresh. Safe for concurrent use.
type seekCache struct {
	mu    sync.Mutex
	m     map[fileID]*cms.Seekable
	order []fileID // insertion order, for eviction
}

type fileID struct {
	path  string
	size  int64
	mtime time.Time
}

func newSeekCache() *seekCache { return &seekCache{m: map[fileID]*cms.Seekable{}} }

func idOf(path string, fi os.FileInfo) fileID {
	return fileID{path: path, size: fi.Size(), mtime: fi.ModTime()}
}

// open returns f's Seekable, from the cache or by open.
func (c *seekCache) open(id fileID, f *os.File, open func() (*cms.Seekable, error)) (*cms.Seekable, error) {
	c.mu.Lock()
	s, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return s.Reopen(f), nil
	}
	s, err := open()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok {
		c.m[id] = s
		c.order = append(c.order, id)
		if len(c.order) > seekCacheSize {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	return s, nil
}
