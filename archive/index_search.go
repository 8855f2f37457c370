package archive

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Media is one media file as the index knows it. Size is the stored size
// (the .bin's bytes) when the file was there, else the metadata's.
type Media struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

// Row is one indexed recording.
type Row struct {
	Archive   int // which archive of a Set (0 for a lone Index)
	ID        string
	Dir       string // folder relative to the archive root, slash-separated
	Start     time.Time
	Stop      time.Time // zero when unknown
	Direction string
	ANI       string
	DNIS      string
	Tenant    string
	Agents    []string
	Media     []Media
}

// Duration is Stop − Start, or zero when Stop is unknown.
func (r Row) Duration() time.Duration {
	if r.Stop.IsZero() || r.Stop.Before(r.Start) {
		return 0
	}
	return r.Stop.Sub(r.Start)
}

// Access is an access list (spec §12's user scope): a recording is visible
// when it matches one entry — one of its agents is in Agents, its ANI
// starts with one of ANIPrefixes, or its tenant is in Tenants.
type Access struct {
	Agents      []string
	ANIPrefixes []string
	Tenants     []string
}

// Allows reports whether r is inside the access list.
func (a *Access) Allows(r Row) bool {
	if a == nil {
		return true
	}
	for _, ag := range r.Agents {
		if slices.Contains(a.Agents, ag) {
			return true
		}
	}
	for _, p := range a.ANIPrefixes {
		if strings.HasPrefix(r.ANI, p) {
			return true
		}
	}
	return slices.Contains(a.Tenants, r.Tenant)
}

// Cursor is where a page of results ended: the next page holds what sorts
// after it (older start, then smaller id).
type Cursor struct {
	Start int64 // unix milliseconds
	ID    string
}

// Query is a search. Empty fields do not filter. From is inclusive, To
// exclusive; ANI and DNIS match as prefixes, Agent exactly, Direction
// ignoring case. Access nil means everything.
type Query struct {
	ID        string
	From, To  time.Time
	Agent     string
	ANI       string
	DNIS      string
	Direction string
	Access    *Access
	After     *Cursor
	Limit     int // ≥ 1
}

const rowColumns = `id, start, stop, direction, ani, dnis, tenant, agents, media, folder`

// rowColumnsOf is rowColumns of the table aliased r.
const rowColumnsOf = `r.id, r.start, r.stop, r.direction, r.ani, r.dnis, r.tenant, r.agents, r.media, r.folder`

// walkRows bounds the first plan of a filtered search: the newest
// walkRows entries of the start index (after the time and cursor bounds),
// read from the index alone since it carries the filter columns. When they
// hold a page of matches, that page is the answer. When they do not, the
// filter matches under Limit/walkRows of the rows (0.5 % for a page of 100),
// so its own index finds few rows and sorting them is cheap. SQLite's
// planner does not weigh LIMIT: left alone it would sort every match of a
// broad filter (50,000 rows for one tenant of 20 in 1,000,000).
const walkRows = 20000

// Search returns up to q.Limit rows, newest first (then by id, descending).
// An id reads one row; an agent filter reads that agent's rows of the
// agents table, already newest first; other filters walk the start index
// (walkRows) and fall back to their own indexes.
func (x *Index) Search(ctx context.Context, q Query) ([]Row, error) {
	q.Limit = max(q.Limit, 1)
	if q.ID != "" || q.Agent != "" || !filtered(q) {
		text, args := plainSQL(q)
		return x.rows(ctx, text, args)
	}
	if !narrow(q) {
		ids, err := x.walk(ctx, q)
		if err != nil {
			return nil, err
		}
		if len(ids) == q.Limit {
			return x.rowsByID(ctx, ids)
		}
	}
	text, args := sortedSQL(q)
	return x.rows(ctx, text, args)
}

// filtered reports whether q filters by more than time.
func filtered(q Query) bool {
	return q.ANI != "" || q.DNIS != "" || q.Direction != "" || q.Access != nil
}

// narrowPrefix is the length from which an ANI or DNIS prefix is taken to
// name one number or a few: the walk would read walkRows entries for
// nothing, so its index is used at once.
const narrowPrefix = 8

func narrow(q Query) bool {
	return len(q.ANI) >= narrowPrefix || len(q.DNIS) >= narrowPrefix
}

