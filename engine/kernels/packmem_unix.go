//go:build unix

package kernels

import (
	"runtime"
	"syscall"
)

// packedMem owns the memory of a packed matrix: an anonymous mapping,
// outside the Go heap, unmapped once no Matrix refers to it any more. A
// gigabyte of packed weights on the heap would let the garbage collector
// wait for another gigabyte of garbage before its next cycle (its goal is
// twice the live heap), so the process could grow to twice the model.
type packedMem struct{ b []byte }

// allocPacked returns n bytes of zeroed memory for packed weights and the
// owner that must stay reachable while they are used.
func allocPacked(n int) ([]byte, *packedMem) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		b = make([]byte, n) // on the heap after all
		return b, &packedMem{b: b}
	}
	m := &packedMem{b: b}
	runtime.AddCleanup(m, func(b []byte) { syscall.Munmap(b) }, b)
	return b, m
}
