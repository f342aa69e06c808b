// Command refstep times the reference contrastive step (two ConvNet
// encoders on 1- and 2-channel 32×32 views, batch 128, symmetric InfoNCE,
// Adam) and prints one line per step: "step <i> <seconds>". It is the Go
// half of bench/ratio.sh, which runs it alternately with the PyTorch twin.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/learnviews/learnviews/contrast"
)

func main() {
	steps := flag.Int("steps", 10, "timed steps")
	warmup := flag.Int("warmup", 2, "untimed steps first")
	batch := flag.Int("batch", 128, "batch size")
	size := flag.Int("size", 32, "view height and width")
	flag.Parse()
	tr, views, err := contrast.NewReferenceTrainer(*batch, *size, 1)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refstep:", err)
		os.Exit(1)
	}
	defer tr.Close()
	for i := 0; i < *warmup+*steps; i++ {
		v1, v2 := views()
		start := time.Now()
		res, err := tr.Step(v1, v2)
		if err != nil {
			fmt.Fprintln(os.Stderr, "refstep:", err)
			os.Exit(1)
		}
		if i >= *warmup {
			fmt.Printf("step %d %.6f loss=%.4f\n", i-*warmup, time.Since(start).Seconds(), res.Loss)
		}
	}
}
