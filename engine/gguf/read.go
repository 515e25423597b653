package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"unsafe"
)

// Magic is the four bytes every GGUF file starts with.
const Magic = "GGUF"

// DefaultAlignment is the tensor-data alignment when the file has no
// general.alignment key (gguf.md, "File Structure").
const DefaultAlignment = 32

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("gguf: malformed file")

// Value types of metadata entries (gguf.md, gguf_metadata_value_type).
const (
	valUint8   = 0
	valInt8    = 1
	valUint16  = 2
	valInt16   = 3
	valUint32  = 4
	valInt32   = 5
	valFloat32 = 6
	valBool    = 7
	valString  = 8
	valArray   = 9
	valUint64  = 10
	valInt64   = 11
	valFloat64 = 12
)

// KV is one metadata entry. Value holds the Go type matching the GGUF value
// type: uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32,
// float64, bool or string, or for an array a slice of one of those ([]string,
// []float32, []int32, …; []any for an array of arrays).
type KV struct {
	Key   string
	Value any
}

// Tensor is one entry of the tensor directory. Dims are in ggml order: Dims[0]
// is the number of values in a row (contiguous), Dims[1] the number of rows.
// Data is the tensor's bytes inside the file or mapping, never copied; it is
// valid until the File is closed and must not be written to.
type Tensor struct {
	Name   string
	Type   Type
	Dims   []uint64
	Offset uint64 // from the start of the data section
	Data   []byte
}

// Elements returns the number of values in t.
func (t Tensor) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is a parsed GGUF file. Its fields must not be modified; Tensors' Data
// alias the mapping made by Open (or the slice given to Parse).
type File struct {
	Version   uint32
	KV        []KV
	Tensors   []Tensor
	Alignment uint64

	kv      map[string]int
	tensors map[string]int
	mapping []byte // non-nil when Open mapped the file
}

// Open memory-maps the file at path read-only and parses it. The caller must
// Close the File when no tensor data is in use any more.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: open: %w", err)
	}
	defer fh.Close() // the mapping outlives the descriptor
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: stat: %w", err)
	}
	size := st.Size()
	if size <= 0 || size != int64(int(size)) {
		return nil, fmt.Errorf("%w: %s has size %d", ErrFormat, path, size)
	}
	data, err := syscall.Mmap(int(fh.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("gguf: mmap %s: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		syscall.Munmap(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.mapping = data
	return f, nil
}

// Close unmaps a File made by Open; afterwards no Tensor's Data may be read.
// It does nothing for a File made by Parse.
func (f *File) Close() error {
	if f.mapping == nil {
		return nil
	}
	m := f.mapping
	f.mapping = nil
	for i := range f.Tensors {
		f.Tensors[i].Data = nil
	}
	if err := syscall.Munmap(m); err != nil {
		return fmt.Errorf("gguf: munmap: %w", err)
	}
	return nil
}

// Release tells the operating system that this process no longer needs
// data, a part of a mapping made by Open (a tensor's Data, say, once its
// weights were copied elsewhere), in memory: its pages leave the process's
// resident set but stay in the page cache, and reading data again is still
// valid (the pages come back). Only whole pages inside data are released.
// It does nothing for a File made by Parse or for memory outside the
// mapping, and outside Linux.
func (f *File) Release(data []byte) {
	if f.mapping == nil || len(data) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.mapping)))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	if start < base || start+uintptr(len(data)) > base+uintptr(len(f.mapping)) {
		return
	}
	page := uintptr(os.Getpagesize())
	lo := (start - base + page - 1) &^ (page - 1)
	hi := (start - base + uintptr(len(data))) &^ (page - 1)
	if lo < hi {
		dontNeed(f.mapping[lo:hi])
	}
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (Tensor, bool) {
	i, ok := f.tensors[name]
	if !ok {
		return Tensor{}, false
	}
	return f.Tensors[i], true
}

// Value returns the metadata value stored under key (see KV for its type).
func (f *File) Value(key string) (any, bool) {
	i, ok := f.kv[key]
	if !ok {
		return nil, false
	}
	return f.KV[i].Value, true
}

