package archive

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver: the binary stays static
)

// IndexFile is the search index's name under MetaDir (spec §12).
const IndexFile = "index.db"

// schemaVersion is kept in PRAGMA user_version. A file with another
// version is treated as damaged: moved aside and rebuilt.
const schemaVersion = 1

// schema is one table of recordings, with indexes on start time and on the
// columns search filters by, so that a search stays in the index whatever
// the archive's size (spec §12: 1,000,000 recordings, p95 ≤ 50 ms). ANI and
// DNIS prefixes are searched as ranges (ani >= p AND ani < p+1), which use
// these indexes where LIKE 'p%' would not. The start index also carries the
// filter columns, so that a walk down it (see Search) filters without
// reading the table. Agents live in their own table because a recording has
// several, keyed by agent and start so that one agent's calls come newest
// first without a sort. WITHOUT ROWID: a lookup by id is one B-tree descent.
const schema = `
CREATE TABLE recordings (
	id        TEXT PRIMARY KEY,
	start     INTEGER NOT NULL, -- unix milliseconds
	stop      INTEGER NOT NULL, -- unix milliseconds, 0 unknown
	direction TEXT NOT NULL,    -- callType as written
	dirfold   TEXT NOT NULL,    -- lower-cased, for the case-blind filter
	ani       TEXT NOT NULL,
	dnis      TEXT NOT NULL,
	tenant    TEXT NOT NULL,
	agents    TEXT NOT NULL,    -- JSON array
	media     TEXT NOT NULL,    -- JSON array of {id,type,size}
	folder    TEXT NOT NULL     -- relative to the archive root, slash-separated
) WITHOUT ROWID;
CREATE INDEX recordings_start  ON recordings(start, id, ani, dnis, dirfold, tenant);
CREATE INDEX recordings_ani    ON recordings(ani, start);
CREATE INDEX recordings_dnis   ON recordings(dnis, start);
CREATE INDEX recordings_dir    ON recordings(dirfold, start);
CREATE INDEX recordings_tenant ON recordings(tenant, start);
CREATE TABLE agents (
	agent TEXT NOT NULL,
	start INTEGER NOT NULL, -- the recording's, so one agent's calls are read newest first
	id    TEXT NOT NULL,
	PRIMARY KEY (agent, start, id)
) WITHOUT ROWID;
CREATE INDEX agents_id ON agents(id);
`

// Index is one archive's search index, <root>/.rcbs/index.db: a cache of
// the tree (the tree is the truth; deleting the index loses nothing). Safe
// for concurrent use; a backup run may write while rcbs serve reads (WAL).
type Index struct {
	root string
	db   *sql.DB

	insRec, delRec, insAgent, delAgents, getRec *sql.Stmt

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared search statements by SQL text
}

// IndexPath is where root's index lives.
func IndexPath(root string) string { return filepath.Join(root, MetaDir, IndexFile) }

// OpenIndex opens root's index, creating it when missing. A file that is
// not a database or has another schema version is moved aside (to
// index.db.damaged-<unix seconds>) and replaced by an empty one; rebuilt
// then tells whether the caller should Rebuild it (missing or damaged).
// why, when not empty, says which (for a single log line).
func OpenIndex(ctx context.Context, root string) (idx *Index, rebuild bool, why string, err error) {
	path := IndexPath(root)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, "", fmt.Errorf("index: %w", err)
	}
	_, statErr := os.Stat(path)
	missing := errors.Is(statErr, os.ErrNotExist)
	idx, err = openIndex(ctx, root, path)
	if err == nil {
		if missing {
			return idx, true, "missing", nil
		}
		return idx, false, "", nil
	}
	var damaged *damagedError
	if !errors.As(err, &damaged) {
		return nil, false, "", err
	}
	aside := fmt.Sprintf("%s.damaged-%d", path, time.Now().Unix())
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	if err := os.Rename(path, aside); err != nil {
		return nil, false, "", fmt.Errorf("index: move the damaged index aside: %w", err)
	}
	idx, err = openIndex(ctx, root, path)
	if err != nil {
		return nil, false, "", err
	}
	return idx, true, "damaged (" + damaged.why + "), moved aside to " + filepath.Base(aside), nil
}

