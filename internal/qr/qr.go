// Package qr draws credentials as QR codes and reads them back from pictures.
//
// HC1 strings are Base45, whose alphabet is exactly the QR alphanumeric set,
// so they are encoded in alphanumeric mode (11 bits per 2 characters instead
// of 16) with error correction level Q, as the EU DCC specification asks.
// Both directions use gozxing, a port of ZXing, so the encoder and the reader
// share one well-tested implementation.
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // photos of QR codes arrive as JPEG as often as PNG
	"image/png"
	"io"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// quietZone is the white border in modules the QR standard requires around
// the symbol; scanners fail on codes printed without it.
const quietZone = 4

// MaxImageBytes bounds what Decode reads, so an upload cannot exhaust memory.
const MaxImageBytes = 20 << 20

// maxPixels bounds a decoded image's area: a tiny file can still declare a
// huge canvas (a "pixel bomb").
const maxPixels = 40_000_000

// Code is an encoded symbol, before it is drawn.
type Code struct {
	matrix  *encoder.ByteMatrix
	Version int
	// Mode is the QR data mode the encoder chose ("ALPHANUMERIC", "BYTE"...).
	Mode string
	// Level is the error correction level ("L", "M", "Q", "H").
	Level string
}

// Encode builds a QR symbol for text with error correction level Q. It
// refuses text that would not fit alphanumeric mode, since every credential
// Corridor draws is Base45.
func Encode(text string) (*Code, error) {
	if text == "" {
		return nil, errors.New("qr: nothing to encode")
	}
	c, err := encoder.Encoder_encodeWithoutHint(text, decoder.ErrorCorrectionLevel_Q)
	if err != nil {
		return nil, fmt.Errorf("qr: encoding %d characters: %w", len(text), err)
	}
	if c.GetMode() != decoder.Mode_ALPHANUMERIC {
		return nil, fmt.Errorf("qr: text holds characters outside the QR alphanumeric set (mode %s)", c.GetMode())
	}
	return &Code{matrix: c.GetMatrix(), Version: c.GetVersion().GetVersionNumber(), Mode: c.GetMode().String(), Level: c.GetECLevel().String()}, nil
}

// Modules is the symbol's width in modules, without the quiet zone.
func (c *Code) Modules() int { return c.matrix.GetWidth() }

// Image draws the symbol with scale pixels per module and the quiet zone.
func (c *Code) Image(scale int) image.Image {
	if scale < 1 {
		scale = 1
	}
	n := c.matrix.GetWidth()
	side := (n + 2*quietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if c.matrix.Get(x, y) != 1 {
				continue
			}
			x0, y0 := (x+quietZone)*scale, (y+quietZone)*scale
			for dy := 0; dy < scale; dy++ {
				row := img.Pix[(y0+dy)*img.Stride:]
				for dx := 0; dx < scale; dx++ {
					row[x0+dx] = 1
				}
			}
		}
	}
	return img
}

// PNG draws the symbol as a PNG.
func (c *Code) PNG(scale int) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, c.Image(scale)); err != nil {
		return nil, fmt.Errorf("qr: writing PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// EncodePNG is Encode followed by PNG with a scale fit for printing and
// for phone cameras.
func EncodePNG(text string) ([]byte, error) {
	c, err := Encode(text)
	if err != nil {
		return nil, err
	}
	return c.PNG(4)
}

// Decode reads the first QR code found in a PNG or JPEG picture and returns
// its text.
func Decode(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImageBytes+1))
	if err != nil {
		return "", fmt.Errorf("qr: reading picture: %w", err)
	}
	if len(data) > MaxImageBytes {
		return "", fmt.Errorf("qr: picture larger than %d MiB", MaxImageBytes>>20)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("qr: not a PNG or JPEG picture: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return "", fmt.Errorf("qr: %s picture of %dx%d pixels is too large to read", format, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("qr: decoding %s picture: %w", format, err)
	}
	return DecodeImage(img)
}

// DecodeImage reads the first QR code found in img.
//
// ZXing's finder-pattern detector, tuned for photos, now and then misjudges
// a crisp computer-drawn symbol ("dimension = 75"); such a picture is read
// again as a pure barcode (straight, with its quiet zone), which is exact
// for screenshots and printed codes, and then at twice the size.
func DecodeImage(img image.Image) (string, error) {
	var firstErr error
	for _, try := range []struct {
		hints map[gozxing.DecodeHintType]any
		scale int
	}{
		{map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}, 1},
		{map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}, 1},
		{map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}, 2},
	} {
		src := img
		if try.scale > 1 {
			b := img.Bounds()
			if b.Dx()*b.Dy()*try.scale*try.scale > maxPixels {
				continue
			}
			src = upscale(img, try.scale)
		}
		text, err := decodeOnce(src, try.hints)
		if err == nil {
			return text, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", firstErr
}

func decodeOnce(img image.Image, hints map[gozxing.DecodeHintType]any) (text string, err error) {
	// gozxing is a port of Java code that signals some malformed symbols by
	// indexing out of range; a picture from outside must never crash us.
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("qr: picture holds no readable QR code (reader failed: %v)", r)
		}
	}()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("qr: preparing picture: %w", err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", fmt.Errorf("qr: no readable QR code in the picture: %w", err)
	}
	return res.GetText(), nil
}

// upscale enlarges img by an integer factor, pixel by pixel.
func upscale(img image.Image, k int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := 0; y < b.Dy()*k; y++ {
		for x := 0; x < b.Dx()*k; x++ {
			out.Set(x, y, img.At(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	return out
}
