package experiment

import (
	"fmt"
	"math/rand/v2"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
	"github.com/learnviews/learnviews/datasets/fashionphotos"
	"github.com/learnviews/learnviews/registry"
)

// Data is what a run trains and evaluates on.
type Data struct {
	Train datasets.Dataset // training images (cmnist: pairs of views)
	Test  datasets.Dataset
	// Validation is the data.validation training images held out of every
	// stage (nil when there are none).
	Validation datasets.Dataset
	Labelled   datasets.Dataset // the labelled part of Train: heads and probes
	// Unlabelled feeds the contrastive stages: the rest of Train, or the
	// data set's own unlabelled split (STL-10).
	Unlabelled datasets.Dataset
	Classes    int
}

// DataSet opens a data set that data.name names.
type DataSet struct {
	// Open returns the training and test splits and, if the data set has
	// one, its unlabelled split (nil otherwise).
	Open func(c config.Config) (train, test, unlabelled datasets.Dataset, err error)
	// Side is the images' side in pixels when the data set fixes it (0:
	// any data.size).
	Side int
	// Bytes estimates what the opened data set holds in memory (nil:
	// little).
	Bytes func(c config.Config) int64
}

// DataSets holds the data sets by the names data.name takes.
var DataSets = registry.New[DataSet]("data.name")

func init() {
	// The generated sets hold their sources (learnviews data list).
	sources := func(config.Config) int64 { return 56 << 20 }
	DataSets.Register("fashion-photos", "Fashion-MNIST garments over natural photographs, 10 classes (installed by the set-up)", DataSet{Open: openFashionPhotos, Bytes: sources})
	DataSets.Register("cmnist", "Colorful-Moving-MNIST: pairs of views that share the factors data.factors names", DataSet{Open: openCMNIST, Bytes: sources})
	// The binary loaders hold one byte per value of every image.
	DataSets.Register("stl10", "STL-10's binary release in data.dir (train, test and unlabelled splits), 96 px", DataSet{Open: openSTL10, Side: 96,
		Bytes: func(config.Config) int64 { return (5000 + 8000 + 100000) * 3 * 96 * 96 }})
	DataSets.Register("cifar10", "CIFAR-10's binary release in data.dir, 32 px", DataSet{Open: openCIFAR10, Side: 32,
		Bytes: func(config.Config) int64 { return 60000 * 3 * 32 * 32 }})
	DataSets.Register("folder", "an image folder in data.dir, one subfolder per class; a fifth held out for testing", DataSet{Open: openFolder})
}

func openFashionPhotos(c config.Config) (train, test, unl datasets.Dataset, err error) {
	fc := fashionphotos.DefaultConfig()
	fc.Size, fc.Seed = c.Data.Size, c.Seed
	if train, err = fashionphotos.Open(fc, datasets.Train); err != nil {
		return nil, nil, nil, err
	}
	test, err = fashionphotos.Open(fc, datasets.Test)
	return train, test, nil, err
}

func openCMNIST(c config.Config) (train, test, unl datasets.Dataset, err error) {
	cc := cmnist.DefaultConfig()
	cc.Size, cc.Frames, cc.Seed = c.Data.Size, c.Data.Frames, c.Seed
	if cc.Shared, err = cmnist.ParseFactors(c.Data.Factors); err != nil {
		return nil, nil, nil, fmt.Errorf("data.factors: %w", err)
	}
	tr, err := cmnist.Open(cc, datasets.Train)
	if err != nil {
		return nil, nil, nil, err
	}
	te, err := cmnist.Open(cc, datasets.Test)
	if err != nil {
		return nil, nil, nil, err
	}
	return tr.Pairs(), te.Pairs(), nil, nil
}

func openSTL10(c config.Config) (train, test, unl datasets.Dataset, err error) {
	if train, err = datasets.LoadSTL10(c.Data.Dir, datasets.Train); err != nil {
		return nil, nil, nil, fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
	}
	if test, err = datasets.LoadSTL10(c.Data.Dir, datasets.Test); err != nil {
		return nil, nil, nil, fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
	}
	if u, err := datasets.LoadSTL10(c.Data.Dir, datasets.Unlabeled); err == nil {
		unl = u
	}
	return train, test, unl, nil
}

func openCIFAR10(c config.Config) (train, test, unl datasets.Dataset, err error) {
	if train, err = datasets.LoadCIFAR10(c.Data.Dir, datasets.Train); err != nil {
		return nil, nil, nil, fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
	}
	if test, err = datasets.LoadCIFAR10(c.Data.Dir, datasets.Test); err != nil {
		return nil, nil, nil, fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
	}
	return train, test, nil, nil
}

