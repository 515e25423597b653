//go:build !unix

package kernels

// packedMem owns the memory of a packed matrix (see packmem_unix.go).
type packedMem struct{ b []byte }

// allocPacked returns n bytes of zeroed memory for packed weights.
func allocPacked(n int) ([]byte, *packedMem) {
	b := make([]byte, n)
	return b, &packedMem{b: b}
}