// walk is the first plan: the ids of the matches among the newest
// walkRows rows within q's time and cursor bounds.
func (x *Index) walk(ctx context.Context, q Query) ([]string, error) {
	bounds, args := boundsWhere(q, "")
	filter, more := filterWhere(q, "")
	text := "SELECT id FROM (SELECT id, start, ani, dnis, dirfold, tenant FROM recordings INDEXED BY recordings_start" +
		where(bounds) + " ORDER BY start DESC, id DESC LIMIT ?)" + where(filter) + " ORDER BY start DESC, id DESC LIMIT ?"
	args = append(append(append(args, walkRows), more...), q.Limit)
	return query(ctx, x, text, args, func(rows *sql.Rows) (id string, err error) {
		err = rows.Scan(&id)
		return id, err
	})
}

// rowsByID reads whole rows of ids (one JSON array parameter, one statement).
func (x *Index) rowsByID(ctx context.Context, ids []string) ([]Row, error) {
	list, _ := json.Marshal(ids)
	return x.rows(ctx, "SELECT "+rowColumns+" FROM recordings WHERE id IN (SELECT value FROM json_each(?)) ORDER BY start DESC, id DESC",
		[]any{string(list)})
}

// rows runs a statement that selects rowColumns.
func (x *Index) rows(ctx context.Context, text string, args []any) ([]Row, error) {
	return query(ctx, x, text, args, func(rows *sql.Rows) (Row, error) { return scanRow(rows) })
}

