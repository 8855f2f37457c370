package archive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testRecordingJSON is a recording.json as the API would write it.
func testRecordingJSON(id string, start time.Time, dir, ani, dnis, tenant string, agents ...string) []byte {
	var ev []string
	for _, a := range agents {
		ev = append(ev, fmt.Sprintf(`{"occurredAt":%q,"event":"joined","agentId":%q}`, start.Format(time.RFC3339), a))
	}
	return fmt.Appendf(nil, `{"id":%q,"startTime":%q,"stopTime":%q,"callType":%q,"callerPhoneNumber":%q,
		"dialedPhoneNumber":%q,"tenant":%q,"mediaFiles":[{"mediaId":"%s-m1","type":"audio/mpeg","size":10}],
		"eventHistory":[%s]}`, id, start.Format(time.RFC3339Nano), start.Add(90*time.Second).Format(time.RFC3339Nano),
		dir, ani, dnis, tenant, id, strings.Join(ev, ","))
}

// writeTestRecording writes a complete recording folder under root.
func writeTestRecording(t *testing.T, root string, id string, start time.Time, dir, ani, dnis, tenant string, agents ...string) Recording {
	t.Helper()
	rel := start.Format("2006/01/02/15") + "/" + id
	folder := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	doc := testRecordingJSON(id, start, dir, ani, dnis, tenant, agents...)
	if err := os.WriteFile(filepath.Join(folder, id+"-m1.bin"), []byte("0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, RecordingFile), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	return Recording{ID: id, Dir: rel, Start: start, JSON: doc, Files: []File{{Name: id + "-m1.bin", Size: 16}}}
}

func openTestIndex(t *testing.T, root string) *Index {
	t.Helper()
	x, _, _, err := OpenIndex(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func ids(rows []Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestIndexSearch(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	x := openTestIndex(t, root)
	t0 := time.Date(2024, 3, 9, 10, 0, 0, 0, time.UTC)
	recs := []Recording{
		writeTestRecording(t, root, "R1", t0, "Inbound", "+3317000", "5000", "acme", "a1"),
		writeTestRecording(t, root, "R2", t0.Add(time.Hour), "Outbound", "+3318000", "5001", "acme", "a2", "a1"),
		writeTestRecording(t, root, "R3", t0.Add(2*time.Hour), "inbound", "+4420000", "6000", "other", "a3"),
		writeTestRecording(t, root, "R4", t0.Add(2*time.Hour), "Internal", "+3317999", "5000", "other"),
	}
	for _, r := range recs {
		if err := x.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"all newest first", Query{}, []string{"R4", "R3", "R2", "R1"}},
		{"id", Query{ID: "R2"}, []string{"R2"}},
		{"from inclusive to exclusive", Query{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)}, []string{"R2"}},
		{"agent exact", Query{Agent: "a1"}, []string{"R2", "R1"}},
		{"agent not prefix", Query{Agent: "a"}, nil},
		{"agent and ani", Query{Agent: "a1", ANI: "+3318"}, []string{"R2"}},
		{"agent after a cursor", Query{Agent: "a1", After: &Cursor{Start: t0.Add(time.Hour).UnixMilli(), ID: "R2"}}, []string{"R1"}},
		{"agent in a time range", Query{Agent: "a1", From: t0, To: t0.Add(time.Hour)}, []string{"R1"}},
		{"agent and access", Query{Agent: "a1", Access: &Access{Tenants: []string{"other"}}}, nil},
		// A page the walk of the start index fills (the other cases fall back to sorting).
		{"ani prefix, walked", Query{ANI: "+3317", Limit: 1}, []string{"R4"}},
		{"access, walked", Query{Access: &Access{Tenants: []string{"acme"}}, Limit: 1}, []string{"R2"}},
		{"direction after a cursor, walked", Query{Direction: "inbound", Limit: 1, After: &Cursor{Start: t0.Add(2 * time.Hour).UnixMilli(), ID: "R3"}}, []string{"R1"}},
		{"ani prefix", Query{ANI: "+3317"}, []string{"R4", "R1"}},
		{"one number (no walk)", Query{ANI: "+3317000", Limit: 1}, []string{"R1"}},
		{"dnis prefix", Query{DNIS: "500"}, []string{"R4", "R2", "R1"}},
		{"direction ignores case", Query{Direction: "INBOUND"}, []string{"R3", "R1"}},
		{"cursor", Query{After: &Cursor{Start: t0.Add(2 * time.Hour).UnixMilli(), ID: "R4"}}, []string{"R3", "R2", "R1"}},
		{"limit", Query{Limit: 2}, []string{"R4", "R3"}},
		{"access agent", Query{Access: &Access{Agents: []string{"a2"}}}, []string{"R2"}},
		{"access ani or tenant", Query{Access: &Access{ANIPrefixes: []string{"+44"}, Tenants: []string{"acme"}}}, []string{"R3", "R2", "R1"}},
		{"empty access sees nothing", Query{Access: &Access{}}, nil},
		{"access and filter", Query{ANI: "+33", Access: &Access{Tenants: []string{"other"}}}, []string{"R4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.q.Limit == 0 {
				tc.q.Limit = 100
			}
			rows, err := x.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rows); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	r, err := x.Get(ctx, "R2")
	if err != nil {
		t.Fatal(err)
	}
	if r.Dir != "2024/03/09/11/R2" || r.Duration() != 90*time.Second || !slices.Equal(r.Agents, []string{"a1", "a2"}) ||
		len(r.Media) != 1 || r.Media[0].Size != 16 || r.Media[0].Type != "audio/mpeg" {
		t.Errorf("Get(R2) = %+v", r)
	}
	if err := x.Remove(ctx, "R2", "nope"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Get(ctx, "R2"); !errors.Is(err, ErrNotIndexed) {
		t.Errorf("after Remove, Get(R2) = %v, want ErrNotIndexed", err)
	}
	if rows, _ := x.Search(ctx, Query{Agent: "a2", Limit: 10}); len(rows) != 0 {
		t.Errorf("removed recording still found by agent: %v", ids(rows))
	}
}

func TestIndexRebuildAndDamage(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	t0 := time.Date(2024, 3, 9, 10, 0, 0, 0, time.UTC)
	writeTestRecording(t, root, "R1", t0, "Inbound", "1", "2", "t")
	writeTestRecording(t, root, "R2", t0.Add(time.Minute), "Inbound", "1", "2", "t")
	x, rebuild, why, err := OpenIndex(ctx, root)
	if err != nil || !rebuild || why != "missing" {
		t.Fatalf("first open: rebuild=%v why=%q err=%v", rebuild, why, err)
	}
	n, err := x.Rebuild(ctx, nil)
	if err != nil || n != 2 {
		t.Fatalf("Rebuild = %d, %v; want 2", n, err)
	}
	x.Close()
	if fi, err := os.Stat(IndexPath(root)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("index file mode: %v %v", fi, err)
	}
	for name, damage := range map[string]func(path string) error{
		"not a database": func(p string) error { return os.WriteFile(p, []byte(strings.Repeat("garbage!", 1000)), 0o600) },
		"wrong version": func(p string) error {
			x, _, _, err := OpenIndex(ctx, root)
			if err != nil {
				return err
			}
			defer x.Close()
			_, err = x.db.Exec("PRAGMA user_version = 99")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := damage(IndexPath(root)); err != nil {
				t.Fatal(err)
			}
			x, rebuild, why, err := OpenIndex(ctx, root)
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if !rebuild || !strings.Contains(why, "damaged") {
				t.Errorf("rebuild=%v why=%q, want a damaged index rebuilt", rebuild, why)
			}
			if n, err := x.Rebuild(ctx, nil); err != nil || n != 2 {
				t.Errorf("Rebuild = %d, %v", n, err)
			}
			aside, _ := filepath.Glob(IndexPath(root) + ".damaged-*")
			if len(aside) == 0 {
				t.Error("the damaged file was not kept aside")
			}
			for _, a := range aside {
				os.Remove(a)
			}
		})
	}
}

func TestSetMergesArchives(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2024, 3, 9, 10, 0, 0, 0, time.UTC)
	var set Set
	for i := range 2 {
		root := t.TempDir()
		x := openTestIndex(t, root)
		for j := range 3 {
			id := fmt.Sprintf("A%dR%d", i, j)
			if err := x.Add(ctx, writeTestRecording(t, root, id, t0.Add(time.Duration(2*j+i)*time.Minute), "In", "1", "2", "t")); err != nil {
				t.Fatal(err)
			}
		}
		set.Indexes = append(set.Indexes, x)
	}
	rows, err := set.Search(ctx, Query{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rows); !slices.Equal(got, []string{"A1R2", "A0R2", "A1R1", "A0R1"}) {
		t.Errorf("merged = %v", got)
	}
	if rows[0].Archive != 1 || rows[1].Archive != 0 {
		t.Errorf("archive numbers: %d %d", rows[0].Archive, rows[1].Archive)
	}
	last := rows[len(rows)-1]
	rows, _ = set.Search(ctx, Query{Limit: 4, After: &Cursor{Start: last.Start.UnixMilli(), ID: last.ID}})
	if got := ids(rows); !slices.Equal(got, []string{"A1R0", "A0R0"}) {
		t.Errorf("second page = %v", got)
	}
	if n, _ := set.Count(ctx); n != 6 {
		t.Errorf("Count = %d", n)
	}
}

func TestAuditAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetaDir, AuditFile)
	at := time.Date(2024, 3, 10, 1, 2, 3, 0, time.UTC)
	for range 2 {
		a, err := OpenAudit(path, func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Log(AuditEvent{User: "u", Addr: "127.0.0.1", Action: "play", RecordingID: "R", MediaID: "M", Status: 200}); err != nil {
			t.Fatal(err)
		}
		a.Close()
	}
	data, _ := os.ReadFile(path)
	line := `{"time":"2024-03-10T01:02:03Z","user":"u","addr":"127.0.0.1","action":"play","recordingId":"R","mediaId":"M","status":200}`
	if string(data) != line+"\n"+line+"\n" {
		t.Errorf("audit file:\n%s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
}