// String returns the string stored under key; ok is false if it is absent or
// not a string.
func (f *File) String(key string) (s string, ok bool) {
	v, _ := f.Value(key)
	s, ok = v.(string)
	return s, ok
}

// Uint returns the non-negative integer stored under key, whatever its
// integer width; ok is false if it is absent, not an integer or negative.
func (f *File) Uint(key string) (uint64, bool) {
	v, _ := f.Value(key)
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Float returns the number stored under key as a float64, accepting floats
// and integers; ok is false if it is absent or not a number.
func (f *File) Float(key string) (float64, bool) {
	v, _ := f.Value(key)
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	if u, ok := f.Uint(key); ok {
		return float64(u), true
	}
	return 0, false
}

// Strings returns the string array stored under key.
func (f *File) Strings(key string) ([]string, bool) {
	v, _ := f.Value(key)
	s, ok := v.([]string)
	return s, ok
}

// Parse parses a whole GGUF file held in data (versions 2 and 3). Tensors'
// Data alias data. It checks that every tensor lies inside data and that its
// size matches its type and dimensions, so a caller may index the bytes
// without further checks.
func Parse(data []byte) (*File, error) {
	r := &reader{buf: data}
	if len(data) < 4 || string(data[:4]) != Magic {
		return nil, fmt.Errorf("%w: no GGUF magic", ErrFormat)
	}
	r.off = 4
	f := &File{Version: r.u32(), kv: map[string]int{}, tensors: map[string]int{}}
	if r.err == nil && f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("%w: version %d (want 2 or 3)", ErrFormat, f.Version)
	}
	nTensors, nKV := r.u64(), r.u64()
	// Every entry takes at least 8 bytes, which bounds allocation by the
	// input size whatever the counts claim (fuzzing found this).
	if r.err == nil && (nTensors > uint64(len(data))/8 || nKV > uint64(len(data))/8) {
		return nil, fmt.Errorf("%w: %d tensors and %d metadata entries cannot fit in %d bytes", ErrFormat, nTensors, nKV, len(data))
	}
	for i := uint64(0); i < nKV && r.err == nil; i++ {
		key := r.str()
		v := r.value(r.u32(), 0)
		if r.err != nil {
			break
		}
		if _, dup := f.kv[key]; dup {
			return nil, fmt.Errorf("%w: metadata key %q repeated", ErrFormat, key)
		}
		f.kv[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: v})
	}
	for i := uint64(0); i < nTensors && r.err == nil; i++ {
		t := Tensor{Name: r.str()}
		nd := r.u32()
		if nd > 4 {
			r.fail("tensor %q has %d dimensions", t.Name, nd)
			break
		}
		for range nd {
			t.Dims = append(t.Dims, r.u64())
		}
		t.Type = Type(r.u32())
		t.Offset = r.u64()
		if r.err != nil {
			break
		}
		if _, dup := f.tensors[t.Name]; dup {
			return nil, fmt.Errorf("%w: tensor %q repeated", ErrFormat, t.Name)
		}
		f.tensors[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	f.Alignment = DefaultAlignment
	if a, ok := f.Uint("general.alignment"); ok {
		if a == 0 || a&(a-1) != 0 || a > 1<<20 {
			return nil, fmt.Errorf("%w: general.alignment %d is not a power of two", ErrFormat, a)
		}
		f.Alignment = a
	}
	start := alignUp(uint64(r.off), f.Alignment)
	for i := range f.Tensors {
		if err := f.locate(&f.Tensors[i], data, start); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// locate checks t's geometry and points t.Data into data.
func (f *File) locate(t *Tensor, data []byte, start uint64) error {
	if len(t.Dims) == 0 {
		return fmt.Errorf("%w: tensor %q has no dimensions", ErrFormat, t.Name)
	}
	bs := uint64(t.Type.BlockSize())
	if bs == 0 {
		return fmt.Errorf("%w: tensor %q has unsupported type %v", ErrFormat, t.Name, t.Type)
	}
	if t.Dims[0]%bs != 0 {
		return fmt.Errorf("%w: tensor %q rows of %d values are not whole %v blocks", ErrFormat, t.Name, t.Dims[0], t.Type)
	}
	n := uint64(1)
	for _, d := range t.Dims {
		if d == 0 || n > math.MaxUint64/d {
			return fmt.Errorf("%w: tensor %q has dimensions %v", ErrFormat, t.Name, t.Dims)
		}
		n *= d
	}
	if n/bs > uint64(len(data)) {
		return fmt.Errorf("%w: tensor %q is larger than the file", ErrFormat, t.Name)
	}
	size := n / bs * uint64(t.Type.BlockBytes())
	if t.Offset%f.Alignment != 0 {
		return fmt.Errorf("%w: tensor %q offset %d is not aligned to %d", ErrFormat, t.Name, t.Offset, f.Alignment)
	}
	lo := start + t.Offset
	if lo < start || lo > uint64(len(data)) || size > uint64(len(data))-lo {
		return fmt.Errorf("%w: tensor %q (%d bytes at %d) lies outside the file of %d bytes", ErrFormat, t.Name, size, lo, len(data))
	}
	t.Data = data[lo : lo+size : lo+size]
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// reader decodes little-endian GGUF primitives; the first error sticks and
// later reads return zero values.
type reader struct {
	buf []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
	}
}

func (r *reader) take(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)-r.off) {
		r.fail("truncated at byte %d (need %d more)", r.off, n)
		return nil
	}
	b := r.buf[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

func (r *reader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) str() string { return string(r.take(r.u64())) }

// value reads one metadata value of type vt; depth bounds nested arrays.
func (r *reader) value(vt uint32, depth int) any {
	switch vt {
	case valUint8:
		return r.u8()
	case valInt8:
		return int8(r.u8())
	case valUint16:
		return r.u16()
	case valInt16:
		return int16(r.u16())
	case valUint32:
		return r.u32()
	case valInt32:
		return int32(r.u32())
	case valFloat32:
		return math.Float32frombits(r.u32())
	case valBool:
		b := r.u8()
		if b > 1 {
			r.fail("bool value %d", b)
		}
		return b == 1
	case valString:
		return r.str()
	case valUint64:
		return r.u64()
	case valInt64:
		return int64(r.u64())
	case valFloat64:
		return math.Float64frombits(r.u64())
	case valArray:
		if depth > 2 {
			r.fail("arrays nested too deep")
			return nil
		}
		return r.array(depth)
	}
	r.fail("unknown metadata value type %d", vt)
	return nil
}

func (r *reader) array(depth int) any {
	et, n := r.u32(), r.u64()
	if r.err != nil {
		return nil
	}
	// Each element takes at least one byte, so n is bounded by what is left.
	if n > uint64(len(r.buf)-r.off) {
		r.fail("array of %d elements is longer than the file", n)
		return nil
	}
	switch et {
	case valString:
		return readArray(r, n, r.str)
	case valFloat32:
		return readArray(r, n, func() float32 { return math.Float32frombits(r.u32()) })
	case valInt32:
		return readArray(r, n, func() int32 { return int32(r.u32()) })
	case valUint32:
		return readArray(r, n, r.u32)
	case valUint8:
		return readArray(r, n, r.u8)
	case valInt8:
		return readArray(r, n, func() int8 { return int8(r.u8()) })
	case valUint16:
		return readArray(r, n, r.u16)
	case valInt16:
		return readArray(r, n, func() int16 { return int16(r.u16()) })
	case valUint64:
		return readArray(r, n, r.u64)
	case valInt64:
		return readArray(r, n, func() int64 { return int64(r.u64()) })
	case valFloat64:
		return readArray(r, n, func() float64 { return math.Float64frombits(r.u64()) })
	case valBool:
		return readArray(r, n, func() bool { return r.u8() != 0 })
	case valArray:
		return readArray(r, n, func() any { return r.array(depth + 1) })
	}
	r.fail("unknown array element type %d", et)
	return nil
}

func readArray[T any](r *reader, n uint64, next func() T) []T {
	out := make([]T, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		out = append(out, next())
	}
	return out
}