// maxConns bounds the open SQLite connections of one index.
const maxConns = 8

// damagedError is an index file that cannot be used as it is.
type damagedError struct{ why string }

func (e *damagedError) Error() string { return "index damaged: " + e.why }

func openIndex(ctx context.Context, root, path string) (*Index, error) {
	// A new file must be 0600 (spec §6): create it before SQLite does.
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		f.Close()
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	// Each connection has its own page cache: a bounded pool keeps memory
	// flat under many concurrent searches (they queue for a connection).
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	idx := &Index{root: root, db: db, stmts: map[string]*sql.Stmt{}}
	if err := idx.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return idx, nil
}

func (x *Index) init(ctx context.Context) error {
	var version int
	if err := x.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return &damagedError{why: "not a database"}
	}
	switch version {
	case 0:
		if err := x.create(ctx); err != nil {
			return err
		}
	case schemaVersion:
	default:
		return &damagedError{why: fmt.Sprintf("schema version %d, want %d", version, schemaVersion)}
	}
	if err := x.db.QueryRowContext(ctx, "SELECT count(*) FROM recordings WHERE 0").Scan(new(int)); err != nil {
		return &damagedError{why: "no recordings table"}
	}
	return x.prepare(ctx)
}

// create lays out a new index; a file with tables but no version is damaged.
func (x *Index) create(ctx context.Context) error {
	var n int
	if err := x.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return &damagedError{why: "not a database"}
	}
	if n > 0 {
		return &damagedError{why: "unknown tables, no schema version"}
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema+fmt.Sprintf("PRAGMA user_version = %d;", schemaVersion)); err != nil {
		return fmt.Errorf("index: create: %w", err)
	}
	return tx.Commit()
}

func (x *Index) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&x.insRec, `INSERT OR REPLACE INTO recordings (id, start, stop, direction, dirfold, ani, dnis, tenant, agents, media, folder) VALUES (?,?,?,?,?,?,?,?,?,?,?)`},
		{&x.delRec, `DELETE FROM recordings WHERE id = ?`},
		{&x.insAgent, `INSERT OR IGNORE INTO agents (agent, start, id) VALUES (?, ?, ?)`},
		{&x.delAgents, `DELETE FROM agents WHERE id = ?`},
		{&x.getRec, `SELECT ` + rowColumns + ` FROM recordings WHERE id = ?`},
	} {
		s, err := x.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("index: prepare: %w", err)
		}
		*p.dst = s
	}
	return nil
}

// Close releases the database.
func (x *Index) Close() error { return x.db.Close() }

// Root is the archive folder this index describes.
func (x *Index) Root() string { return x.root }

// Add records a recording the backup run just completed (archive.Adder),
// in a transaction of its own. Media sizes are the stored sizes of the
// files written.
func (x *Index) Add(ctx context.Context, rec Recording) error {
	return x.AddBatch(ctx, []Recording{rec})
}

