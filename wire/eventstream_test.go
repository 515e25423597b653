package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
)

func TestFrameWriterMatchesRealFrames(t *testing.T) {
	tests := []struct {
		name  string
		write func(*frameWriter) error
		hex   string
	}{
		{
			// wire-protocol.md §4.4: frame 2 of a real us-east-1 ConverseStream
			// response (170 bytes, CRCs verified), "p" padding included.
			name: "contentBlockDelta event from a real capture",
			write: func(f *frameWriter) error {
				return f.WriteEvent("contentBlockDelta", json.RawMessage(`{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefghijkl"}`))
			},
			hex: "000000aa00000057aaba9c090b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874223a2248656c6c6f227d2c2270223a226162636465666768696a6b6c227de19dc8b1",
		},
		{
			// §4.4: the 165-byte validationException frame all SDKs accept.
			name: "validationException frame",
			write: func(f *frameWriter) error {
				return f.WriteException("validationException", errorBody{Message: "Input is too long for requested model."})
			},
			hex: "000000a500000061e7509e410f3a657863657074696f6e2d7479706507001376616c69646174696f6e457863657074696f6e0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d74797065070009657863657074696f6e7b226d657373616765223a22496e70757420697320746f6f206c6f6e6720666f7220726571756573746564206d6f64656c2e227d8341ef3d",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			flushes := 0
			f := newFrameWriter(&out, func() error { flushes++; return nil })
			// Write twice: the second frame must not inherit state from the first.
			for range 2 {
				out.Reset()
				if err := tt.write(f); err != nil {
					t.Fatal(err)
				}
				if got := hex.EncodeToString(out.Bytes()); got != tt.hex {
					t.Fatalf("frame\n got %s\nwant %s", got, tt.hex)
				}
			}
			if flushes != 2 {
				t.Errorf("flushed %d times for 2 frames", flushes)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestFrameWriterErrors(t *testing.T) {
	t.Run("failed write is reported as errWrite", func(t *testing.T) {
		f := newFrameWriter(failingWriter{}, nil)
		if err := f.WriteEvent("messageStart", map[string]string{"role": "assistant"}); !errors.Is(err, errWrite) {
			t.Fatalf("err = %v, want errWrite", err)
		}
	})
	t.Run("failed flush is reported as errWrite", func(t *testing.T) {
		f := newFrameWriter(&bytes.Buffer{}, func() error { return errors.New("stream closed") })
		if err := f.WriteEvent("messageStart", map[string]string{"role": "assistant"}); !errors.Is(err, errWrite) {
			t.Fatalf("err = %v, want errWrite", err)
		}
	})
	t.Run("unencodable payload writes nothing and is no write error", func(t *testing.T) {
		var out bytes.Buffer
		f := newFrameWriter(&out, nil)
		err := f.WriteEvent("messageStart", json.RawMessage(`{broken`))
		if err == nil || errors.Is(err, errWrite) {
			t.Fatalf("err = %v, want an encode error", err)
		}
		if out.Len() != 0 {
			t.Fatalf("wrote %d bytes", out.Len())
		}
	})
}
