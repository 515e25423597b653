package gguf

import "syscall"

// dontNeed drops b, whole pages of a shared read-only file mapping, from
// the resident set (the page cache keeps them).
func dontNeed(b []byte) { syscall.Madvise(b, syscall.MADV_DONTNEED) }
