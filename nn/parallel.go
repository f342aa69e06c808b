package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workers returns how many goroutines the fast ops split their work over.
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// parallelItems calls f(worker, i) for every i in [0, n), spreading the
// items over at most w goroutines (the caller's included) that take the next
// item as they finish one, so that a core slowed by other load does less.
// worker is in [0, w) and no two concurrent calls share it.
func parallelItems(n, w int, f func(worker, i int)) {
	if w > n {
		w = n
	}
	if w <= 1 {
		for i := 0; i < n; i++ {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	run := func(worker int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			f(worker, i)
		}
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for k := 1; k < w; k++ {
		go func() {
			defer wg.Done()
			run(k)
		}()
	}
	run(0)
	wg.Wait()
}
