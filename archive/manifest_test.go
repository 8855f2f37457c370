package archive

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testRecording(id string, start time.Time, files ...string) Recording {
	rec := Recording{ID: id, Dir: start.Format("2006/01/02/15") + "/" + id, Start: start}
	for _, f := range files {
		rec.Files = append(rec.Files, File{Name: f, Size: int64(len(f)), SHA256: sha256.Sum256([]byte(f))})
	}
	return rec
}

// TestManifestChain: lines land in the day of the start, the chain checks
// out, and each kind of tampering breaks it at the day it names.
func TestManifestChain(t *testing.T) {
	root := t.TempDir()
	_, key, _ := ed25519.GenerateKey(nil)
	m, err := OpenManifests(root, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d1 := time.Date(2024, 3, 8, 23, 59, 0, 0, time.UTC)
	for i, start := range []time.Time{d1, d1.Add(time.Hour), d1.Add(25 * time.Hour)} {
		if err := m.Add(ctx, testRecording("R"+string(rune('A'+i)), start, "a.bin", "recording.json")); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ManifestDir)
	days, _ := ManifestDays(dir)
	if strings.Join(days, ",") != "2024-03-08,2024-03-09,2024-03-10" {
		t.Fatalf("days %q", days)
	}
	var got []string
	if err := ReadManifest(filepath.Join(dir, "2024-03-09"+ManifestExt), func(e Entry) error { got = append(got, e.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "2024/03/09/00/RB/a.bin,2024/03/09/00/RB/recording.json" {
		t.Errorf("2024-03-09 lists %q", got)
	}
	pub := key.Public().(ed25519.PublicKey)
	check := func(want ChainStatus, wantDay string) {
		t.Helper()
		st, problems, _, err := CheckChain(dir, pub)
		if err != nil || st != want || (wantDay != "" && (len(problems) == 0 || !strings.Contains(problems[0], wantDay))) {
			t.Errorf("CheckChain = %s %q %v, want %s at %s", st, problems, err, want, wantDay)
		}
	}
	check(ChainOK, "")
	// A late recording of the first day re-signs from there on.
	if err := m.Add(ctx, testRecording("RL", d1.Add(-time.Hour), "b.bin")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, resignMark)); err != nil {
		t.Errorf("no re-sign mark before Sync: %v", err)
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	check(ChainOK, "")
	if _, err := os.Stat(filepath.Join(dir, resignMark)); err == nil {
		t.Errorf("re-sign mark left after Sync")
	}
	// Another key: broken at the first day.
	_, other, _ := ed25519.GenerateKey(nil)
	st, _, _, _ := CheckChain(dir, other.Public().(ed25519.PublicKey))
	if st != ChainBroken {
		t.Errorf("checked with another key: %s", st)
	}
	// An edit in the middle day.
	p := filepath.Join(dir, "2024-03-09"+ManifestExt)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, append(b, []byte("0000000000000000000000000000000000000000000000000000000000000000  x\n")...), 0o600)
	check(ChainBroken, "2024-03-09")
	os.WriteFile(p, b, 0o600)
	check(ChainOK, "")
	// A day removed whole: the next one breaks.
	os.Remove(p)
	os.Remove(filepath.Join(dir, "2024-03-09"+SigExt))
	check(ChainBroken, "2024-03-10")
}

// A process killed between the append and the signature leaves the mark;
// the next OpenManifests re-signs from it.
func TestManifestResignAfterKill(t *testing.T) {
	root := t.TempDir()
	_, key, _ := ed25519.GenerateKey(nil)
	m, _ := OpenManifests(root, key)
	ctx := context.Background()
	day := time.Date(2024, 3, 8, 1, 0, 0, 0, time.UTC)
	m.Add(ctx, testRecording("A", day, "a.bin"))
	m.Sync()
	m.Add(ctx, testRecording("B", day, "b.bin"))
	m.open["2024-03-08"+ManifestExt].Sync() // the kill: no Sync
	dir := filepath.Join(root, ManifestDir)
	pub := key.Public().(ed25519.PublicKey)
	if st, _, _, _ := CheckChain(dir, pub); st != ChainBroken {
		t.Fatalf("before recovery: %s", st)
	}
	if _, err := OpenManifests(root, key); err != nil {
		t.Fatal(err)
	}
	if st, p, _, _ := CheckChain(dir, pub); st != ChainOK {
		t.Errorf("after OpenManifests: %s %q", st, p)
	}
}

// An edit is not laundered: a later change before it does not re-sign
// over it, and says so; SignAll (verify -adopt) does, as a decision.
func TestManifestNoLaundering(t *testing.T) {
	root := t.TempDir()
	_, key, _ := ed25519.GenerateKey(nil)
	m, _ := OpenManifests(root, key)
	ctx := context.Background()
	d1 := time.Date(2024, 3, 8, 1, 0, 0, 0, time.UTC)
	m.Add(ctx, testRecording("A", d1, "a.bin"))
	m.Add(ctx, testRecording("B", d1.Add(24*time.Hour), "b.bin"))
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ManifestDir)
	p := filepath.Join(dir, "2024-03-09"+ManifestExt)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, append(b, "0000000000000000000000000000000000000000000000000000000000000000  forged\n"...), 0o600)
	m2, _ := OpenManifests(root, key)
	var told []string
	m2.ChainBroken = func(p string) { told = append(told, p) }
	m2.Add(ctx, testRecording("L", d1.Add(time.Hour), "late.bin"))
	if err := m2.Sync(); err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	if st, _, _, _ := CheckChain(dir, pub); st != ChainBroken || len(told) != 1 || !strings.Contains(told[0], "2024-03-09") {
		t.Errorf("after a late recording before the edit: %s, told %q", st, told)
	}
	if _, err := os.Stat(filepath.Join(dir, resignMark)); err == nil {
		t.Errorf("a re-sign mark left: the next process would launder the edit")
	}
	if err := m2.SignAll(); err != nil {
		t.Fatal(err)
	}
	if st, _, _, _ := CheckChain(dir, pub); st != ChainOK {
		t.Errorf("after SignAll: %s", st)
	}
}

// TestReadManifestSkipsBadLines: a damaged line is reported, and the lines
// after it are still read (they must not turn into "unlisted" files).
func TestReadManifestSkipsBadLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "2024-03-09"+ManifestExt)
	good := strings.Repeat("ab", 32)
	text := good + "  a/1.bin\n" + strings.Repeat("zz", 32) + "  a/2.bin\nno separator\n" + good + "  a/3.bin\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := ReadManifest(path, func(e Entry) error { got = append(got, e.Path); return nil })
	if err == nil || !strings.Contains(err.Error(), "line 2:") || !strings.Contains(err.Error(), "(2 such lines)") {
		t.Errorf("err = %v, want line 2 named and 2 bad lines counted", err)
	}
	if strings.Join(got, ",") != "a/1.bin,a/3.bin" {
		t.Errorf("read %v, want the two good lines around the bad ones", got)
	}
}
