package gguf_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/converse-project/converse/engine/gguf"
)

// sample returns metadata of every value type and one tensor of every type.
func sample() ([]gguf.KV, []gguf.TensorData) {
	meta := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "u8", Value: uint8(7)},
		{Key: "i8", Value: int8(-7)},
		{Key: "u16", Value: uint16(700)},
		{Key: "i16", Value: int16(-700)},
		{Key: "u32", Value: uint32(70000)},
		{Key: "i32", Value: int32(-70000)},
		{Key: "u64", Value: uint64(1 << 40)},
		{Key: "i64", Value: int64(-1 << 40)},
		{Key: "f32", Value: float32(0.5)},
		{Key: "f64", Value: 0.25},
		{Key: "yes", Value: true},
		{Key: "tokens", Value: []string{"<s>", "</s>", "▁hi"}},
		{Key: "scores", Value: []float32{0, -1, -2.5}},
		{Key: "types", Value: []int32{3, 3, 1}},
		{Key: "flags", Value: []bool{true, false}},
	}
	var tensors []gguf.TensorData
	for i, typ := range gguf.Types() {
		cols := 256
		n, _ := typ.RowBytes(cols)
		data := make([]byte, 3*n)
		for j := range data {
			data[j] = byte(i*31 + j)
		}
		tensors = append(tensors, gguf.TensorData{Name: "t." + typ.String(), Type: typ, Dims: []uint64{uint64(cols), 3}, Data: data})
	}
	return meta, tensors
}

func TestWriteThenOpenRoundTrips(t *testing.T) {
	for _, align := range []uint32{0, 64} {
		t.Run(map[uint32]string{0: "default alignment", 64: "alignment 64"}[align], func(t *testing.T) {
			meta, tensors := sample()
			if align != 0 {
				meta = append(meta, gguf.KV{Key: "general.alignment", Value: align})
			}
			path := filepath.Join(t.TempDir(), "m.gguf")
			var buf bytes.Buffer
			if err := gguf.Write(&buf, meta, tensors); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Version != 3 || len(f.KV) != len(meta) || len(f.Tensors) != len(tensors) {
				t.Fatalf("version %d, %d kv, %d tensors", f.Version, len(f.KV), len(f.Tensors))
			}
			for _, kv := range meta {
				got, ok := f.Value(kv.Key)
				if !ok || !reflect.DeepEqual(got, kv.Value) {
					t.Errorf("%s = %#v, want %#v", kv.Key, got, kv.Value)
				}
			}
			wantAlign := uint64(gguf.DefaultAlignment)
			if align != 0 {
				wantAlign = uint64(align)
			}
			for _, want := range tensors {
				got, ok := f.Tensor(want.Name)
				if !ok {
					t.Fatalf("tensor %s missing", want.Name)
				}
				if got.Type != want.Type || !reflect.DeepEqual(got.Dims, want.Dims) || !bytes.Equal(got.Data, want.Data) {
					t.Errorf("tensor %s differs", want.Name)
				}
				if got.Offset%wantAlign != 0 {
					t.Errorf("tensor %s at offset %d, not aligned to %d", want.Name, got.Offset, wantAlign)
				}
			}
			if s, ok := f.String("general.architecture"); !ok || s != "llama" {
				t.Errorf("String = %q, %v", s, ok)
			}
			if u, ok := f.Uint("u16"); !ok || u != 700 {
				t.Errorf("Uint(u16) = %d, %v", u, ok)
			}
			if _, ok := f.Uint("i8"); ok {
				t.Error("Uint accepted a negative value")
			}
			if x, ok := f.Float("f32"); !ok || x != 0.5 {
				t.Errorf("Float(f32) = %v, %v", x, ok)
			}
			if x, ok := f.Float("u32"); !ok || x != 70000 {
				t.Errorf("Float(u32) = %v, %v", x, ok)
			}
			if s, ok := f.Strings("tokens"); !ok || len(s) != 3 {
				t.Errorf("Strings = %v, %v", s, ok)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseRejectsMalformedFiles(t *testing.T) {
	meta, tensors := sample()
	var buf bytes.Buffer
	if err := gguf.Write(&buf, meta, tensors); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	patch := func(off int, b ...byte) []byte {
		c := bytes.Clone(good)
		copy(c[off:], b)
		return c
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"empty input", nil},
		{"wrong magic", patch(0, 'G', 'G', 'M', 'L')},
		{"unsupported version", patch(4, 9)},
		{"absurd tensor count", patch(8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"absurd metadata count", patch(16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"truncated metadata", good[:40]},
		{"truncated tensor data", good[:len(good)-1]},
		{"unknown value type", patch(24+8+len("general.architecture"), 99)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := gguf.Parse(c.data); !errors.Is(err, gguf.ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
}

func TestWriteRejectsWrongTensorSize(t *testing.T) {
	err := gguf.Write(&bytes.Buffer{}, nil, []gguf.TensorData{{Name: "x", Type: gguf.TypeQ8_0, Dims: []uint64{32}, Data: make([]byte, 33)}})
	if err == nil {
		t.Fatal("a 33-byte Q8_0 block was accepted")
	}
}

func TestTypeGeometry(t *testing.T) {
	cases := []struct {
		typ       gguf.Type
		n, want   int
		wantError bool
	}{
		{gguf.TypeF32, 3, 12, false},
		{gguf.TypeBF16, 3, 6, false},
		{gguf.TypeQ8_0, 64, 68, false},
		{gguf.TypeQ4_0, 32, 18, false},
		{gguf.TypeQ4_K, 512, 288, false},
		{gguf.TypeQ6_K, 256, 210, false},
		{gguf.TypeQ4_K, 64, 0, true},
		{gguf.Type(99), 32, 0, true},
	}
	for _, c := range cases {
		got, err := c.typ.RowBytes(c.n)
		if got != c.want || (err != nil) != c.wantError {
			t.Errorf("%v.RowBytes(%d) = %d, %v", c.typ, c.n, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	meta, tensors := sample()
	var buf bytes.Buffer
	if err := gguf.Write(&buf, meta, tensors); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:200])
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := gguf.Parse(data)
		if err != nil {
			return
		}
		for _, tn := range g.Tensors {
			n, err := tn.Type.RowBytes(int(tn.Elements()))
			if err != nil || n != len(tn.Data) {
				t.Fatalf("tensor %s: %d bytes, want %d (%v)", tn.Name, len(tn.Data), n, err)
			}
		}
	})
}
