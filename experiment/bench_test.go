package experiment

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkViewIteration times the reference view-learning iteration
// (ReferenceConfig, as cmd/refstep -game runs it): one estimator step on the generator's detached views and one
// generator step through the reference encoders into a VP flow of 4 blocks,
// batch 128 of 32×32 images. cpu-s/op is the process's CPU time per
// iteration, which other jobs on the machine disturb less than the wall
// time.
func BenchmarkViewIteration(b *testing.B) {
	const batch, size = 128, 32
	gm, err := NewReferenceGame(ReferenceConfig(batch, size, 1), "")
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 0))
	defer gm.Close()
	x := make([]float32, batch*3*size*size)
	for j := range x {
		x[j] = rng.Float32()
	}
	step := func(i int) {
		if _, err := gm.EstimatorStep(i, x, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := gm.GeneratorStep(i, x, nil, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	step(0) // the first run allocates the ops' workspaces
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPUSeconds()
	for i := 0; i < b.N; i++ {
		step(i + 1)
	}
	b.ReportMetric((processCPUSeconds()-cpu)/float64(b.N), "cpu-s/op")
}
