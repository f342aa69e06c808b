package nn

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"gorgonia.org/tensor"
)

// smallDataGeoms are convolutions whose input gradient convBackDataSmall
// computes: 1 to 3 input channels, stride 1, rows of 8, 16, 32 and 40
// pixels.
var smallDataGeoms = []struct {
	n, cin, cout, k, pad, h, w int
	bias                       bool
}{
	{3, 1, 5, 3, 1, 4, 32, false}, // one 32-pixel group per row
	{2, 2, 7, 3, 1, 3, 40, true},  // a 32- and an 8-pixel group
	{2, 3, 4, 3, 1, 5, 16, false}, // a pair and a single channel
	{2, 2, 3, 5, 2, 6, 8, false},  // 5×5
	{2, 1, 3, 3, 0, 6, 8, true},   // no padding: a wider border
	{11, 2, 6, 1, 0, 4, 8, false}, // 1×1, more samples than chunks
}

func smallDataCases() []layerCase {
	var cs []layerCase
	for _, c := range smallDataGeoms {
		cs = append(cs, convCase(c.n, c.cin, c.cout, c.k, 1, c.pad, c.h, c.w, c.bias))
	}
	return cs
}

// TestSmallDataPath checks that the cases take the direct path.
func TestSmallDataPath(t *testing.T) {
	for _, c := range smallDataGeoms {
		g := convGeom{n: c.n, cin: c.cin, h: c.h, w: c.w, cout: c.cout, k: c.k, stride: 1, pad: c.pad}
		g.oh, g.ow = c.h+2*c.pad-c.k+1, c.w+2*c.pad-c.k+1
		if !g.smallData() {
			t.Fatalf("%v: not on the direct path", g)
		}
	}
}

// TestSmallDataMatchesComposed checks the direct input gradient (with the
// portable and the assembly loops) against gorgonia's convolution in
// float64, float32 against float64, its gradients against finite
// differences, and bit-identical results whatever the number of cores.
func TestSmallDataMatchesComposed(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		for _, lc := range smallDataCases() {
			t.Run(lc.name, func(t *testing.T) {
				want := runCase(t, lc, tensor.Float64, true)
				got := runCase(t, lc, tensor.Float64, false)
				compareResults(t, want, got, 1e-10)
				got32 := runCase(t, lc, tensor.Float32, false)
				compareResults(t, got, got32, 2e-4)
			})
		}
	})
}

func TestSmallDataGradients(t *testing.T) {
	for _, lc := range smallDataCases() {
		t.Run(lc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			params, forward := lc.build(tensor.Float64, rng)
			checkLayerGrad(t, lc.mode, lc.xShape, params, forward)
		})
	}
}

func TestSmallDataDeterministic(t *testing.T) {
	lc := convCase(7, 2, 5, 3, 1, 1, 5, 40, false)
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	want := runCase(t, lc, tensor.Float32, false)
	for _, procs := range []int{2, 3} {
		runtime.GOMAXPROCS(procs)
		compareResults(t, want, runCase(t, lc, tensor.Float32, false), 0)
	}
}

func TestDeinterleave(t *testing.T) {
	withAsm(t, func(t *testing.T) {
		for n := 0; n <= 41; n++ {
			src := make([]float32, 2*n+3)
			for i := range src {
				src[i] = float32(i) + 0.5
			}
			a, b := make([]float32, n+1), make([]float32, n+1)
			a[n], b[n] = -1, -1
			deinterleave(a[:n], b[:n], src)
			for i := 0; i < n; i++ {
				require.Equal(t, src[2*i], a[i], "n=%d a[%d]", n, i)
				require.Equal(t, src[2*i+1], b[i], "n=%d b[%d]", n, i)
			}
			require.Equal(t, float32(-1), a[n], "n=%d: wrote past a", n)
			require.Equal(t, float32(-1), b[n], "n=%d: wrote past b", n)
		}
	})
}
