package contrast

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// KNNConfig configures the kNN classifier.
type KNNConfig struct {
	K   int     // neighbours; default 200 as in InstDis
	Tau float64 // vote weight exp(cos/τ); default 0.07
}

// KNN classifies each test feature by a weighted vote of its K nearest
// training features under cosine similarity, each neighbour voting for its
// class with weight exp(cos/τ) (Wu et al., 2018), and returns the top-1
// accuracy.
func KNN(trainX [][]float64, trainY []int, testX [][]float64, testY []int, classes int, cfg KNNConfig) (float64, error) {
	if err := checkXY("train", trainX, trainY, classes); err != nil {
		return 0, err
	}
	if err := checkXY("test", testX, testY, classes); err != nil {
		return 0, err
	}
	if len(testX) == 0 {
		return 0, fmt.Errorf("contrast: knn: empty test set")
	}
	if len(testX[0]) != len(trainX[0]) {
		return 0, fmt.Errorf("contrast: knn: test features have %d dims, train %d", len(testX[0]), len(trainX[0]))
	}
	if cfg.K == 0 {
		cfg.K = 200
	}
	if cfg.Tau == 0 {
		cfg.Tau = 0.07
	}
	k := min(cfg.K, len(trainX))
	train := unitRows(trainX)
	test := unitRows(testX)
	right := make([]int, len(test))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sims := make([]float64, len(train))
			idx := make([]int, len(train))
			votes := make([]float64, classes)
			for i := w; i < len(test); i += workers {
				for j, r := range train {
					sims[j] = dot(test[i], r)
					idx[j] = j
				}
				sort.Slice(idx, func(a, b int) bool { return sims[idx[a]] > sims[idx[b]] })
				for c := range votes {
					votes[c] = 0
				}
				for _, j := range idx[:k] {
					votes[trainY[j]] += math.Exp(sims[j] / cfg.Tau)
				}
				if argmax(votes) == testY[i] {
					right[i] = 1
				}
			}
		}(w)
	}
	wg.Wait()
	n := 0
	for _, r := range right {
		n += r
	}
	return float64(n) / float64(len(test)), nil
}

func unitRows(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, r := range x {
		var s float64
		for _, v := range r {
			s += v * v
		}
		inv := 1.0
		if s > 0 {
			inv = 1 / math.Sqrt(s)
		}
		o := make([]float64, len(r))
		for j, v := range r {
			o[j] = v * inv
		}
		out[i] = o
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