func openFolder(c config.Config) (train, test, unl datasets.Dataset, err error) {
	all, err := datasets.LoadImageFolder(c.Data.Dir, c.Data.Size)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
	}
	train, test, err = datasets.SplitTrainTest(all, all.Len()/5, c.Seed)
	return train, test, nil, err
}

// OpenData opens the data set of c and carves out the subsets a run uses:
// data.train training images and data.test test images (seeded
// permutations), and of the training images data.labelled labelled ones.
func OpenData(c config.Config) (*Data, error) {
	ds, err := DataSets.Lookup(c.Data.Name)
	if err != nil {
		return nil, err
	}
	train, test, unl, err := ds.Open(c)
	if err != nil {
		return nil, err
	}
	if train, err = subset(train, c.Data.Train, c.Seed+offsetTrainSubset); err != nil {
		return nil, err
	}
	if test, err = subset(test, c.Data.Test, c.Seed+offsetTestSubset); err != nil {
		return nil, err
	}
	d := &Data{Train: train, Test: test, Classes: len(train.Classes())}
	if err := checkSide(c, train); err != nil {
		return nil, err
	}
	if c.Data.Validation > 0 {
		if c.Data.Validation >= train.Len() {
			return nil, fmt.Errorf("data.validation %d: the %d training images hold no more", c.Data.Validation, train.Len())
		}
		tr, val, err := datasets.SplitTrainTest(train, c.Data.Validation, c.Seed+offsetValidation)
		if err != nil {
			return nil, err
		}
		d.Train, d.Validation = tr, val
		train = tr
	}
	if unl != nil {
		// The data set's own unlabelled images join the training images,
		// as the paper's STL-10 pool (train+unlabeled) does.
		if d.Unlabelled, err = datasets.NewConcat(train, unl); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Data.Name, err)
		}
	}
	// Without a pool of its own, the unlabelled images are the training
	// images left over: keep two batches of them. With one (STL-10), every
	// training image may be labelled, as in the paper.
	n := min(c.Data.Labelled, train.Len())
	if d.Unlabelled == nil {
		n = min(n, train.Len()-2*c.Game.Batch)
	}
	if n <= 0 || n == train.Len() {
		d.Labelled = train
		if d.Unlabelled == nil {
			d.Unlabelled = train
		}
		return d, nil
	}
	lab, rest, err := datasets.SplitLabelled(train, n, c.Seed+offsetLabelledSplit)
	if err != nil {
		return nil, err
	}
	d.Labelled = lab
	if d.Unlabelled == nil {
		d.Unlabelled = rest
	}
	return d, nil
}

// checkSide checks that the images can be made into data.size views:
// those of a paired set (Colorful-Moving-MNIST) are generated at that
// size, the others may be larger, to be cropped or resized down.
func checkSide(c config.Config, ds datasets.Dataset) error {
	s := ds.Shape()
	if _, ok := paired(ds); ok {
		if s.H != c.Data.Size || s.W != c.Data.Size {
			return fmt.Errorf("data.size %d: the %s views are %v", c.Data.Size, c.Data.Name, s)
		}
		return nil
	}
	if s.H < c.Data.Size || s.W < c.Data.Size {
		return fmt.Errorf("data.size %d: the %s images are %v, smaller than the views", c.Data.Size, c.Data.Name, s)
	}
	return nil
}

// fit makes an image size×size for evaluation and for the stages that do
// not crop: as the authors' probe, the shorter side is resized to
// ⌈size·70/64⌉ and the centre size×size box cut out (96 → 70 → 64 on
// STL-10). An image of that size already is returned as it is.
func fit(img chw.Image, size int) (chw.Image, error) {
	if img.H == size && img.W == size {
		return img, nil
	}
	r, err := chw.ResizeShort(img, (size*70+63)/64)
	if err != nil {
		return chw.Image{}, err
	}
	return chw.CentreCrop(r, size, size)
}

// fitAll fits each image (see fit).
func fitAll(imgs []chw.Image, size int) ([]chw.Image, error) {
	if len(imgs) == 0 || imgs[0].H == size && imgs[0].W == size {
		return imgs, nil
	}
	out := make([]chw.Image, len(imgs))
	for i, img := range imgs {
		var err error
		if out[i], err = fit(img, size); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// subset keeps the first n items of a seeded permutation (all when n is 0
// or larger than the set).
func subset(ds datasets.Dataset, n int, seed uint64) (datasets.Dataset, error) {
	if n <= 0 || n >= ds.Len() {
		return ds, nil
	}
	perm := rand.New(rand.NewPCG(seed, subsetStream)).Perm(ds.Len())
	return datasets.NewSubset(ds, perm[:n])
}
