// Package archivetest writes small archives for tests: recording folders
// as a backup run leaves them (spec §6), with real MP3 audio that a
// browser plays, CMS-encrypted by the real openssl when a certificate is
// given. Imported by tests only.
package archivetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cms/cmstest"
)

// MP3 frames: MPEG-1 Layer III, mono, 32 kbit/s at 32 kHz, no padding, so
// each frame is 144 bytes and plays 36 ms. Side info all zero
// (main_data_begin 0, part2_3_length 0): every granule decodes to silence.
const (
	FrameBytes    = 144
	FrameDuration = 36 * time.Millisecond
)

// MP3 returns d of silent audio (rounded up to whole frames). Byte i of
// each frame's unused tail holds seed so that files differ.
func MP3(d time.Duration, seed byte) []byte {
	frames := int((d + FrameDuration - 1) / FrameDuration)
	out := make([]byte, 0, frames*FrameBytes)
	for i := range frames {
		frame := make([]byte, FrameBytes)
		copy(frame, []byte{0xFF, 0xFB, 0x18, 0xC4})
		frame[FrameBytes-1] = seed
		frame[FrameBytes-2] = byte(i)
		out = append(out, frame...)
	}
	return out
}

// Recording is one recording to write. Media maps a mediaId to its type
// and plaintext.
type Recording struct {
	ID             string
	Start          time.Time
	Duration       time.Duration
	Direction      string
	ANI, DNIS      string
	Tenant         string
	Agents         []string // each joins at start+1s
	Media          []Media
	ExtraEventName string // an event after the joins, e.g. a name with umlauts
}

// Media is one media file.
type Media struct {
	ID    string // e.g. <id>_00000001.mp3
	Type  string // audio/mp3
	Plain []byte
}

// Dir is the folder a backup run writes for r (the default
// recordingFolderFormat yyyy/MM/dd/HH, GMT).
func (r Recording) Dir() string {
	return filepath.Join(r.Start.UTC().Format("2006/01/02/15"), r.ID)
}

// Write writes r under root: each media as <mediaId>.bin (encrypted to
// certFile with openssl when certFile is not empty, else the plaintext),
// then recording.json. It returns the folder.
func Write(t testing.TB, root string, r Recording, certFile string) string {
	t.Helper()
	dir := filepath.Join(root, r.Dir())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var media []map[string]any
	for _, m := range r.Media {
		bin := filepath.Join(dir, m.ID+".bin")
		if certFile == "" {
			writeFile(t, bin, m.Plain)
		} else {
			plain := filepath.Join(t.TempDir(), "plain")
			writeFile(t, plain, m.Plain)
			cmstest.Encrypt(t, plain, bin, []string{"-aes256"}, certFile)
		}
		st, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		media = append(media, map[string]any{"mediaId": m.ID, "type": m.Type, "size": st.Size()})
	}
	doc := map[string]any{
		"id": r.ID, "startTime": r.Start.UTC().Format(time.RFC3339Nano),
		"stopTime": r.Start.Add(r.Duration).UTC().Format(time.RFC3339Nano),
		"callType": r.Direction, "callerPhoneNumber": r.ANI, "dialedPhoneNumber": r.DNIS,
		"tenant": r.Tenant, "mediaFiles": media, "eventHistory": events(r),
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "recording.json"), b)
	return dir
}

func events(r Recording) []map[string]any {
	at := func(d time.Duration) string { return r.Start.Add(d).UTC().Format(time.RFC3339) }
	var evs []map[string]any
	for _, a := range r.Agents {
		evs = append(evs, map[string]any{"occurredAt": at(time.Second), "event": "joined", "agentId": a})
	}
	if r.ExtraEventName != "" {
		evs = append(evs, map[string]any{"occurredAt": at(2 * time.Second), "event": r.ExtraEventName})
	}
	return evs
}

func writeFile(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
