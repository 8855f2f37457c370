package cloudsim

import (
	"io"
	mrand "math/rand/v2"
)

// The simulator's audio is MPEG-1 Layer III, mono, 32 kbit/s at 32 kHz
// (spec §10: real playable audio so that a browser plays what `rcbs serve`
// streams). At that rate a frame is exactly 144 bytes and 1152 samples
// (36 ms), so "bytes at 32 kbit/s" — the generator's duration rule — is
// also the playing time, to the millisecond.
const (
	mp3FrameBytes   = 144
	mp3FrameMillis  = 36
	mp3SideInfoMono = 17
)

// mp3Header: sync 0xFFF, MPEG-1, Layer III, no CRC; bitrate index 1
// (32 kbit/s), sample rate index 2 (32 kHz), no padding; mono.
var mp3Header = [4]byte{0xFF, 0xFB, 0x18, 0xC0}

// mp3Size keeps whole frames only: sizes are rounded down to a
// multiple of the frame (at least one frame).
func mp3Size(n int64) int64 { return max(n/mp3FrameBytes, 1) * mp3FrameBytes }

// silentMP3 streams size bytes (a multiple of mp3FrameBytes) of digital
// silence: each frame's side info is zero (main_data_begin 0,
// part2_3_length 0: every granule decodes to zeros), and the rest of the
// frame, which the decoder then treats as ancillary data, is filled from
// rng so that every file of the seed is distinct and any mix-up of two
// files is caught by its hash.
type silentMP3 struct {
	rng   *mrand.ChaCha8
	left  int64
	frame [mp3FrameBytes]byte
	off   int // next byte of frame to hand out; mp3FrameBytes = refill
}

func newSilentMP3(seed [32]byte, size int64) *silentMP3 {
	return &silentMP3{rng: mrand.NewChaCha8(seed), left: size, off: mp3FrameBytes}
}

func (s *silentMP3) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && s.left > 0 {
		if s.off == mp3FrameBytes {
			s.refill()
		}
		end := mp3FrameBytes
		if int64(end-s.off) > s.left {
			end = s.off + int(s.left)
		}
		k := copy(p[n:], s.frame[s.off:end])
		s.off += k
		s.left -= int64(k)
		n += k
	}
	return n, nil
}

func (s *silentMP3) refill() {
	copy(s.frame[:], mp3Header[:])
	clear(s.frame[4 : 4+mp3SideInfoMono])
	s.rng.Read(s.frame[4+mp3SideInfoMono:])
	s.off = 0
}
