package viewgen

import (
	"fmt"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

// benchBatch is the number of images each benchmark iteration augments.
const benchBatch = 128

func always(a Aug) Aug { a.P = 1; return a }

// measureImages runs step under b.Loop and reports the images per second of
// wall-clock time (img/s) and per second of the process's CPU time
// (img/cpu-s, which a busy shared machine disturbs far less).
func measureImages(b *testing.B, perStep int, step func(iter int)) {
	iters := 0
	cpu0 := processCPUSeconds()
	for b.Loop() {
		step(iters)
		iters++
	}
	cpu := processCPUSeconds() - cpu0
	b.ReportMetric(float64(iters*perStep)/b.Elapsed().Seconds(), "img/s")
	if cpu > 0 {
		b.ReportMetric(float64(iters*perStep)/cpu, "img/cpu-s")
	}
}

// BenchmarkAugment measures images per second through ApplyBatch for each
// augmentation (applied with probability 1) and for the InfoMin set, at 32
// and 64 pixels, on GOMAXPROCS workers. Each view of a training pair is one
// image.
func BenchmarkAugment(b *testing.B) {
	cases := []struct {
		name string
		augs []Aug
	}{
		{"crop", []Aug{Crop(0.08)}},
		{"flip", []Aug{always(Flip())}},
		{"jitter", []Aug{always(Jitter(1))}},
		{"blur", []Aug{always(Blur(1))}},
		{"gray", []Aug{Gray(1)}},
		{"drop", []Aug{ColorDrop(1)}},
		{"randaug", []Aug{RandAugment(2, 10)}},
		{"jigsaw", []Aug{Jigsaw()}},
		{"infomin", InfoMinAugment()},
	}
	for _, size := range []int{32, 64} {
		images := make([]chw.Image, benchBatch)
		for i := range images {
			images[i] = randomImage(uint64(i), 3, size, size)
		}
		for _, c := range cases {
			aug, err := NewAugmenter(c.augs...)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/%d", c.name, size), func(b *testing.B) {
				measureImages(b, benchBatch, func(iter int) {
					if _, err := aug.ApplyBatch(images, size, size, uint64(iter)); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkViews measures the whole pipeline: two InfoMin draws per image,
// conversion to YDbDr, normalisation and the 0|1,2 split.
func BenchmarkViews(b *testing.B) {
	for _, size := range []int{32, 64} {
		images := make([]chw.Image, benchBatch)
		for i := range images {
			images[i] = randomImage(uint64(i), 3, size, size)
		}
		st, err := ComputeStats(YDbDr, images)
		if err != nil {
			b.Fatal(err)
		}
		p, err := NewPipeline(Spec{Space: YDbDr, Split: DefaultSplit(), Augment: InfoMinAugment()}, &st)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("infomin-ydbdr/%d", size), func(b *testing.B) {
			measureImages(b, benchBatch, func(iter int) {
				if _, _, err := p.Views(images, uint64(iter)); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkConvert measures the RGB-to-space conversion of 64×64 images.
func BenchmarkConvert(b *testing.B) {
	img := randomImage(1, 3, 64, 64)
	for _, cs := range Spaces() {
		b.Run(cs.String(), func(b *testing.B) {
			measureImages(b, 1, func(int) {
				if _, err := cs.Convert(img); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
