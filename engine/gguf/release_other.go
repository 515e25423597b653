//go:build !linux

package gguf

// dontNeed does nothing outside Linux (the syscall package has no madvise
// on every Unix).
func dontNeed([]byte) {}
