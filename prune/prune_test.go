package prune

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
)

type memAudit struct{ events []archive.AuditEvent }

func (a *memAudit) Log(e archive.AuditEvent) error {
	a.events = append(a.events, e)
	return nil
}

type memIndex struct{ removed []string }

func (x *memIndex) Remove(_ context.Context, ids ...string) error {
	x.removed = append(x.removed, ids...)
	return nil
}

// countRecordings counts the complete recording folders under root.
func countRecordings(t *testing.T, root string) int {
	t.Helper()
	n := 0
	if err := archive.Walk(context.Background(), root, func(f archive.Folder) error {
		if f.Complete() {
			n++
		}
		return nil
	}); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return n
}

// TestPrune: 40 recordings, one every 5 minutes from 2024-01-01 00:00;
// retention cuts at 01:40 (20 recordings) on a now of 2024-01-11 01:40
// with 10 days.
func TestPrune(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start.AddDate(0, 0, 10).Add(100 * time.Minute)
	tests := []struct {
		name        string
		mode        string
		guard       time.Time
		dryRun      bool
		hold        bool
		wantPruned  int
		wantInPlace int
	}{
		{"trash", "trash", time.Time{}, false, false, 20, 20},
		{"delete", "delete", time.Time{}, false, false, 20, 20},
		{"dry run", "trash", time.Time{}, true, false, 20, 40},
		{"guard: state − overlap at 00:40", "trash", start.Add(40 * time.Minute), false, false, 8, 32},
		{"one held", "trash", time.Time{}, false, true, 19, 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeExpired(t, root, 40, start)
			heldDir := filepath.Join(root, "2024/01/01/00/P0000000")
			if tt.hold {
				if err := SetHold(context.Background(), root, []string{"P0000000"}, true, nil, func(string) {}); err != nil {
					t.Fatal(err)
				}
			}
			m, _ := archive.OpenManifests(root, nil)
			audit, index := &memAudit{}, &memIndex{}
			var lines []string
			sum, err := Run(context.Background(), Options{Root: root, Now: now, RetentionDays: 10, Guard: tt.guard, Mode: tt.mode,
				TrashDays: 30, DryRun: tt.dryRun, Manifests: m, Audit: audit, Index: index, Report: func(l string) { lines = append(lines, l) }})
			if err != nil || sum.Pruned != tt.wantPruned {
				t.Fatalf("pruned %d, want %d: %v %q", sum.Pruned, tt.wantPruned, err, lines)
			}
			if n := countRecordings(t, root); n != tt.wantInPlace {
				t.Errorf("%d recordings in place, want %d", n, tt.wantInPlace)
			}
			trash := filepath.Join(root, TrashDir, "2024-01-11")
			wantTrash := tt.wantPruned
			if tt.dryRun || tt.mode == "delete" {
				wantTrash = 0
				if len(audit.events) != 0 && tt.dryRun {
					t.Errorf("a dry run wrote %d audit lines", len(audit.events))
				}
			}
			if n := countRecordings(t, trash); n != wantTrash {
				t.Errorf("%d recordings in the trash, want %d", n, wantTrash)
			}
			if !tt.dryRun && (len(audit.events) != tt.wantPruned || len(index.removed) != tt.wantPruned) {
				t.Errorf("audit %d, index %d, want %d each", len(audit.events), len(index.removed), tt.wantPruned)
			}
			if tt.hold {
				if _, err := os.Stat(filepath.Join(heldDir, archive.HoldFile)); err != nil {
					t.Errorf("held recording: %v", err)
				}
			}
			if !tt.dryRun && !tt.hold && tt.guard.IsZero() {
				if _, err := os.Stat(filepath.Join(root, "2024/01/01/00")); !os.IsNotExist(err) {
					t.Errorf("emptied hour folder 00 left")
				}
				if _, err := os.Stat(filepath.Join(root, "2024/01/01/01")); err != nil {
					t.Errorf("hour folder 01, half pruned: %v", err)
				}
			}
			if entries, _ := filepath.Glob(filepath.Join(root, TrashDir, ".deleting-*")); len(entries) > 0 {
				t.Errorf("left %q", entries)
			}
			pruned, _ := os.ReadFile(filepath.Join(root, archive.ManifestDir, "2024-01-01"+archive.PrunedExt))
			if want := 2 * tt.wantPruned; !tt.dryRun && strings.Count(string(pruned), "\n") != want {
				t.Errorf(".pruned lists %d files, want %d", strings.Count(string(pruned), "\n"), want)
			}
		})
	}
}

// The trash of a day older than trashDays is emptied, with a line each.
func TestEmptyTrash(t *testing.T) {
	root := t.TempDir()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	writeExpired(t, root, 8, start)
	now := start.AddDate(0, 0, 20)
	if _, err := Run(context.Background(), Options{Root: root, Now: now, RetentionDays: 10, Mode: "trash", TrashDays: 30}); err != nil {
		t.Fatal(err)
	}
	audit := &memAudit{}
	sum, err := Run(context.Background(), Options{Root: root, Now: now.AddDate(0, 0, 29), Mode: "trash", TrashDays: 30, Audit: audit})
	if err != nil || sum.TrashEmptied != 0 {
		t.Fatalf("29 days later: %+v %v", sum, err)
	}
	sum, err = Run(context.Background(), Options{Root: root, Now: now.AddDate(0, 0, 31), Mode: "trash", TrashDays: 30, Audit: audit})
	if err != nil || sum.TrashEmptied != 1 || len(audit.events) != 8 || audit.events[0].Action != "empty-trash" {
		t.Fatalf("31 days later: %+v %v %d", sum, err, len(audit.events))
	}
	if entries, _ := os.ReadDir(filepath.Join(root, TrashDir)); len(entries) != 0 {
		t.Errorf("trash left: %v", entries)
	}
}
