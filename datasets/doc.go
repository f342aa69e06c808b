// Package datasets owns the images that the views are made from: loaders for
// the IDX (MNIST, Fashion-MNIST), STL-10, CIFAR-10 and image-folder formats
// and for the natural photographs used as backgrounds, all held as plain
// float32 CHW slices in [0,1]. It also owns the seeded splits and the batch
// iterator whose background prefetch and resumable position feed training.
//
// A Dataset is read one item at a time:
//
//	ds, err := datasets.LoadMNIST(dir, datasets.Train)
//	img := make([]float32, ds.Shape().Size())
//	ds.Image(i, img)   // channel-major, values in [0,1]
//	y := ds.Label(i)   // 0..len(ds.Classes())-1, or NoLabel
//
// and in batches:
//
//	it, err := datasets.NewIterator(ds, datasets.IteratorConfig{BatchSize: 128, Seed: 1, Workers: 2})
//	defer it.Close()
//	for {
//		b, err := it.Next()
//		if err == io.EOF { break }
//		...             // b.Images, b.Labels, b.Factors
//		b.Release()
//	}
//
// The generated sets live in the sub-packages cmnist (Colorful-Moving-MNIST)
// and fashionphotos (the colour stand-in for STL-10); preview draws labelled
// sample sheets.
package datasets
