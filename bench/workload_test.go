package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"testing"
	"time"
)

func TestStandardShapes(t *testing.T) {
	tests := []struct {
		name             string
		quick            bool
		override         int
		recs, per        int
		minSize, maxSize int64
	}{
		{"a", false, 0, 2000, 2, 20 * KiB, 200 * KiB},
		{"a", true, 0, 200, 2, 20 * KiB, 200 * KiB},
		{"b", false, 0, 20, 1, 64 * MiB, 64 * MiB},
		{"b", true, 0, 4, 1, 8 * MiB, 8 * MiB},
		{"c", false, 0, 100000, 1, 20 * KiB, 200 * KiB},
		{"c", false, 1000, 1000, 1, 20 * KiB, 200 * KiB},
	}
	for _, tc := range tests {
		w, err := Standard(tc.name, tc.quick, tc.override)
		if err != nil {
			t.Fatalf("Standard(%q): %v", tc.name, err)
		}
		if w.Recordings != tc.recs || w.MediaPer != tc.per || w.MinSize != tc.minSize || w.MaxSize != tc.maxSize {
			t.Errorf("Standard(%q, %v, %d) = %d×%d of %d..%d, want %d×%d of %d..%d", tc.name, tc.quick, tc.override,
				w.Recordings, w.MediaPer, w.MinSize, w.MaxSize, tc.recs, tc.per, tc.minSize, tc.maxSize)
		}
	}
	if _, err := Standard("z", false, 0); err == nil {
		t.Error("Standard(z) did not fail")
	}
}

func TestRecordingsDeterministicUniqueAndInRange(t *testing.T) {
	w, _ := Standard("a", false, 0)
	idRE := regexp.MustCompile(`^[0-9A-Z]{32}$`)
	ids, keys := map[string]bool{}, map[string]bool{}
	for i := range w.Recordings {
		r := w.Recording(i)
		if !idRE.MatchString(r.ID) || ids[r.ID] {
			t.Fatalf("recording %d: id %q malformed or repeated", i, r.ID)
		}
		ids[r.ID] = true
		if r.Start.Before(w.Start) || !r.Start.Before(w.End()) {
			t.Fatalf("recording %d starts %v, outside [%v, %v)", i, r.Start, w.Start, w.End())
		}
		for _, m := range r.Media {
			if m.Size < w.MinSize || m.Size > w.MaxSize || keys[m.Key] {
				t.Fatalf("recording %d media %s: size %d or key repeated", i, m.Key, m.Size)
			}
			keys[m.Key] = true
		}
	}
	a, b := w.Recording(17), w.Recording(17)
	ja, _ := a.JSON(w.Bucket)
	jb, _ := b.JSON(w.Bucket)
	if !bytes.Equal(ja, jb) {
		t.Error("recording 17 renders differently on two calls")
	}
}

func TestMediaBytesRepeatable(t *testing.T) {
	w, _ := Standard("a", true, 0)
	m := w.Recording(3).Media[1]
	x, _ := io.ReadAll(m.Open())
	y, _ := io.ReadAll(m.Open())
	if int64(len(x)) != m.Size || !bytes.Equal(x, y) {
		t.Errorf("media bytes: len %d (want %d), equal across opens %v", len(x), m.Size, bytes.Equal(x, y))
	}
	if !bytes.HasPrefix(x, cmsHead(m.Size)) {
		t.Errorf("media starts % x, want a CMS envelopedData header", x[:17])
	}
	other, _ := io.ReadAll(w.Recording(4).Media[1].Open())
	if bytes.Equal(x[17:1024], other[17:1024]) {
		t.Error("two media objects share their bytes")
	}
}

func TestIndexAt(t *testing.T) {
	w := Workload{Name: "t", Recordings: 7, Start: time.UnixMilli(1000).UTC(), Span: 7 * time.Millisecond, MediaPer: 1}
	tests := []struct {
		at   int64
		want int
	}{{0, 0}, {1000, 0}, {1001, 1}, {1003, 3}, {1006, 6}, {1007, 7}, {5000, 7}}
	for _, tc := range tests {
		if got := w.IndexAt(time.UnixMilli(tc.at)); got != tc.want {
			t.Errorf("IndexAt(%d) = %d, want %d", tc.at, got, tc.want)
		}
	}
}

func TestJSONShape(t *testing.T) {
	w, _ := Standard("a", true, 0)
	rec := w.Recording(0)
	b, err := rec.JSON("bkt")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ID         string `json:"id"`
		StartTime  string `json:"startTime"`
		MediaFiles []struct {
			MediaID         string `json:"mediaId"`
			Size            string `json:"size"`
			MediaDescriptor struct {
				Storage string            `json:"storage"`
				Data    map[string]string `json:"data"`
				Path    string            `json:"path"`
			} `json:"mediaDescriptor"`
		} `json:"mediaFiles"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != rec.ID || doc.StartTime != "2024-03-01T00:00:00.000+0000" || len(doc.MediaFiles) != 2 {
		t.Fatalf("rendered %s", b)
	}
	m := doc.MediaFiles[1]
	if m.MediaDescriptor.Storage != "awsS3" || m.MediaDescriptor.Data["bucket"] != "bkt" ||
		m.MediaDescriptor.Path != rec.Media[1].Key || m.MediaID != rec.Media[1].MediaID {
		t.Errorf("media 1 rendered as %+v, want key %s", m, rec.Media[1].Key)
	}
}
