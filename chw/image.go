// Package chw is the one image type of the project: float32 images in
// channel-major (CHW) layout with their shape, batches of them, the
// triangle-filter resampler, and the captioned grid that every preview and
// figure of images is drawn with. Data sets, view generators and plots
// share it; it needs no gorgonia.
package chw

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
)

// Shape is the shape of one image: channels, height and width.
type Shape struct {
	C, H, W int
}

// Size is the number of values in one image, C×H×W.
func (s Shape) Size() int { return s.C * s.H * s.W }

// String formats the shape as C×H×W.
func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W) }

// Image is a float32 image in CHW layout: the value of channel c at row y,
// column x is Pix[(c*H+y)*W+x]. An RGB image has C = 3 and values in [0, 1].
type Image struct {
	C, H, W int
	Pix     []float32
}

// New returns a zeroed image of c channels, h rows and w columns.
func New(c, h, w int) Image {
	return Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
}

// Shape returns the image's shape.
func (m Image) Shape() Shape { return Shape{C: m.C, H: m.H, W: m.W} }

// At returns the value of channel c at row y, column x.
func (m Image) At(c, y, x int) float32 { return m.Pix[(c*m.H+y)*m.W+x] }

// Set sets the value of channel c at row y, column x.
func (m Image) Set(c, y, x int, v float32) { m.Pix[(c*m.H+y)*m.W+x] = v }

// Plane returns channel c as a slice of H*W values sharing m's storage.
func (m Image) Plane(c int) []float32 { return m.Pix[c*m.H*m.W : (c+1)*m.H*m.W] }

// Clone returns a deep copy of m.
func (m Image) Clone() Image {
	out := m
	out.Pix = append([]float32(nil), m.Pix...)
	return out
}

// Check reports whether m's dimensions are positive and match len(Pix).
func (m Image) Check() error {
	if m.C <= 0 || m.H <= 0 || m.W <= 0 {
		return fmt.Errorf("image has shape %d×%d×%d: every dimension must be positive", m.C, m.H, m.W)
	}
	if len(m.Pix) != m.C*m.H*m.W {
		return fmt.Errorf("image has shape %d×%d×%d but %d values, want %d", m.C, m.H, m.W, len(m.Pix), m.C*m.H*m.W)
	}
	return nil
}

// CheckRGB reports whether m is a valid 3-channel image.
func (m Image) CheckRGB() error {
	if err := m.Check(); err != nil {
		return err
	}
	if m.C != 3 {
		return fmt.Errorf("image has %d channels, want 3", m.C)
	}
	return nil
}

// FromImage converts a standard library image to a 3-channel RGB Image with
// values in [0, 1]. Alpha is ignored: colours are taken as the image's
// RGBA method gives them (premultiplied), so transparent areas read as dark.
func FromImage(src image.Image) Image {
	b := src.Bounds()
	rgba, ok := src.(*image.RGBA)
	if !ok {
		// draw converts the common formats (JPEG's YCbCr among them) fast.
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
		b = rgba.Bounds()
	}
	out := New(3, b.Dy(), b.Dx())
	n := out.H * out.W
	for y := 0; y < out.H; y++ {
		row := rgba.Pix[rgba.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < out.W; x++ {
			i := y*out.W + x
			out.Pix[i] = float32(row[4*x]) / 255
			out.Pix[n+i] = float32(row[4*x+1]) / 255
			out.Pix[2*n+i] = float32(row[4*x+2]) / 255
		}
	}
	return out
}

// RGBA converts a 1- or 3-channel image with values in [0, 1] to an 8-bit
// standard library image; values outside [0, 1] are clipped and a single
// channel is shown as grey.
func (m Image) RGBA() (*image.RGBA, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	if m.C != 1 && m.C != 3 {
		return nil, fmt.Errorf("image has %d channels: only 1 (grey) or 3 (RGB) can be drawn", m.C)
	}
	out := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	n := m.H * m.W
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			i := y*m.W + x
			r := m.Pix[i]
			g, b := r, r
			if m.C == 3 {
				g, b = m.Pix[n+i], m.Pix[2*n+i]
			}
			out.SetRGBA(x, y, color.RGBA{to8(r), to8(g), to8(b), 0xff})
		}
	}
	return out, nil
}

func to8(v float32) uint8 {
	return uint8(math.Round(float64(clamp01(v)) * 255))
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// Batch is N images of the same shape stored contiguously in NCHW layout.
type Batch struct {
	N, C, H, W int
	Pix        []float32
}

// NewBatch returns a zeroed batch of n images of c×h×w.
func NewBatch(n, c, h, w int) Batch {
	return Batch{N: n, C: c, H: h, W: w, Pix: make([]float32, n*c*h*w)}
}

// Image returns image i of the batch, sharing the batch's storage.
func (b Batch) Image(i int) Image {
	size := b.C * b.H * b.W
	return Image{C: b.C, H: b.H, W: b.W, Pix: b.Pix[i*size : (i+1)*size]}
}

// ReadFile decodes an image file in any format the program registers
// (PNG, and JPEG where image/jpeg is imported) into a 3-channel RGB Image.
func ReadFile(path string) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return Image{}, err
	}
	defer f.Close()
	decoded, _, err := image.Decode(f)
	if err != nil {
		return Image{}, fmt.Errorf("decode %s: %w", path, err)
	}
	return FromImage(decoded), nil
}

// ResizeShort returns img resampled so that its shorter side has side
// pixels, keeping its aspect ratio.
func ResizeShort(img Image, side int) (Image, error) {
	short := min(img.H, img.W)
	if short <= 0 || side <= 0 {
		return Image{}, fmt.Errorf("resize %v to a shorter side of %d: both must be positive", img.Shape(), side)
	}
	h := max(1, int(math.Round(float64(img.H)*float64(side)/float64(short))))
	w := max(1, int(math.Round(float64(img.W)*float64(side)/float64(short))))
	return Resize(img, h, w)
}
