package datasets

import (
	"fmt"
	"image"
	_ "image/jpeg" // decoders for the photographs and image folders
	_ "image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/learnviews/learnviews/chw"
)

// Where the background photographs are looked for.
const (
	// BackgroundsDirEnv names a folder of photographs to use as backgrounds.
	BackgroundsDirEnv = "LEARNVIEWS_BACKGROUNDS_DIR"
	// BackgroundsDir is where Debian's mate-backgrounds installs its nature
	// photographs (12 JPEGs).
	BackgroundsDir = "/usr/share/backgrounds/mate/nature"
	// BackgroundsInstall is the command that installs them.
	BackgroundsInstall = "apt-get install -y mate-backgrounds"
	// PhotoSide is the shorter side, in pixels, that photographs are scaled
	// down to when loaded as backgrounds.
	PhotoSide = 256
)

// Photo is a colour photograph held as three float32 planes in [0,1].
type Photo struct {
	Name  string // file name without its extension
	Path  string
	Shape Shape // 3×H×W
	Pix   []float32
}

// Crop writes the w×h window of the photo whose top-left corner is (x, y)
// into dst (3×h×w). The window must lie inside the photo.
func (p *Photo) Crop(dst []float32, x, y, w, h int) {
	for c := range 3 {
		for r := range h {
			src := p.Pix[(c*p.Shape.H+y+r)*p.Shape.W+x:]
			copy(dst[(c*h+r)*w:(c*h+r+1)*w], src[:w])
		}
	}
}

// Resized is the photo scaled so that its shorter side is side pixels.
func (p *Photo) Resized(side int) (*Photo, error) {
	scale := float64(side) / float64(min(p.Shape.H, p.Shape.W))
	to := Shape{C: 3, H: max(side, int(math.Round(float64(p.Shape.H)*scale))), W: max(side, int(math.Round(float64(p.Shape.W)*scale)))}
	r, err := chw.NewResizer(p.Shape, to)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Path, err)
	}
	q := &Photo{Name: p.Name, Path: p.Path, Shape: to, Pix: make([]float32, to.Size())}
	r.Resize(q.Pix, p.Pix)
	for i, v := range q.Pix { // rounding may leave a weighted mean a hair outside [0,1]
		q.Pix[i] = min(max(v, 0), 1)
	}
	return q, nil
}

// MaxPhotoPixels bounds the width×height of the images that LoadPhoto (and
// so LoadPhotos, LoadBackgrounds and LoadImageFolder) decodes: 64 Mi pixels,
// a 10,000×6,700 photograph, which takes up to about 1 GiB while it is
// decoded and converted to planes. The size is read from the file's header
// and checked before the decoder allocates the image.
const MaxPhotoPixels = 1 << 26

// LoadPhoto decodes a JPEG or PNG file and, when side > 0 and the photo is
// larger, scales it down so that its shorter side is side pixels. An image
// of more than MaxPhotoPixels pixels is an error.
func LoadPhoto(path string, side int) (*Photo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodePhoto(path, f, side, MaxPhotoPixels)
}

// decodePhoto decodes the JPEG or PNG image r, named path, as LoadPhoto
// does, after checking from its header that it has at most maxPixels pixels.
func decodePhoto(path string, r io.ReadSeeker, side, maxPixels int) (*Photo, error) {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrBadImage, err)
	}
	if err := checkImageSize(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrBadImage, err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrBadImage, err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		// The header was read twice; a decoder must agree with itself.
		return nil, fmt.Errorf("%s: %w: image decodes to %d×%d pixels, its header says %d×%d", path, ErrBadImage, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	s, pix := Planes(img)
	base := filepath.Base(path)
	p := &Photo{Name: strings.TrimSuffix(base, filepath.Ext(base)), Path: path, Shape: s, Pix: pix}
	if side > 0 && min(s.H, s.W) > side {
		return p.Resized(side)
	}
	return p, nil
}

// checkImageSize checks an image's width and height, as its header gives
// them: both positive and their product, computed without overflow, at most
// maxPixels.
func checkImageSize(w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("image has no pixels (width %d, height %d)", w, h)
	}
	if w > maxPixels/h {
		return fmt.Errorf("width %d × height %d is more than %d pixels", w, h, maxPixels)
	}
	return nil
}

// isImageFile reports whether a file name has a PNG or JPEG extension.
func isImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return !strings.HasPrefix(name, ".")
	}
	return false
}

// imageFiles lists the PNG and JPEG files of dir, sorted by name.
func imageFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() && isImageFile(e.Name()) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(paths)
	return paths, nil
}

// LoadPhotos loads every JPEG and PNG of dir, sorted by file name, scaled as
// LoadPhoto does, decoding on all cores.
func LoadPhotos(dir string, side int) ([]*Photo, error) {
	paths, err := imageFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: %w: no JPEG or PNG photographs", dir, ErrNotInstalled)
	}
	photos := make([]*Photo, len(paths))
	err = parallel(len(paths), func(i int) error {
		var err error
		photos[i], err = LoadPhoto(paths[i], side)
		return err
	})
	return photos, err
}

// FindBackgrounds is the folder of background photographs:
// $LEARNVIEWS_BACKGROUNDS_DIR when set, else Debian's mate-backgrounds folder.
func FindBackgrounds() (string, error) {
	dir, fromEnv := os.Getenv(BackgroundsDirEnv), true
	if dir == "" {
		dir, fromEnv = BackgroundsDir, false
	}
	paths, err := imageFiles(dir)
	if err == nil && len(paths) > 0 {
		return dir, nil
	}
	if fromEnv {
		return "", fmt.Errorf("backgrounds: %w: $%s (%s) holds no JPEG or PNG photographs; fix or unset it, or install with: %s", ErrNotInstalled, BackgroundsDirEnv, dir, BackgroundsInstall)
	}
	return "", fmt.Errorf("backgrounds: %w: no photographs in %s; install with: %s", ErrNotInstalled, dir, BackgroundsInstall)
}

// SelectPhotos picks photos by name, in the order of names; it fails naming
// any that is missing.
func SelectPhotos(photos []*Photo, names []string) ([]*Photo, error) {
	out := make([]*Photo, len(names))
	for i, n := range names {
		j := slices.IndexFunc(photos, func(p *Photo) bool { return p.Name == n })
		if j < 0 {
			return nil, fmt.Errorf("backgrounds: %w: no photograph named %q", ErrNotInstalled, n)
		}
		out[i] = photos[j]
	}
	return out, nil
}

// parallel runs f(0..n-1) on all cores and returns the first error by index.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// LoadBackgrounds finds the background photographs (see FindBackgrounds) and
// loads those named, in that order, or all of them when names is nil, each
// scaled as LoadPhoto does.
func LoadBackgrounds(names []string, side int) ([]*Photo, error) {
	dir, err := FindBackgrounds()
	if err != nil {
		return nil, err
	}
	if names == nil {
		return LoadPhotos(dir, side)
	}
	paths, err := imageFiles(dir)
	if err != nil {
		return nil, err
	}
	photos := make([]*Photo, len(names))
	err = parallel(len(names), func(i int) error {
		j := slices.IndexFunc(paths, func(p string) bool {
			base := filepath.Base(p)
			return strings.TrimSuffix(base, filepath.Ext(base)) == names[i]
		})
		if j < 0 {
			return fmt.Errorf("backgrounds: %w: no photograph named %q in %s; install with: %s", ErrNotInstalled, names[i], dir, BackgroundsInstall)
		}
		var err error
		photos[i], err = LoadPhoto(paths[j], side)
		return err
	})
	return photos, err
}
