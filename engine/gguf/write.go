package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// TensorData is one tensor to Write: Data must hold exactly the bytes of a
// tensor of Type with Dims (ggml order, Dims[0] contiguous).
type TensorData struct {
	Name string
	Type Type
	Dims []uint64
	Data []byte
}

// Write writes a GGUF version 3 file holding meta (in order) and tensors (in
// order, each aligned to general.alignment from meta, else DefaultAlignment).
// Metadata values must have one of the Go types listed at KV, or []int as a
// convenience for an int32 array.
func Write(w io.Writer, meta []KV, tensors []TensorData) error {
	align := uint64(DefaultAlignment)
	for _, kv := range meta {
		if kv.Key == "general.alignment" {
			a, ok := kv.Value.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("gguf: write: general.alignment must be a uint32 power of two, have %v", kv.Value)
			}
			align = uint64(a)
		}
	}
	bw := bufio.NewWriter(w)
	e := &encoder{w: bw}
	e.bytes([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(meta)))
	for _, kv := range meta {
		e.str(kv.Key)
		if err := e.value(kv.Value, true); err != nil {
			return fmt.Errorf("gguf: write %q: %w", kv.Key, err)
		}
	}
	var off uint64
	offsets := make([]uint64, len(tensors))
	for i, t := range tensors {
		n := uint64(1)
		for _, d := range t.Dims {
			n *= d
		}
		want, err := t.Type.RowBytes(int(n))
		if err != nil || len(t.Dims) == 0 || uint64(want) != uint64(len(t.Data)) {
			return fmt.Errorf("gguf: write tensor %q: %d bytes for %v %v (%v)", t.Name, len(t.Data), t.Type, t.Dims, err)
		}
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(off)
		offsets[i] = off
		off = alignUp(off+uint64(len(t.Data)), align)
	}
	e.pad(align)
	base := e.n
	for i, t := range tensors {
		e.bytes(make([]byte, base+offsets[i]-e.n))
		e.bytes(t.Data)
	}
	if e.err != nil {
		return fmt.Errorf("gguf: write: %w", e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	return nil
}

type encoder struct {
	w   io.Writer
	n   uint64
	err error
}

func (e *encoder) bytes(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += uint64(n)
	e.err = err
}

func (e *encoder) pad(align uint64) { e.bytes(make([]byte, alignUp(e.n, align)-e.n)) }

func (e *encoder) u8(v uint8)   { e.bytes([]byte{v}) }
func (e *encoder) u16(v uint16) { e.bytes(binary.LittleEndian.AppendUint16(nil, v)) }
func (e *encoder) u32(v uint32) { e.bytes(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *encoder) u64(v uint64) { e.bytes(binary.LittleEndian.AppendUint64(nil, v)) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.bytes([]byte(s)) }

// value writes v's type tag (when tagged) and its payload.
func (e *encoder) value(v any, tagged bool) error {
	tag := func(t uint32) {
		if tagged {
			e.u32(t)
		}
	}
	switch x := v.(type) {
	case uint8:
		tag(valUint8)
		e.u8(x)
	case int8:
		tag(valInt8)
		e.u8(uint8(x))
	case uint16:
		tag(valUint16)
		e.u16(x)
	case int16:
		tag(valInt16)
		e.u16(uint16(x))
	case uint32:
		tag(valUint32)
		e.u32(x)
	case int32:
		tag(valInt32)
		e.u32(uint32(x))
	case uint64:
		tag(valUint64)
		e.u64(x)
	case int64:
		tag(valInt64)
		e.u64(uint64(x))
	case float32:
		tag(valFloat32)
		e.u32(math.Float32bits(x))
	case float64:
		tag(valFloat64)
		e.u64(math.Float64bits(x))
	case bool:
		tag(valBool)
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		tag(valString)
		e.str(x)
	case []int:
		a := make([]int32, len(x))
		for i, n := range x {
			a[i] = int32(n)
		}
		return e.value(a, tagged)
	case []string:
		return writeArray(e, tagged, valString, x)
	case []float32:
		return writeArray(e, tagged, valFloat32, x)
	case []float64:
		return writeArray(e, tagged, valFloat64, x)
	case []int32:
		return writeArray(e, tagged, valInt32, x)
	case []uint32:
		return writeArray(e, tagged, valUint32, x)
	case []int64:
		return writeArray(e, tagged, valInt64, x)
	case []uint64:
		return writeArray(e, tagged, valUint64, x)
	case []uint8:
		return writeArray(e, tagged, valUint8, x)
	case []int8:
		return writeArray(e, tagged, valInt8, x)
	case []uint16:
		return writeArray(e, tagged, valUint16, x)
	case []int16:
		return writeArray(e, tagged, valInt16, x)
	case []bool:
		return writeArray(e, tagged, valBool, x)
	default:
		return fmt.Errorf("unsupported metadata value type %T", v)
	}
	return nil
}

func writeArray[T any](e *encoder, tagged bool, et uint32, xs []T) error {
	if tagged {
		e.u32(valArray)
	}
	e.u32(et)
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		if err := e.value(x, false); err != nil {
			return err
		}
	}
	return nil
}
