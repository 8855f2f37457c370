package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadState(t *testing.T) {
	jan9 := time.Date(2018, 1, 9, 0, 0, 0, 0, time.UTC) // 1515456000000
	tests := []struct {
		name    string
		content string // "-" for no file
		want    time.Time
		ok      bool
		wantErr string
	}{
		{"absent", "-", time.Time{}, false, ""},
		{"newline", "1515456000000\n", jan9, true, ""},
		{"CRLF", "1515456000000\r\n", jan9, true, ""},
		{"trailing blanks", "1515456000000 \t\n\n", jan9, true, ""},
		{"no newline", "1515456000123", jan9.Add(123 * time.Millisecond), true, ""},
		{"empty", "", time.Time{}, false, `is corrupt: want 13-digit epoch milliseconds, got ""`},
		{"text", "yesterday\n", time.Time{}, false, `is corrupt: want 13-digit epoch milliseconds, got "yesterday"`},
		{"seconds", "1515456000\n", time.Time{}, false, `got "1515456000"`},
		{"14 digits", "15154560000000\n", time.Time{}, false, `got "15154560000000"`},
		{"leading blank", " 1515456000000\n", time.Time{}, false, `got " 1515456000000"`},
		{"two lines", "1515456000000\n1515456000000\n", time.Time{}, false, `got "1515456000000\n1515456000000"`},
		{"long garbage", strings.Repeat("x", 100), time.Time{}, false, `got "` + strings.Repeat("x", 40) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "-" {
				if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := ReadState(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), filepath.Join(dir, StateFileName)) {
					t.Fatalf("ReadState error = %v, want one naming the file and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ok != tt.ok || !got.Equal(tt.want) {
				t.Fatalf("ReadState = %v, %v, %v; want %v, %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func TestReadStateDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, StateFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadState(dir)
	if err == nil || !strings.Contains(err.Error(), "state file "+filepath.Join(dir, StateFileName)+": is a directory") {
		t.Errorf("ReadState on a directory = %v", err)
	}
}
