package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWalk(t *testing.T) {
	root := t.TempDir()
	files := []string{
		"last_recording_endtime.txt",
		".rcbs/index.db",
		".rcbs/manifest/2018-02-12.sha256",
		"2018/02/12/19/B/recording.json",
		"2018/02/12/19/B/m1.bin",
		"2018/02/12/19/A/m2.bin",
		"2018/02/12/19/stray.txt",
		"2018/02/13/01/C/recording.json",
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "2018/02/14/00"), 0o700); err != nil { // empty: no Folder
		t.Fatal(err)
	}
	var got []string
	var complete []bool
	err := Walk(context.Background(), root, func(f Folder) error {
		names := make([]string, len(f.Files))
		for i, e := range f.Files {
			names[i] = e.Name()
		}
		got = append(got, f.Rel+":"+strings.Join(names, ","))
		complete = append(complete, f.Complete())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2018/02/12/19:stray.txt",
		"2018/02/12/19/A:m2.bin",
		"2018/02/12/19/B:m1.bin,recording.json",
		"2018/02/13/01/C:recording.json",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Walk visited\n%q\nwant\n%q", got, want)
	}
	if !slices.Equal(complete, []bool{false, false, true, true}) {
		t.Errorf("Complete = %v", complete)
	}
}

func TestWalkStops(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/1", "b/2"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
		os.WriteFile(filepath.Join(root, d, "recording.json"), nil, 0o600)
	}
	stop := errors.New("stop")
	n := 0
	err := Walk(context.Background(), root, func(Folder) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Walk = %v after %d folders, want stop after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Walk(ctx, root, func(Folder) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Walk = %v", err)
	}
}
