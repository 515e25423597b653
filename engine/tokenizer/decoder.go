package tokenizer

import "unicode/utf8"

// Decoder turns a stream of generated token ids into text without ever splitting a UTF-8
// character: bytes that begin a character whose remaining bytes have not arrived yet are held
// back until they do. Unlike Decode it strips no leading space, because generated tokens
// continue a prompt. The zero Decoder is not usable; build one with NewDecoder. A Decoder is
// not safe for concurrent use; use one per stream.
type Decoder struct {
	t *Tokenizer
	// Special renders control and unknown tokens as their text; otherwise they render as
	// nothing, as llama.cpp's server does by default.
	Special bool
	pending []byte
}

// NewDecoder returns a Decoder for t's tokens.
func (t *Tokenizer) NewDecoder() *Decoder { return &Decoder{t: t} }

// Add appends token id to the stream and returns the text that is now complete, possibly "".
// Everything Add and Flush return, concatenated, equals the concatenation of the tokens'
// pieces; each returned string ends on a character boundary unless the pieces themselves hold
// invalid UTF-8, which passes through unchanged.
func (d *Decoder) Add(id int32) string {
	if !d.Special && d.t.IsControl(id) {
		return ""
	}
	d.pending = append(d.pending, d.t.Piece(id)...)
	n := completeLen(d.pending)
	if n == 0 {
		return ""
	}
	s := string(d.pending[:n])
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return s
}

// Flush returns the bytes still held back, for the end of the stream; they are an incomplete
// character, returned as they are.
func (d *Decoder) Flush() string {
	s := string(d.pending)
	d.pending = d.pending[:0]
	return s
}

// completeLen returns the length of the longest prefix of b that does not end in the first
// bytes of a character still missing its continuation bytes.
func completeLen(b []byte) int {
	// A character is at most 4 bytes, so only the last 3 can start an unfinished one.
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}
