package kernels

import (
	"encoding/binary"
	"runtime"
	"sync"
	"unsafe"

	"github.com/converse-project/converse/engine/gguf"
)

// packRows is how many rows a packed matrix interleaves: one 512-bit vector
// holds four consecutive weights of each of 16 rows, so one VPDPBUSD with
// four activations broadcast to every lane advances 16 dot products at once
// (no horizontal sums), and the 16 rows' block scales are one vector load.
// This is the layout llama.cpp's Sapphire Rapids build repacks Q8_0 and
// Q4_0 weights into at load time (ggml-cpu/amx), for the same reason.
const packRows = 16

// Packed tiles: for each group of packRows rows, for each block of 32
// columns, one tile holding
//
//   - bytes 0..31: the 16 rows' fp16 block scales, row by row;
//   - Q8_0: eight 64-byte chunks, chunk c holding weights 4c..4c+3 of row 0,
//     then of row 1, ... row 15, each stored plus 128 (so as unsigned bytes,
//     which VPDPBUSD wants on one side; the kernel subtracts 128·Σx);
//   - Q4_0: four 64-byte chunks, chunk c holding the block's bytes 4c..4c+3
//     of each row, whose low nibbles are weights 4c..4c+3 and high nibbles
//     weights 16+4c..16+4c+3 (as in ggml's block, unsigned 0..15; the kernel
//     subtracts 8·Σx).
//
// A tile takes exactly as many bytes as the 16 blocks it comes from (544
// for Q8_0, 288 for Q4_0), and the tiles of one group of rows are
// contiguous, so a thread reading a range of rows streams one run of
// memory.
//
// Q4_K tiles cover 16 rows × 256 columns (one super-block of each row),
// 2368 bytes (16 × 144 plus 64: the 6-bit scales and mins are spread to
// bytes):
//   - bytes 0..31 the rows' d, 32..63 their dmin (fp16);
//   - bytes 64+16j+r the scale of sub-block j (of 32 columns) of row r,
//     and 192+16j+r its min;
//   - from byte 320, for each pair of sub-blocks (2jj, 2jj+1), eight
//     64-byte chunks: chunk c holds the row's quant bytes 32jj+4c..+3 for
//     row 0, then row 1, ... row 15, whose low nibbles are columns 4c..4c+3
//     of sub-block 2jj and high nibbles those of sub-block 2jj+1 (as in
//     ggml's block).
//
// Q6_K tiles cover 16 rows × 256 columns in exactly 16 × 210 bytes:
//   - bytes 0..31 the rows' d (fp16);
//   - bytes 32+16j+r the (signed) scale of sub-block j (of 16 columns) of
//     row r;
//   - from byte 288, ql: for each half n (128 columns) and part p, eight
//     64-byte chunks, chunk c holding the row's ql bytes 64n+32p+4c..+3
//     for rows 0..15 (offset 288+1024n+512p+64c);
//   - from byte 2336, qh: for each half n, eight 64-byte chunks, chunk c
//     holding qh bytes 32n+4c..+3 for rows 0..15 (offset 2336+512n+64c).
//     As in ggml, column 128n+32k+l (l < 32) is ql's nibble k/2 of byte
//     64n+32(k%2)+l and qh's bits 2k..2k+1 of byte 32n+l, minus 32.

// actX4 is one block of four activation vectors, interleaved for the
// batched packed kernels (see vnni_amd64.s): their Q8_0 values, scales,
// and integer-sum starts for Q8_0 (−128·Σq) and Q4_0 (−8·Σq) weights.
type actX4 struct {
	qs     [4][32]int8
	d      [4]float32
	c8, c4 [4]int32
}

// actK4 is one super-block of four Q8_K activation vectors, interleaved
// for the batched packed Q4_K kernel: their values, scales and sums per
// sub-block of 32.
type actK4 struct {
	qs [4][256]int8
	d  [4]float32
	bs [4][8]int32  // sums of 32 (Q4_K's mins)
	c6 [4][16]int32 // −32 × sums of 16 (Q6_K's offset)
}

