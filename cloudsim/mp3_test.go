package cloudsim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
)

// mpegFrame is one parsed MPEG-1 Layer III frame header.
type mpegFrame struct {
	bytes, samples, sampleRate, kbps int
}

// parseMP3Frame reads the frame header at b[0:4] as a decoder does:
// sync word, MPEG-1, Layer III, a bitrate and sample rate from the
// standard's tables (not "free" nor reserved), then the frame length.
func parseMP3Frame(b []byte) (mpegFrame, error) {
	if len(b) < 4 {
		return mpegFrame{}, fmt.Errorf("%d bytes left, no room for a header", len(b))
	}
	if b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mpegFrame{}, fmt.Errorf("no sync word: % x", b[:4])
	}
	if version, layer := (b[1]>>3)&3, (b[1]>>1)&3; version != 3 || layer != 1 {
		return mpegFrame{}, fmt.Errorf("not MPEG-1 Layer III: version bits %b, layer bits %b", version, layer)
	}
	kbpsTable := [16]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, -1}
	rateTable := [4]int{44100, 48000, 32000, -1}
	kbps, rate := kbpsTable[b[2]>>4], rateTable[(b[2]>>2)&3]
	if kbps <= 0 || rate < 0 {
		return mpegFrame{}, fmt.Errorf("free or reserved bitrate/sample rate: % x", b[:4])
	}
	padding := int(b[2]>>1) & 1
	return mpegFrame{bytes: 144*kbps*1000/rate + padding, samples: 1152, sampleRate: rate, kbps: kbps}, nil
}

// TestMediaArePlayableMP3 walks every audio/mp3 file of a generated cloud
// frame by frame: every frame is a valid MPEG-1 Layer III frame, the
// frames fill the file exactly, and they play for the duration the
// metadata gives.
func TestMediaArePlayableMP3(t *testing.T) {
	c := newCloud(t, plain(Options{Recordings: 40, Seed: 21}))
	checked := 0
	for _, rec := range c.Recordings() {
		durations := mediaDurations(t, rec.JSON)
		for i, m := range rec.Media {
			if m.Type != "audio/mp3" {
				continue
			}
			b := readBlob(t, c, rec.ID, i)
			frames, samples, rate := 0, 0, 0
			for off := 0; off < len(b); frames++ {
				f, err := parseMP3Frame(b[off:])
				if err != nil {
					t.Fatalf("%s: frame %d at byte %d: %v", m.MediaID, frames, off, err)
				}
				if rate != 0 && f.sampleRate != rate {
					t.Fatalf("%s: sample rate changes at frame %d", m.MediaID, frames)
				}
				if off+f.bytes > len(b) {
					t.Fatalf("%s: last frame (%d bytes at %d) runs past the end (%d bytes)", m.MediaID, f.bytes, off, len(b))
				}
				rate, samples, off = f.sampleRate, samples+f.samples, off+f.bytes
			}
			if got, want := int64(samples)*1000/int64(rate), durations[m.MediaID]; got != want {
				t.Fatalf("%s: %d frames play %d ms, metadata says %d ms", m.MediaID, frames, got, want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no audio/mp3 media generated")
	}
}

// mediaDurations maps mediaId to the duration (ms) the JSON gives.
func mediaDurations(t *testing.T, doc []byte) map[string]int64 {
	t.Helper()
	var rec struct {
		MediaFiles []struct {
			MediaID  string `json:"mediaId"`
			Duration string `json:"duration"`
		} `json:"mediaFiles"`
	}
	if err := json.Unmarshal(doc, &rec); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, m := range rec.MediaFiles {
		d, err := strconv.ParseInt(m.Duration, 10, 64)
		if err != nil {
			t.Fatalf("%s: duration %q: %v", m.MediaID, m.Duration, err)
		}
		out[m.MediaID] = d
	}
	return out
}

func BenchmarkSilentMP3(b *testing.B) {
	buf := make([]byte, 32<<10)
	b.SetBytes(8 << 20)
	for b.Loop() {
		s := newSilentMP3([32]byte{1}, mp3Size(8<<20))
		for {
			if _, err := s.Read(buf); err != nil {
				break
			}
		}
	}
}
