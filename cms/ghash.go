package cms

import (
	"encoding/binary"
	"math/bits"
)

// GHASH (NIST SP 800-38D) for streaming AES-GCM. The standard library only
// offers GCM as a one-shot AEAD, which would hold a whole recording in
// memory; this constant-time carry-less multiply (BearSSL's ghash_ctmul64:
// integer multiplies on masked bits, no table lookups indexed by secret
// data) lets the tag be computed as the ciphertext streams past.
//
// A field element is (hi, lo): the first and last 8 bytes of the block,
// big-endian, in GCM's bit-reflected convention.

type gfElem struct{ hi, lo uint64 }

func loadElem(b []byte) gfElem {
	return gfElem{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
}

func (e gfElem) put(b []byte) {
	binary.BigEndian.PutUint64(b, e.hi)
	binary.BigEndian.PutUint64(b[8:], e.lo)
}

func (e gfElem) xor(f gfElem) gfElem { return gfElem{e.hi ^ f.hi, e.lo ^ f.lo} }

// bmul64 is the carry-less product of x and y, low 64 bits.
func bmul64(x, y uint64) uint64 {
	const m0, m1, m2, m3 = 0x1111111111111111, 0x2222222222222222, 0x4444444444444444, 0x8888888888888888
	x0, x1, x2, x3 := x&m0, x&m1, x&m2, x&m3
	y0, y1, y2, y3 := y&m0, y&m1, y&m2, y&m3
	z0 := (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1)
	z1 := (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2)
	z2 := (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3)
	z3 := (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0)
	return z0&m0 | z1&m1 | z2&m2 | z3&m3
}

// gfMul multiplies in GF(2^128) with GCM's polynomial (Karatsuba on the
// 64-bit halves, high halves via bit reversal, then reduction).
func gfMul(y, h gfElem) gfElem {
	y1, y0, h1, h0 := y.hi, y.lo, h.hi, h.lo
	h0r, h1r := bits.Reverse64(h0), bits.Reverse64(h1)
	y0r, y1r := bits.Reverse64(y0), bits.Reverse64(y1)
	z0, z1, z2 := bmul64(y0, h0), bmul64(y1, h1), bmul64(y0^y1, h0^h1)
	z0h, z1h, z2h := bmul64(y0r, h0r), bmul64(y1r, h1r), bmul64(y0r^y1r, h0r^h1r)
	z2 ^= z0 ^ z1
	z2h ^= z0h ^ z1h
	z0h = bits.Reverse64(z0h) >> 1
	z1h = bits.Reverse64(z1h) >> 1
	z2h = bits.Reverse64(z2h) >> 1

	v0, v1, v2, v3 := z0, z0h^z2, z1^z2h, z1h
	v3 = v3<<1 | v2>>63
	v2 = v2<<1 | v1>>63
	v1 = v1<<1 | v0>>63
	v0 <<= 1
	v2 ^= v0 ^ v0>>1 ^ v0>>2 ^ v0>>7
	v1 ^= v0<<63 ^ v0<<62 ^ v0<<57
	v3 ^= v1 ^ v1>>1 ^ v1>>2 ^ v1>>7
	v2 ^= v1<<63 ^ v1<<62 ^ v1<<57
	return gfElem{hi: v3, lo: v2}
}

// gfPow is h^n by square-and-multiply (n is public: a block count).
func gfPow(h gfElem, n uint64) gfElem {
	r := gfElem{hi: 1 << 63} // the identity: x^0 is the block's first bit
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r = gfMul(r, h)
		}
		h = gfMul(h, h)
	}
	return r
}

// ghash absorbs a byte stream in 16-byte blocks, zero-padding the last.
type ghash struct {
	h       gfElem
	y       gfElem
	partial [16]byte
	np      int    // bytes in partial
	blocks  uint64 // blocks absorbed, the partial one included once flushed
}

func (g *ghash) write(p []byte) {
	if g.np > 0 {
		n := copy(g.partial[g.np:], p)
		g.np += n
		p = p[n:]
		if g.np < 16 {
			return
		}
		g.block(g.partial[:])
		g.np = 0
	}
	for len(p) >= 16 {
		g.block(p[:16])
		p = p[16:]
	}
	g.np = copy(g.partial[:], p)
}

func (g *ghash) block(b []byte) {
	g.y = gfMul(g.y.xor(loadElem(b)), g.h)
	g.blocks++
}

// flush zero-pads and absorbs a partial block.
func (g *ghash) flush() {
	if g.np > 0 {
		clear(g.partial[g.np:])
		g.block(g.partial[:])
		g.np = 0
	}
}
