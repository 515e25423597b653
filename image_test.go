package converse

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// pngImage encodes a gray PNG of w×h pixels; a uniform gray image
// compresses to a few bytes even at 8001 px.
func pngImage(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatalf("encode png: %v", err)
	}
	return b.Bytes()
}

func jpegImage(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatalf("encode jpeg: %v", err)
	}
	return b.Bytes()
}

func gifImage(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	m := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	if err := gif.Encode(&b, m, nil); err != nil {
		t.Fatalf("encode gif: %v", err)
	}
	return b.Bytes()
}

// webpImage hand-builds a lossless WebP (RIFF "WEBP" with one VP8L chunk)
// holding only the VP8L header: signature 0x2f, then 14 bits of width-1 and
// 14 bits of height-1, least significant bit first. That is all
// webp.DecodeConfig reads; the standard library has no WebP encoder.
func webpImage(w, h int) []byte {
	payload := []byte{0x2f, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(payload[1:], uint32(w-1)|uint32(h-1)<<14)
	var b bytes.Buffer
	b.WriteString("RIFF")
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(4+8+len(payload)+1)))
	b.WriteString("WEBPVP8L")
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(payload))))
	b.Write(payload)
	b.WriteByte(0) // chunks are padded to an even length
	return b.Bytes()
}

func TestImageSize(t *testing.T) {
	tests := []struct {
		name         string
		format       string
		data         []byte
		wantW, wantH int
		wantErr      bool
	}{
		{name: "png dimensions are read", format: "png", data: pngImage(t, 3, 5), wantW: 3, wantH: 5},
		{name: "jpeg dimensions are read", format: "jpeg", data: jpegImage(t, 7, 2), wantW: 7, wantH: 2},
		{name: "gif dimensions are read", format: "gif", data: gifImage(t, 4, 9), wantW: 4, wantH: 9},
		{name: "webp dimensions are read", format: "webp", data: webpImage(8001, 3), wantW: 8001, wantH: 3},
		{name: "wide png is read from its header", format: "png", data: pngImage(t, 8001, 1), wantW: 8001, wantH: 1},
		{name: "png bytes declared as jpeg are rejected", format: "jpeg", data: pngImage(t, 2, 2), wantErr: true},
		{name: "jpeg bytes declared as png are rejected", format: "png", data: jpegImage(t, 2, 2), wantErr: true},
		{name: "gif bytes declared as webp are rejected", format: "webp", data: gifImage(t, 2, 2), wantErr: true},
		{name: "text is not an image", format: "png", data: []byte("hello"), wantErr: true},
		{name: "truncated png header is rejected", format: "png", data: pngImage(t, 2, 2)[:20], wantErr: true},
		{name: "unknown format is rejected", format: "bmp", data: pngImage(t, 2, 2), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h, err := imageSize(tt.format, tt.data)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("imageSize(%q) = %dx%d, want an error", tt.format, w, h)
				}
				return
			}
			if err != nil {
				t.Fatalf("imageSize(%q): %v", tt.format, err)
			}
			if w != tt.wantW || h != tt.wantH {
				t.Errorf("imageSize(%q) = %dx%d, want %dx%d", tt.format, w, h, tt.wantW, tt.wantH)
			}
		})
	}
}
