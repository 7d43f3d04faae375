package period

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/draw"
	"image/jpeg"
	_ "image/png" // screenshots are JPEG; a PNG is read too
)

// thumbWidth is the width screenshots are brought down to: the printed
// width of an A4 page's text at 96 dpi, so a report of many failures
// stays a few hundred kilobytes.
const thumbWidth = 640

// thumbnail is the picture in b, at most thumbWidth wide, as a JPEG data:
// URI; empty when b is not a picture it can read. It is downscaled by
// averaging the box of source pixels under each output pixel, which the
// standard library does well enough for screenshots (text stays legible
// at these ratios) without a dependency; and it is always re-encoded, so
// nothing but our own JPEG reaches the report.
func thumbnail(b []byte) string {
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return ""
	}
	bounds := src.Bounds()
	sw, sh := bounds.Dx(), bounds.Dy()
	if sw == 0 || sh == 0 {
		return ""
	}
	rgba := image.NewRGBA(image.Rect(0, 0, sw, sh))
	draw.Draw(rgba, rgba.Bounds(), src, bounds.Min, draw.Src)
	out := rgba
	if sw > thumbWidth {
		out = boxScale(rgba, thumbWidth, max(sh*thumbWidth/sw, 1))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: 72}); err != nil {
		return ""
	}
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// boxScale shrinks src to w×h: each output pixel is the mean of the
// source pixels its box covers.
func boxScale(src *image.RGBA, w, h int) *image.RGBA {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		y0, y1 := y*sh/h, max((y+1)*sh/h, y*sh/h+1)
		for x := range w {
			x0, x1 := x*sw/w, max((x+1)*sw/w, x*sw/w+1)
			var r, g, b, a, n int
			for sy := y0; sy < y1; sy++ {
				row := src.Pix[sy*src.Stride+x0*4 : sy*src.Stride+x1*4]
				for i := 0; i < len(row); i += 4 {
					r, g, b, a = r+int(row[i]), g+int(row[i+1]), b+int(row[i+2]), a+int(row[i+3])
					n++
				}
			}
			o := dst.PixOffset(x, y)
			dst.Pix[o], dst.Pix[o+1], dst.Pix[o+2], dst.Pix[o+3] = uint8(r/n), uint8(g/n), uint8(b/n), uint8(a/n)
		}
	}
	return dst
}
