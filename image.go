package converse

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// imageSize returns the width and height in pixels of the image b holds,
// read from its header by the decoder of the declared format (png, jpeg, gif
// or webp, Bedrock's ImageFormat enum). Each format's DecodeConfig is called
// directly rather than through image.DecodeConfig, so that bytes of another
// format are rejected: Bedrock's models refuse an image whose bytes do not
// match its format field (wire-protocol.md §5.4, "The image was specified
// using the image/jpeg media type, but the image appears to be a image/png
// image"). Only the header is read, so a huge image costs no memory.
func imageSize(format string, b []byte) (width, height int, err error) {
	var decode func(io.Reader) (image.Config, error)
	switch format {
	case "png":
		decode = png.DecodeConfig
	case "jpeg":
		decode = jpeg.DecodeConfig
	case "gif":
		decode = gif.DecodeConfig
	case "webp":
		decode = webp.DecodeConfig
	default:
		return 0, 0, fmt.Errorf("image size: unknown format %q", format)
	}
	cfg, err := decode(bytes.NewReader(b))
	if err != nil {
		return 0, 0, fmt.Errorf("image size: read %s header: %w", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, fmt.Errorf("image size: %s header gives %dx%d pixels", format, cfg.Width, cfg.Height)
	}
	return cfg.Width, cfg.Height, nil
}
