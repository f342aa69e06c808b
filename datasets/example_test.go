package datasets_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/learnviews/learnviews/datasets"
)

// tinySet is ten 1×2×2 images labelled 0, 1, 2, 0, 1, ...
func tinySet() *datasets.InMemory {
	pix := make([]uint8, 10*4)
	labels := make([]int, 10)
	for i := range labels {
		labels[i] = i % 3
		pix[4*i] = uint8(25 * i)
	}
	ds, err := datasets.NewInMemory("tiny", datasets.Shape{C: 1, H: 2, W: 2}, []string{"a", "b", "c"}, pix, labels)
	if err != nil {
		panic(err)
	}
	return ds
}

func ExampleNewIterator() {
	it, err := datasets.NewIterator(tinySet(), datasets.IteratorConfig{BatchSize: 4, Seed: 1, Epochs: 2, Workers: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer it.Close()
	for {
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		fmt.Println("epoch", b.Epoch, "items", b.Indices, "labels", b.Labels)
		b.Release()
	}
	// Output:
	// epoch 0 items [6 3 1 9] labels [0 0 1 0]
	// epoch 0 items [7 4 8 2] labels [1 1 2 2]
	// epoch 0 items [0 5] labels [0 2]
	// epoch 1 items [3 5 8 2] labels [0 2 2 2]
	// epoch 1 items [7 1 6 4] labels [1 1 0 1]
	// epoch 1 items [0 9] labels [0 0]
}

func ExampleResumeIterator() {
	ds := tinySet()
	cfg := datasets.IteratorConfig{BatchSize: 4, Seed: 1}
	it, _ := datasets.NewIterator(ds, cfg)
	it.Next()
	saved, _ := json.Marshal(it.State()) // stored with a checkpoint
	it.Close()

	var st datasets.IteratorState
	json.Unmarshal(saved, &st)
	resumed, err := datasets.ResumeIterator(ds, cfg, st)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resumed.Close()
	b, _ := resumed.Next()
	fmt.Println(string(saved))
	fmt.Println("next items", b.Indices)
	// Output:
	// {"seed":1,"batch_size":4,"len":10,"epoch":0,"index":4}
	// next items [7 4 8 2]
}

func ExampleSplitLabelled() {
	labelled, unlabelled, err := datasets.SplitLabelled(tinySet(), 3, 7)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("labelled", labelled.Indices(), "one per class")
	fmt.Println("unlabelled", unlabelled.Len(), "label", unlabelled.Label(0))
	// Output:
	// labelled [0 4 8] one per class
	// unlabelled 7 label -1
}

func ExampleLoadIDX() {
	dir, _ := os.MkdirTemp("", "idx")
	defer os.RemoveAll(dir)
	// Two 1×3 images and their labels, in the IDX format MNIST uses.
	images := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 128, 255, 255, 128, 0}
	labels := []byte{0, 0, 8, 1, 0, 0, 0, 2, 1, 0}
	os.WriteFile(filepath.Join(dir, "images"), images, 0o644)
	os.WriteFile(filepath.Join(dir, "labels"), labels, 0o644)

	ds, err := datasets.LoadIDX("toy", filepath.Join(dir, "images"), filepath.Join(dir, "labels"), []string{"dark", "light"})
	if err != nil {
		fmt.Println(err)
		return
	}
	img := make([]float32, ds.Shape().Size())
	ds.Image(1, img)
	fmt.Printf("%d images of %v; image 1 = %.2f, class %s\n", ds.Len(), ds.Shape(), img, ds.Classes()[ds.Label(1)])

	os.WriteFile(filepath.Join(dir, "labels"), labels[:9], 0o644)
	_, err = datasets.LoadIDX("toy", filepath.Join(dir, "images"), filepath.Join(dir, "labels"), []string{"dark", "light"})
	fmt.Println(err != nil)
	// Output:
	// 2 images of 1×1×3; image 1 = [1.00 0.50 0.00], class dark
	// true
}

func ExampleLoadMNIST() {
	dir, err := datasets.FindMNIST() // names the install command when missing
	if err != nil {
		fmt.Println(err)
		return
	}
	train, err := datasets.LoadMNIST(dir, datasets.Train)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train.Len(), train.Shape())
}
