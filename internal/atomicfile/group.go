package atomicfile

import (
	"os"
	"sync"
)

// group is a group commit of the data syncs of a Batch's files: a file
// that is ready to be renamed waits for the next flush, and one flush makes
// every file queued before it durable — on Linux one syncfs(2) for all of
// them, where a sync per file costs a journal commit each (spec §6: the data
// is still durable before the final name exists). The first waiter to find
// no flush running leads the next one; the others wait for it (leader and
// followers: no goroutine to start or stop).
type group struct {
	mu      sync.Mutex
	cond    sync.Cond
	queue   []*queued
	running bool
	seq     uint64
	// flush makes the files durable and answers for each; it runs in one
	// goroutine at a time.
	flush func(files []*queued)
}

// queued is a file waiting for a flush.
type queued struct {
	f    *os.File
	seq  uint64 // order of creation: the flush needs the oldest
	err  error
	done bool
}

func newGroup(flush func([]*queued)) *group {
	g := &group{flush: flush}
	g.cond.L = &g.mu
	return g
}

// opened numbers a file of the group as it is created.
func (g *group) opened() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seq++
	return g.seq
}

// sync returns once a flush that started after the call has made f durable,
// with that flush's answer for f. f's data must be written before the call.
func (g *group) sync(f *os.File, seq uint64) error {
	q := &queued{f: f, seq: seq}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queue = append(g.queue, q)
	for !q.done {
		if g.running {
			g.cond.Wait()
			continue
		}
		// Lead: flush what is queued now; later arrivals wait for the next.
		files := g.queue
		g.queue, g.running = nil, true
		g.mu.Unlock()
		g.flush(files)
		g.mu.Lock()
		for _, w := range files {
			w.done = true
		}
		g.running = false
		g.cond.Broadcast()
	}
	return q.err
}

// flushEach syncs the files one by one through sync: where a custom sync
// step was given (tests), each file still gets its own verdict.
func flushEach(sync func(*os.File) error) func([]*queued) {
	return func(files []*queued) {
		for _, q := range files {
			q.err = sync(q.f)
		}
	}
}

// flushFS makes every file durable with one syncfs(2) of their file
// system. It is called on the oldest file: syncfs reports the write-back
// errors of the whole file system since the descriptor it is given was
// opened (Linux ≥ 5.8), so an error in any file of the group, all opened
// later, fails them all rather than going unseen.
func flushFS(files []*queued) {
	err := syncFSFile(oldest(files).f)
	for _, q := range files {
		q.err = err
	}
}

// oldest is the file created first.
func oldest(files []*queued) *queued {
	o := files[0]
	for _, q := range files[1:] {
		if q.seq < o.seq {
			o = q
		}
	}
	return o
}
