package faultproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestFlipsOneBitInWholeAndRangedBodies(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"abc"`)
		w.Header().Set("X-Amz-Checksum-Crc32", "AAAAAA==")
		http.ServeContent(w, r, "obj", time.Time{}, bytes.NewReader(data))
	}))
	defer backend.Close()
	p, err := Start(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Set("/b/k", Fault{Flip: 500, Delay: 100 * time.Millisecond, Tail: 10, StripChecksums: true, StripETag: true})
	tests := []struct {
		rng      string
		from, to int // the slice of data the body holds
		flipped  bool
	}{
		{"", 0, 1000, true},
		{"bytes=400-599", 400, 600, true},
		{"bytes=600-699", 600, 700, false},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, p.URL+"/b/k", nil)
		if tt.rng != "" {
			req.Header.Set("Range", tt.rng)
		}
		began := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := bytes.Clone(data[tt.from:tt.to])
		if tt.flipped {
			want[500-tt.from] ^= 1
		}
		if !bytes.Equal(got, want) {
			t.Errorf("range %q: body differs from the expected damage", tt.rng)
		}
		if time.Since(began) < 100*time.Millisecond {
			t.Errorf("range %q: the tail was not held back", tt.rng)
		}
		if resp.Header.Get("ETag") != "" || resp.Header.Get("X-Amz-Checksum-Crc32") != "" {
			t.Errorf("range %q: headers not stripped: %v", tt.rng, resp.Header)
		}
	}
	if p.Gets("/b/k") != 3 || p.Flipped("/b/k") != 2 {
		t.Errorf("gets %d flipped %d, want 3 and 2", p.Gets("/b/k"), p.Flipped("/b/k"))
	}
}