// Pack returns m with its weights copied into the layout of the fastest
// matrix-vector kernel this build has on this CPU, when that kernel needs a
// layout of its own (Q8_0 and Q4_0 with AVX-512 VNNI, in a GOEXPERIMENT=simd
// build); otherwise it returns m itself. A packed Matrix gives the same
// results through MatVec, MatMuls and DequantizeRow as m (its products are
// summed in another order, so they may differ from m's in the last bits),
// and no longer refers to m.Data. Packing reads every weight once, spread
// over GOMAXPROCS goroutines. The packed copy lives outside the Go heap (on
// Unix) and is freed when no copy of the returned Matrix is reachable.
func Pack(m Matrix) Matrix {
	if m.packed || !canPack(m.Type) || m.Rows == 0 || m.Cols == 0 || m.Rows%packRows != 0 || m.Cols%packCols(m.Type) != 0 {
		return m
	}
	out, mem := allocPacked(m.Rows / packRows * m.Cols / packCols(m.Type) * packTileBytes(m.Type))
	groups := m.Rows / packRows
	workers := min(runtime.GOMAXPROCS(0), groups)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for g := w; g < groups; g += workers {
				packGroup(out, m, g)
			}
		})
	}
	wg.Wait()
	m.Data, m.packed, m.mem = out, true, mem
	return m
}

// Packed reports whether m is in a kernel's own layout (see Pack).
func (m Matrix) Packed() bool { return m.packed }

// packCols is how many columns one packed tile of t covers.
func packCols(t gguf.Type) int {
	if t == gguf.TypeQ4_K || t == gguf.TypeQ6_K {
		return 256
	}
	return 32
}

// packTileBytes is the size of one packed tile of t (16 rows × packCols).
func packTileBytes(t gguf.Type) int {
	switch t {
	case gguf.TypeQ8_0:
		return packRows * 34
	case gguf.TypeQ4_K:
		return packRows*144 + 64
	case gguf.TypeQ6_K:
		return packRows * 210
	}
	return packRows * 18
}

// packGroup writes the tiles of rows 16g..16g+15 of m into out, one source
// row at a time (a single read stream; the group's tiles, a few tens of
// kilobytes, take the scattered writes in cache).
func packGroup(out []byte, m Matrix, g int) {
	nb := m.Cols / packCols(m.Type)
	tb := packTileBytes(m.Type)
	src := m.Data[g*packRows*m.rowBytes : (g+1)*packRows*m.rowBytes]
	dst := out[g*nb*tb : (g+1)*nb*tb]
	for r := range packRows {
		row := src[r*m.rowBytes : (r+1)*m.rowBytes]
		for b := range nb {
			tile := dst[b*tb : (b+1)*tb]
			switch m.Type {
			case gguf.TypeQ8_0:
				packQ8_0(tile, row[34*b:34*b+34], r)
			case gguf.TypeQ4_0:
				packQ4_0(tile, row[18*b:18*b+18], r)
			case gguf.TypeQ4_K:
				packQ4_K(tile, row[144*b:144*b+144], r)
			case gguf.TypeQ6_K:
				packQ6_K(tile, row[210*b:210*b+210], r)
			}
		}
	}
}

// put32 stores v at byte off of tile, which the caller keeps in bounds
// (tiles are fixed-size and r < 16 in every offset below).
func put32(tile []byte, off int, v uint32) {
	*(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(tile)), off)) = v
}

func get32(b []byte, off int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), off))
}

// packQ8_0 puts row r's block blk (34 bytes) into its tile (544 bytes).
func packQ8_0(tile, blk []byte, r int) {
	_, _ = tile[543], blk[33]
	tile[2*r], tile[2*r+1] = blk[0], blk[1]
	for c := range 8 {
		put32(tile, 32+64*c+4*r, get32(blk, 2+4*c)^0x80808080)
	}
}

