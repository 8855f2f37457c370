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

// broadMatches is where Search switches plans. A filter that matches fewer
// rows is answered from its own index and the matches sorted by time
// (at most this many); one that matches more is answered by walking the
// start index newest first and stopping after Limit matches, which at this
// density means reading at most Limit/density index entries. SQLite's
// planner does not weigh LIMIT, so it would sort every match of a broad
// filter (50,000 rows for one tenant of 20 in 1,000,000).
const broadMatches = 5000

// Search returns up to q.Limit rows, newest first (then by id, descending).
// An agent filter reads that agent's rows of the agents table, already
// newest first; other filters choose between their own index and a walk
// down the start index by how many rows they match (broadMatches).
func (x *Index) Search(ctx context.Context, q Query) ([]Row, error) {
	walk := false
	if filtered(q) && q.Agent == "" {
		n, err := x.countUpTo(ctx, q, broadMatches)
		if err != nil {
			return nil, err
		}
		walk = n >= broadMatches
	}
	text, args := searchSQL(q, walk)
	stmt, err := x.stmt(ctx, text)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("index search: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// filtered reports whether q filters by more than time (an id is always narrow).
func filtered(q Query) bool {
	return q.ID == "" && (q.Agent != "" || q.ANI != "" || q.DNIS != "" || q.Direction != "" || q.Access != nil)
}

// countUpTo counts q's matches, stopping at limit.
func (x *Index) countUpTo(ctx context.Context, q Query, limit int) (int, error) {
	where, args := searchWhere(q, "")
	stmt, err := x.stmt(ctx, "SELECT count(*) FROM (SELECT 1 FROM recordings"+where+" LIMIT ?)")
	if err != nil {
		return 0, err
	}
	var n int
	if err := stmt.QueryRowContext(ctx, append(args, limit)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("index search: %w", err)
	}
	return n, nil
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

// searchSQL is the search statement; walk forces the start index.
func searchSQL(q Query, walk bool) (string, []any) {
	if q.Agent != "" {
		return agentSQL(q)
	}
	where, args := searchWhere(q, "")
	from := " FROM recordings"
	if walk {
		from += " INDEXED BY recordings_start"
	}
	text := "SELECT " + rowColumns + from + where + " ORDER BY start DESC, id DESC LIMIT ?"
	return text, append(args, max(q.Limit, 1))
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
	rest.Agent, rest.From, rest.To, rest.After = "", time.Time{}, time.Time{}, nil
	where, more := searchWhere(rest, "r.")
	if where != "" {
		conds = append(conds, strings.TrimPrefix(where, " WHERE "))
		args = append(args, more...)
	}
	text := "SELECT " + rowColumnsOf + " FROM agents a CROSS JOIN recordings r ON r.id = a.id WHERE " +
		strings.Join(conds, " AND ") + " ORDER BY a.start DESC, a.id DESC LIMIT ?"
	return text, append(args, max(q.Limit, 1))
}

// searchWhere is q's WHERE clause (empty when q filters nothing), its
// columns prefixed with p ("" or "r.").
func searchWhere(q Query, p string) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if q.ID != "" {
		add(p+"id = ?", q.ID)
	}
	if !q.From.IsZero() {
		add(p+"start >= ?", q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		add(p+"start < ?", q.To.UnixMilli())
	}
	if q.Agent != "" {
		add(p+"id IN (SELECT id FROM agents WHERE agent = ?)", q.Agent)
	}
	for _, f := range []struct{ col, v string }{{"ani", q.ANI}, {"dnis", q.DNIS}} {
		if f.v != "" {
			c, a := prefixCond(p+f.col, f.v, nil)
			add(c, a...)
		}
	}
	if q.Direction != "" {
		add(p+"dirfold = ?", strings.ToLower(q.Direction))
	}
	if q.After != nil {
		add("("+p+"start, "+p+"id) < (?, ?)", q.After.Start, q.After.ID) // a row value: one index range
	}
	if q.Access != nil {
		c, a := accessSQL(q.Access, p)
		add(c, a...)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
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
