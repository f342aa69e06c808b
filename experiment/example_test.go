package experiment_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/experiment"
)

// A tiny semi-supervised view-learning run of the quick profile, from Go:
// a few iterations of each stage on 16-pixel fashion-photos, then the
// linear probe on the learned and on the raw views. It takes a few
// seconds; drop the --set overrides for the real thing.
func ExampleRun() {
	cfg, err := config.Load(config.Sources{Profile: "quick", Set: []string{
		"data.train=400", "data.test=100", "data.labelled=100",
		"game.steps=4", "game.batch=16", "game.labelled_batch=8",
		"stage2.steps=4", "stage2.batch=16",
		"eval.train_images=100", "eval.test_images=100", "eval.probe_epochs=2", "eval.knn_k=5",
		"run.log_every=2", "run.checkpoint_every=2",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "learnviews-example")
	defer os.RemoveAll(dir)
	evals, err := experiment.Run(context.Background(), cfg, filepath.Join(dir, "run"), experiment.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range evals {
		fmt.Printf("%s: %d test images, accuracy in [0, 1]: %v\n", ev.Stage, ev.TestImages, ev.ProbeAcc >= 0 && ev.ProbeAcc <= 1)
	}
	// Output:
	// stage2: 100 test images, accuracy in [0, 1]: true
	// stage2-raw: 100 test images, accuracy in [0, 1]: true
}