// packQ4_0 puts row r's block blk (18 bytes) into its tile (288 bytes).
func packQ4_0(tile, blk []byte, r int) {
	_, _ = tile[287], blk[17]
	tile[2*r], tile[2*r+1] = blk[0], blk[1]
	for c := range 4 {
		put32(tile, 32+64*c+4*r, get32(blk, 2+4*c))
	}
}

// packQ4_K puts row r's super-block blk (144 bytes) into its tile (2368).
func packQ4_K(tile, blk []byte, r int) {
	_, _ = tile[2367], blk[143]
	tile[2*r], tile[2*r+1] = blk[0], blk[1]
	tile[32+2*r], tile[32+2*r+1] = blk[2], blk[3]
	for j := range 8 {
		tile[64+16*j+r], tile[192+16*j+r] = scaleMinK4(j, blk[4:16])
	}
	for jj := range 4 {
		for c := range 8 {
			put32(tile, 320+512*jj+64*c+4*r, get32(blk, 16+32*jj+4*c))
		}
	}
}

// packQ6_K puts row r's super-block blk (210 bytes) into its tile (3360).
func packQ6_K(tile, blk []byte, r int) {
	_, _ = tile[3359], blk[209]
	tile[2*r], tile[2*r+1] = blk[208], blk[209]
	for j := range 16 {
		tile[32+16*j+r] = blk[192+j]
	}
	for n := range 2 {
		for c := range 8 {
			put32(tile, 288+1024*n+64*c+4*r, get32(blk, 64*n+4*c))
			put32(tile, 288+1024*n+512+64*c+4*r, get32(blk, 64*n+32+4*c))
			put32(tile, 2336+512*n+64*c+4*r, get32(blk, 128+32*n+4*c))
		}
	}
}

// unpackRow writes row i of packed m in its type's own block layout into
// dst (m.rowBytes long).
func unpackRow(dst []byte, m Matrix, i int) {
	nb := m.Cols / packCols(m.Type)
	tb := packTileBytes(m.Type)
	g, r := i/packRows, i%packRows
	for b := range nb {
		tile := m.Data[(g*nb+b)*tb:][:tb]
		switch m.Type {
		case gguf.TypeQ8_0:
			blk := dst[34*b:][:34]
			binary.LittleEndian.PutUint16(blk, binary.LittleEndian.Uint16(tile[2*r:]))
			for c := range 8 {
				for j := range 4 {
					blk[2+4*c+j] = tile[32+64*c+4*r+j] ^ 0x80
				}
			}
		case gguf.TypeQ4_0:
			blk := dst[18*b:][:18]
			copy(blk[:2], tile[2*r:])
			for c := range 4 {
				copy(blk[2+4*c:][:4], tile[32+64*c+4*r:])
			}
		case gguf.TypeQ4_K:
			blk := dst[144*b:][:144]
			copy(blk[0:2], tile[2*r:])
			copy(blk[2:4], tile[32+2*r:])
			// The 6-bit scales and mins back into ggml's 12 bytes.
			sc := blk[4:16]
			for j := range 8 {
				s, mn := tile[64+16*j+r], tile[192+16*j+r]
				if j < 4 {
					sc[j], sc[j+4] = s, mn
				} else {
					sc[j+4] = s&0xf | mn<<4
					sc[j-4] |= s >> 4 << 6
					sc[j] |= mn >> 4 << 6
				}
			}
			for jj := range 4 {
				for c := range 8 {
					copy(blk[16+32*jj+4*c:][:4], tile[320+512*jj+64*c+4*r:])
				}
			}
		case gguf.TypeQ6_K:
			blk := dst[210*b:][:210]
			copy(blk[208:210], tile[2*r:])
			for j := range 16 {
				blk[192+j] = tile[32+16*j+r]
			}
			for n := range 2 {
				for c := range 8 {
					for p := range 2 {
						copy(blk[64*n+32*p+4*c:][:4], tile[288+1024*n+512*p+64*c+4*r:])
					}
					copy(blk[128+32*n+4*c:][:4], tile[2336+512*n+64*c+4*r:])
				}
			}
		}
	}
}
