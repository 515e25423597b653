package gguf

import "fmt"

// Type is a ggml tensor encoding as stored in a GGUF tensor directory. The
// numbers are ggml's enum ggml_type; only the ones the engine reads have
// names here, and any other value is reported by String as "type(N)".
type Type uint32

// The tensor types common GGUF releases ship (issue 7, item 1). The numbering
// is ggml's and must never change.
const (
	TypeF32  Type = 0
	TypeF16  Type = 1
	TypeQ4_0 Type = 2
	TypeQ8_0 Type = 8
	TypeQ4_K Type = 12
	TypeQ6_K Type = 14
	TypeBF16 Type = 30
)

// Types lists every Type this package knows the geometry of, in ggml order.
func Types() []Type {
	return []Type{TypeF32, TypeF16, TypeQ4_0, TypeQ8_0, TypeQ4_K, TypeQ6_K, TypeBF16}
}

// String returns ggml's name for t ("F32", "Q4_K", …).
func (t Type) String() string {
	switch t {
	case TypeF32:
		return "F32"
	case TypeF16:
		return "F16"
	case TypeQ4_0:
		return "Q4_0"
	case TypeQ8_0:
		return "Q8_0"
	case TypeQ4_K:
		return "Q4_K"
	case TypeQ6_K:
		return "Q6_K"
	case TypeBF16:
		return "BF16"
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize returns how many values one block of t encodes, or 0 if t is
// unknown. A row's length must be a multiple of it.
func (t Type) BlockSize() int {
	switch t {
	case TypeF32, TypeF16, TypeBF16:
		return 1
	case TypeQ4_0, TypeQ8_0:
		return 32
	case TypeQ4_K, TypeQ6_K:
		return 256
	}
	return 0
}

// BlockBytes returns the size in bytes of one block of t, or 0 if t is
// unknown. The layouts are ggml's (ggml-common.h): Q8_0 is an fp16 scale and
// 32 int8; Q4_0 an fp16 scale and 16 bytes of nibbles; Q4_K two fp16 scales,
// 12 bytes of packed 6-bit sub-block scales and 128 bytes of nibbles; Q6_K
// 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales and an fp16
// scale.
func (t Type) BlockBytes() int {
	switch t {
	case TypeF32:
		return 4
	case TypeF16, TypeBF16:
		return 2
	case TypeQ4_0:
		return 18
	case TypeQ8_0:
		return 34
	case TypeQ4_K:
		return 144
	case TypeQ6_K:
		return 210
	}
	return 0
}

// RowBytes returns the size in bytes of n values of type t. It fails if t is
// unknown or n is not a whole number of blocks.
func (t Type) RowBytes(n int) (int, error) {
	bs := t.BlockSize()
	if bs == 0 {
		return 0, fmt.Errorf("gguf: unsupported tensor type %v", t)
	}
	if n < 0 || n%bs != 0 {
		return 0, fmt.Errorf("gguf: %d values are not a whole number of %v blocks of %d", n, t, bs)
	}
	return n / bs * t.BlockBytes(), nil
}
