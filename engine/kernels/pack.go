package kernels

import (
	"encoding/binary"
	"runtime"
	"sync"

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

// actX4 is one block of four activation vectors, interleaved for the
// batched packed kernels (see vnni_amd64.s): their Q8_0 values, scales,
// and integer-sum starts for Q8_0 (−128·Σq) and Q4_0 (−8·Σq) weights.
type actX4 struct {
	qs     [4][32]int8
	d      [4]float32
	c8, c4 [4]int32
}

// Pack returns m with its weights copied into the layout of the fastest
// matrix-vector kernel this build has on this CPU, when that kernel needs a
// layout of its own (Q8_0 and Q4_0 with AVX-512 VNNI, in a GOEXPERIMENT=simd
// build); otherwise it returns m itself. A packed Matrix gives the same
// results through MatVec, MatMuls and DequantizeRow as m (its products are
// summed in another order, so they may differ from m's in the last bits),
// and no longer refers to m.Data. Packing reads every weight once, spread
// over GOMAXPROCS goroutines.
func Pack(m Matrix) Matrix {
	if m.packed || !canPack(m.Type) || m.Rows == 0 || m.Cols == 0 || m.Rows%packRows != 0 || m.Cols%32 != 0 {
		return m
	}
	out := make([]byte, len(m.Data))
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
	m.Data, m.packed = out, true
	return m
}

// Packed reports whether m is in a kernel's own layout (see Pack).
func (m Matrix) Packed() bool { return m.packed }

// packTileBytes is the size of one packed tile of t (16 rows × 32 columns).
func packTileBytes(t gguf.Type) int {
	if t == gguf.TypeQ8_0 {
		return packRows * 34
	}
	return packRows * 18
}

// packGroup writes the tiles of rows 16g..16g+15 of m into out.
func packGroup(out []byte, m Matrix, g int) {
	nb := m.Cols / 32
	tb := packTileBytes(m.Type)
	src := m.Data[g*packRows*m.rowBytes : (g+1)*packRows*m.rowBytes]
	dst := out[g*nb*tb : (g+1)*nb*tb]
	le := binary.LittleEndian
	for b := range nb {
		tile := dst[b*tb : (b+1)*tb]
		for r := range packRows {
			switch m.Type {
			case gguf.TypeQ8_0:
				blk := src[r*m.rowBytes+34*b:][:34]
				copy(tile[2*r:2*r+2], blk[:2])
				for c := range 8 {
					le.PutUint32(tile[32+64*c+4*r:], le.Uint32(blk[2+4*c:])^0x80808080)
				}
			case gguf.TypeQ4_0:
				blk := src[r*m.rowBytes+18*b:][:18]
				copy(tile[2*r:2*r+2], blk[:2])
				for c := range 4 {
					le.PutUint32(tile[32+64*c+4*r:], le.Uint32(blk[2+4*c:]))
				}
			}
		}
	}
}

// unpackRow writes row i of packed m in its type's own block layout into
// dst (m.rowBytes long).
func unpackRow(dst []byte, m Matrix, i int) {
	nb := m.Cols / 32
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
		}
	}
}
