package viewgen_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/learnviews/learnviews/chw"

	"github.com/learnviews/learnviews/viewgen"
)

// gradient returns a small RGB test image.
func gradient(h, w int) chw.Image {
	img := chw.New(3, h, w)
	for y := range h {
		for x := range w {
			img.Set(0, y, x, float32(x)/float32(w-1))
			img.Set(1, y, x, float32(y)/float32(h-1))
			img.Set(2, y, x, 0.5)
		}
	}
	return img
}

func ExampleColorSpace_FromRGB() {
	lab := viewgen.Lab.FromRGB([3]float64{1, 0, 0})
	fmt.Printf("sRGB red in Lab: L=%.2f a=%.2f b=%.2f\n", lab[0], lab[1], lab[2])
	ycc := viewgen.YCbCr.FromRGB([3]float64{1, 1, 1})
	fmt.Printf("white in YCbCr: %.0f %.0f %.0f\n", ycc[0], ycc[1], ycc[2])
	// Output:
	// sRGB red in Lab: L=53.24 a=80.09 b=67.20
	// white in YCbCr: 235 128 128
}

func ExampleParseColorSpace() {
	cs, err := viewgen.ParseColorSpace("Y-Db-Dr") // case, spaces, hyphens and underscores are ignored
	fmt.Println(cs, cs.Channels(), err)
	_, err = viewgen.ParseColorSpace("ydbd")
	msg, _, _ := strings.Cut(err.Error(), ":") // the error goes on to list the known spaces
	fmt.Println(msg)
	// Output:
	// ydbdr [Y Db Dr] <nil>
	// unknown colour space "ydbd"
}

func ExampleParseSpec() {
	spec, err := viewgen.ParseSpec("ydbdr:0|1,2+crop=0.2+flip+jitter=1.0+gray=0.2")
	if err != nil {
		panic(err)
	}
	fmt.Println(spec)
	fmt.Println(spec.Space, spec.Split.V1, spec.Split.V2)
	for _, a := range spec.Augment {
		fmt.Printf("%s strength=%g p=%g\n", a.Name, a.Strength, a.P)
	}
	_, err = viewgen.ParseSpec("ydbdr:0|1,2+crop=0.2+jiter=1")
	fmt.Println(err)
	// Output:
	// ydbdr:0|1,2+crop=0.2+flip+jitter+gray
	// ydbdr [0] [1 2]
	// crop strength=0.2 p=1
	// flip strength=0 p=0.5
	// jitter strength=1 p=0.8
	// gray strength=0 p=0.2
	// view spec "ydbdr:0|1,2+crop=0.2+jiter=1": token "jiter=1": unknown augmentation "jiter": known are crop, flip, jitter, blur, gray, drop, randaug, jigsaw; or the options size, patch and shared
}

func ExamplePipeline_Views() {
	images := []chw.Image{gradient(32, 32), gradient(32, 32)}
	stats, err := viewgen.ComputeStats(viewgen.Lab, images)
	if err != nil {
		panic(err)
	}
	spec, err := viewgen.ParseSpec("lab:0|1,2+size=24+crop=0.2+flip+jitter")
	if err != nil {
		panic(err)
	}
	p, err := viewgen.NewPipeline(spec, &stats)
	if err != nil {
		panic(err)
	}
	v1, v2, err := p.Views(images, 42)
	if err != nil {
		panic(err)
	}
	fmt.Printf("v1: %d×%d×%d×%d\n", v1.N, v1.C, v1.H, v1.W)
	fmt.Printf("v2: %d×%d×%d×%d\n", v2.N, v2.C, v2.H, v2.W)
	again, _, _ := p.Views(images, 42)
	fmt.Println("same seed, same views:", fmt.Sprint(again.Pix) == fmt.Sprint(v1.Pix))
	// Output:
	// v1: 2×1×24×24
	// v2: 2×2×24×24
	// same seed, same views: true
}

func ExampleComputeStats() {
	black := chw.New(3, 2, 2)
	white := chw.New(3, 2, 2)
	for i := range white.Pix {
		white.Pix[i] = 1
	}
	st, err := viewgen.ComputeStats(viewgen.YCbCr, []chw.Image{black, white})
	if err != nil {
		panic(err)
	}
	fmt.Printf("mean %.1f std %.1f\n", st.Mean, st.Std)
	// Output:
	// mean [125.5 128.0 128.0] std [109.5 1.0 1.0]
}

func ExampleSplit_Apply() {
	img, _ := viewgen.YDbDr.Convert(gradient(4, 4))
	v1, v2, err := viewgen.DefaultSplit().Apply(img)
	if err != nil {
		panic(err)
	}
	fmt.Println(v1.C, "channel (Y);", v2.C, "channels (Db, Dr)")
	// Output:
	// 1 channel (Y); 2 channels (Db, Dr)
}

func ExamplePatchPair() {
	img := gradient(64, 64)
	a, b, err := viewgen.PatchPair(img, 16, 24, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	fmt.Println(a.H, a.W, b.H, b.W)
	_, _, err = viewgen.PatchPair(img, 48, 24, rand.New(rand.NewPCG(1, 2)))
	fmt.Println(err)
	// Output:
	// 16 16 16 16
	// patch pair of 48 px at distance 24 does not fit a 64×64 image: size+distance must be at most 64
}

func ExampleAugmenter_ApplyBatch() {
	aug, err := viewgen.NewAugmenter(viewgen.InfoMinAugment()...)
	if err != nil {
		panic(err)
	}
	out, err := aug.ApplyBatch([]chw.Image{gradient(40, 40), gradient(40, 40)}, 32, 32, 7)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(out), out[0].C, out[0].H, out[0].W)
	for _, a := range aug.Augs() {
		fmt.Print(a, " ")
	}
	fmt.Println()
	// Output:
	// 2 3 32 32
	// crop flip jitter blur randaug=10 gray
}