// AddBatch records many recordings in one transaction (bulk loads,
// benchmarks); a recording.json that does not parse fails the batch.
func (x *Index) AddBatch(ctx context.Context, recs []Recording) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer tx.Rollback()
	for _, rec := range recs {
		info, err := ParseInfo(rec.JSON)
		if err != nil {
			return fmt.Errorf("index recording %s: %w", rec.ID, err)
		}
		sizes := map[string]int64{}
		for _, f := range rec.Files {
			sizes[f.Name] = f.Size
		}
		if err := x.putTx(ctx, tx, info, rec.Dir, sizes); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Analyze refreshes the query planner's statistics (after a bulk load).
func (x *Index) Analyze(ctx context.Context) error {
	_, err := x.db.ExecContext(ctx, "ANALYZE")
	return err
}

// Sync is a no-op: every Add is its own committed transaction.
func (x *Index) Sync() error { return nil }

// putTx writes one row, replacing an older one of the same id.
func (x *Index) putTx(ctx context.Context, tx *sql.Tx, info Info, dir string, sizes map[string]int64) error {
	media := make([]Media, 0, len(info.Media))
	for _, m := range info.Media {
		size, ok := sizes[m.File]
		if !ok {
			size = m.Size
		}
		media = append(media, Media{ID: m.ID, Type: m.Type, Size: size})
	}
	agents, _ := json.Marshal(nonNil(info.Agents))
	mediaJSON, _ := json.Marshal(media)
	var stop int64
	if !info.Stop.IsZero() {
		stop = info.Stop.UnixMilli()
	}
	if _, err := tx.StmtContext(ctx, x.insRec).ExecContext(ctx, info.ID, info.Start.UnixMilli(), stop,
		info.Direction, strings.ToLower(info.Direction), info.ANI, info.DNIS, info.Tenant,
		string(agents), string(mediaJSON), dir); err != nil {
		return fmt.Errorf("index recording %s: %w", info.ID, err)
	}
	if _, err := tx.StmtContext(ctx, x.delAgents).ExecContext(ctx, info.ID); err != nil {
		return fmt.Errorf("index recording %s: %w", info.ID, err)
	}
	for _, a := range info.Agents {
		if _, err := tx.StmtContext(ctx, x.insAgent).ExecContext(ctx, a, info.Start.UnixMilli(), info.ID); err != nil {
			return fmt.Errorf("index recording %s: %w", info.ID, err)
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Remove drops the rows of recordings that left the tree (rcbs prune).
// Unknown ids are not an error.
func (x *Index) Remove(ctx context.Context, ids ...string) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: remove: %w", err)
	}
	defer tx.Rollback()
	for _, id := range ids {
		if _, err := tx.StmtContext(ctx, x.delRec).ExecContext(ctx, id); err != nil {
			return fmt.Errorf("index: remove %s: %w", id, err)
		}
		if _, err := tx.StmtContext(ctx, x.delAgents).ExecContext(ctx, id); err != nil {
			return fmt.Errorf("index: remove %s: %w", id, err)
		}
	}
	return tx.Commit()
}

// Count is the number of recordings indexed.
func (x *Index) Count(ctx context.Context) (int64, error) {
	var n int64
	err := x.db.QueryRowContext(ctx, "SELECT count(*) FROM recordings").Scan(&n)
	return n, err
}

// Rebuild replaces the index's rows with what the tree holds: every
// complete recording folder (one with a recording.json) under root. It runs
// in one transaction, so readers see the old rows until it commits.
// A recording.json that does not parse is skipped and told to skip (nil:
// dropped); the tree is not changed.
func (x *Index) Rebuild(ctx context.Context, skip func(dir string, err error)) (int, error) {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("index rebuild: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM recordings; DELETE FROM agents;"); err != nil {
		return 0, fmt.Errorf("index rebuild: %w", err)
	}
	n := 0
	err = Walk(ctx, x.root, func(f Folder) error {
		if !f.Complete() {
			return nil
		}
		info, sizes, err := readFolder(x.root, f)
		if err != nil {
			if skip != nil {
				skip(f.Rel, err)
			}
			return nil
		}
		n++
		return x.putTx(ctx, tx, info, f.Rel, sizes)
	})
	if err != nil {
		return 0, fmt.Errorf("index rebuild: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("index rebuild: %w", err)
	}
	_, err = x.db.ExecContext(ctx, "ANALYZE")
	return n, err
}

func readFolder(root string, f Folder) (Info, map[string]int64, error) {
	info, err := ReadInfo(filepath.Join(root, filepath.FromSlash(f.Rel)))
	if err != nil {
		return Info{}, nil, err
	}
	sizes := map[string]int64{}
	for _, e := range f.Files {
		if fi, err := e.Info(); err == nil {
			sizes[e.Name()] = fi.Size()
		}
	}
	return info, sizes, nil
}