// query runs a prepared search statement and scans each row with scan.
func query[T any](ctx context.Context, x *Index, text string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	stmt, err := x.stmt(ctx, text)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("index search: %w", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("index search: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// stmt prepares a search statement once per distinct SQL text (there are
// only as many as filter combinations).
func (x *Index) stmt(ctx context.Context, text string) (*sql.Stmt, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if s, ok := x.stmts[text]; ok {
		return s, nil
	}
	s, err := x.db.PrepareContext(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("index search: %w", err)
	}
	x.stmts[text] = s
	return s, nil
}

// prefixEnd is the smallest string greater than every string that starts
// with p, so that "col >= p AND col < prefixEnd(p)" is a prefix match that
// uses an index. ok is false when there is none (p all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func prefixCond(col, p string, args []any) (string, []any) {
	end, ok := prefixEnd(p)
	if !ok {
		return col + " >= ?", append(args, p)
	}
	return "(" + col + " >= ? AND " + col + " < ?)", append(args, p, end)
}

// plainSQL is an id, agent or time-only search.
func plainSQL(q Query) (string, []any) {
	if q.ID == "" && q.Agent != "" {
		return agentSQL(q)
	}
	bounds, args := boundsWhere(q, "")
	filter, more := filterWhere(q, "")
	return "SELECT " + rowColumns + " FROM recordings" + where(append(bounds, filter...)) +
		" ORDER BY start DESC, id DESC LIMIT ?", append(append(args, more...), q.Limit)
}

// sortedSQL is the second plan of a filtered search: the matches found by
// their own index, sorted by time on the index entries alone (the filter
// indexes carry start and id), then only a page of whole rows read.
func sortedSQL(q Query) (string, []any) {
	bounds, args := boundsWhere(q, "")
	filter, more := filterWhere(q, "")
	return "SELECT " + rowColumns + " FROM recordings WHERE id IN (SELECT id FROM recordings" + where(append(bounds, filter...)) +
			" ORDER BY start DESC, id DESC LIMIT ?) ORDER BY start DESC, id DESC",
		append(append(args, more...), q.Limit)
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// agentSQL drives the search from the agent's rows of the agents table
// (CROSS JOIN fixes that order), newest first; the time and cursor bounds
// narrow that walk, the other filters test each joined recording.
func agentSQL(q Query) (string, []any) {
	conds := []string{"a.agent = ?"}
	args := []any{q.Agent}
	if !q.From.IsZero() {
		conds, args = append(conds, "a.start >= ?"), append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		conds, args = append(conds, "a.start < ?"), append(args, q.To.UnixMilli())
	}
	if q.After != nil {
		conds, args = append(conds, "(a.start, a.id) < (?, ?)"), append(args, q.After.Start, q.After.ID)
	}
	rest := q
	rest.Agent = ""
	filter, more := filterWhere(rest, "r.")
	text := "SELECT " + rowColumnsOf + " FROM agents a CROSS JOIN recordings r ON r.id = a.id" +
		where(append(conds, filter...)) + " ORDER BY a.start DESC, a.id DESC LIMIT ?"
	return text, append(append(args, more...), q.Limit)
}

// boundsWhere is q's id, time and cursor conditions, columns prefixed
// with p ("" or "r.").
func boundsWhere(q Query, p string) ([]string, []any) {
	var conds []string
	var args []any
	if q.ID != "" {
		conds, args = append(conds, p+"id = ?"), append(args, q.ID)
	}
	if !q.From.IsZero() {
		conds, args = append(conds, p+"start >= ?"), append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		conds, args = append(conds, p+"start < ?"), append(args, q.To.UnixMilli())
	}
	if q.After != nil { // a row value: one index range
		conds, args = append(conds, "("+p+"start, "+p+"id) < (?, ?)"), append(args, q.After.Start, q.After.ID)
	}
	return conds, args
}

// filterWhere is q's other conditions.
func filterWhere(q Query, p string) ([]string, []any) {
	var conds []string
	var args []any
	if q.Agent != "" {
		conds, args = append(conds, p+"id IN (SELECT id FROM agents WHERE agent = ?)"), append(args, q.Agent)
	}
	for _, f := range []struct{ col, v string }{{"ani", q.ANI}, {"dnis", q.DNIS}} {
		if f.v != "" {
			var c string
			c, args = prefixCond(p+f.col, f.v, args)
			conds = append(conds, c)
		}
	}
	if q.Direction != "" {
		conds, args = append(conds, p+"dirfold = ?"), append(args, strings.ToLower(q.Direction))
	}
	if q.Access != nil {
		c, a := accessSQL(q.Access, p)
		conds, args = append(conds, c), append(args, a...)
	}
	return conds, args
}

// accessSQL is the access list as a condition; an empty list matches nothing.
func accessSQL(a *Access, p string) (string, []any) {
	var ors []string
	var args []any
	for _, ag := range a.Agents {
		ors = append(ors, p+"id IN (SELECT id FROM agents WHERE agent = ?)")
		args = append(args, ag)
	}
	for _, pre := range a.ANIPrefixes {
		var c string
		c, args = prefixCond(p+"ani", pre, args)
		ors = append(ors, c)
	}
	for _, t := range a.Tenants {
		ors = append(ors, p+"tenant = ?")
		args = append(args, t)
	}
	if len(ors) == 0 {
		return "0", nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

type scanner interface{ Scan(dest ...any) error }

func scanRow(s scanner) (Row, error) {
	var r Row
	var start, stop int64
	var agents, media string
	if err := s.Scan(&r.ID, &start, &stop, &r.Direction, &r.ANI, &r.DNIS, &r.Tenant, &agents, &media, &r.Dir); err != nil {
		return Row{}, fmt.Errorf("index: read row: %w", err)
	}
	r.Start = time.UnixMilli(start).UTC()
	if stop != 0 {
		r.Stop = time.UnixMilli(stop).UTC()
	}
	if err := json.Unmarshal([]byte(agents), &r.Agents); err != nil {
		return Row{}, fmt.Errorf("index: recording %s: agents: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(media), &r.Media); err != nil {
		return Row{}, fmt.Errorf("index: recording %s: media: %w", r.ID, err)
	}
	return r, nil
}

// ErrNotIndexed is a recording id the index does not hold.
var ErrNotIndexed = errors.New("recording not in the index")

// Get returns the row of one recording, or ErrNotIndexed.
func (x *Index) Get(ctx context.Context, id string) (Row, error) {
	r, err := scanRow(x.getRec.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Row{}, ErrNotIndexed
	}
	return r, err
}

// Set is several archives (the instances' targetDirs) searched as one.
// Safe for concurrent use.
type Set struct {
	Indexes []*Index
}

// Search merges the archives' results, newest first.
func (s *Set) Search(ctx context.Context, q Query) ([]Row, error) {
	q.Limit = max(q.Limit, 1)
	var all []Row
	for i, x := range s.Indexes {
		rows, err := x.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			r.Archive = i
			all = append(all, r)
		}
	}
	slices.SortStableFunc(all, func(a, b Row) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if len(all) > q.Limit {
		all = all[:q.Limit]
	}
	return all, nil
}

// Get finds a recording in the first archive that holds it.
func (s *Set) Get(ctx context.Context, id string) (Row, error) {
	for i, x := range s.Indexes {
		r, err := x.Get(ctx, id)
		if errors.Is(err, ErrNotIndexed) {
			continue
		}
		r.Archive = i
		return r, err
	}
	return Row{}, ErrNotIndexed
}

// Count is the number of recordings in all archives.
func (s *Set) Count(ctx context.Context) (int64, error) {
	var total int64
	for _, x := range s.Indexes {
		n, err := x.Count(ctx)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// Close closes every index.
func (s *Set) Close() error {
	var errs []error
	for _, x := range s.Indexes {
		errs = append(errs, x.Close())
	}
	return errors.Join(errs...)
}
