package fashionphotos_test

import (
	"fmt"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/fashionphotos"
)

// The training split, its 5,000 labelled images for linear probes and the
// unlabelled rest for contrastive training.
func ExampleOpen() {
	cfg := fashionphotos.DefaultConfig()
	cfg.Size = 64
	train, err := fashionphotos.Open(cfg, datasets.Train) // names the install command when data are missing
	if err != nil {
		fmt.Println(err)
		return
	}
	labelled, unlabelled, err := train.SplitLabelled(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train.Shape(), labelled.Len(), unlabelled.Len()) // 3×64×64 5000 55000
}
