package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// naiveConv is the textbook definition of a 2-D cross-correlation, the
// reference that Conv2d's forward pass is checked against.
func naiveConv(x []float64, n, cin, h, w int, wt []float64, cout, k, stride, pad int, bias []float64) []float64 {
	oh, ow := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	out := make([]float64, n*cout*oh*ow)
	for b := 0; b < n; b++ {
		for o := 0; o < cout; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					s := 0.0
					if bias != nil {
						s = bias[o]
					}
					for c := 0; c < cin; c++ {
						for di := 0; di < k; di++ {
							for dj := 0; dj < k; dj++ {
								y, xx := i*stride+di-pad, j*stride+dj-pad
								if y < 0 || y >= h || xx < 0 || xx >= w {
									continue
								}
								s += x[((b*cin+c)*h+y)*w+xx] * wt[((o*cin+c)*k+di)*k+dj]
							}
						}
					}
					out[((b*cout+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return out
}

func TestConv2dGolden(t *testing.T) {
	// A hand-checked case: a 3×3 all-ones kernel over a 3×3 ramp with
	// padding 1 sums each pixel's neighbourhood.
	rng := rand.New(rand.NewPCG(1, 1))
	c := NewConv2d("c", tensor.Float64, 1, 1, 3, 1, 1, true, rng)
	c.W.Fill(1)
	c.B.Fill(0.5)
	got, shape := runForward(t, Train, seq(9, 1, 1), []int{1, 1, 3, 3}, c.Forward)
	assert.Equal(t, tensor.Shape{1, 1, 3, 3}, shape)
	assert.InDeltaSlice(t, []float64{12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5}, got, 1e-12)

	cases := []struct{ cin, cout, k, stride, pad, h int }{
		{2, 3, 3, 1, 1, 6}, {3, 4, 3, 2, 1, 7}, {2, 2, 5, 1, 2, 8}, {1, 2, 1, 1, 0, 4}, {2, 3, 4, 2, 0, 8},
	}
	for _, cc := range cases {
		c := NewConv2d("c", tensor.Float64, cc.cin, cc.cout, cc.k, cc.stride, cc.pad, true, rng)
		x := make([]float64, 2*cc.cin*cc.h*cc.h)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		got, shape := runForward(t, Train, x, []int{2, cc.cin, cc.h, cc.h}, c.Forward)
		want := naiveConv(x, 2, cc.cin, cc.h, cc.h, c.W.Float64s(), cc.cout, cc.k, cc.stride, cc.pad, c.B.Float64s())
		oh := c.OutSize(cc.h)
		assert.Equal(t, tensor.Shape{2, cc.cout, oh, oh}, shape, "%+v", cc)
		assert.InDeltaSlice(t, want, got, 1e-10, "%+v", cc)
	}
}

func TestConv2dGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, cc := range []struct{ cin, cout, k, stride, pad, h int }{{2, 3, 3, 1, 1, 5}, {3, 2, 3, 2, 1, 6}, {1, 2, 1, 1, 0, 3}} {
		c := NewConv2d("c", tensor.Float64, cc.cin, cc.cout, cc.k, cc.stride, cc.pad, true, rng)
		checkLayerGrad(t, Train, []int{2, cc.cin, cc.h, cc.h}, c.Params(), c.Forward)
	}
}

func TestLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	l := NewLinear("fc", tensor.Float64, 3, 2, true, rng)
	require.NoError(t, l.W.SetFloat64s([]float64{1, 0, 0, 1, 1, 1})) // (in=3, out=2)
	require.NoError(t, l.B.SetFloat64s([]float64{0.5, -1}))
	got, shape := runForward(t, Train, []float64{1, 2, 3, 4, 5, 6}, []int{2, 3}, l.Forward)
	assert.Equal(t, tensor.Shape{2, 2}, shape)
	assert.InDeltaSlice(t, []float64{1 + 3 + 0.5, 2 + 3 - 1, 4 + 6 + 0.5, 5 + 6 - 1}, got, 1e-12)

	l = NewLinear("fc", tensor.Float64, 5, 4, true, rng)
	checkLayerGrad(t, Train, []int{3, 5}, l.Params(), l.Forward)
	l = NewLinear("fc", tensor.Float64, 5, 4, false, rng)
	checkLayerGrad(t, Train, []int{3, 5}, l.Params(), l.Forward)
}

func TestLinearBadInput(t *testing.T) {
	l := NewLinear("fc", tensor.Float64, 3, 2, true, rand.New(rand.NewPCG(1, 1)))
	g := NewGraph(tensor.Float64, Train, 1)
	y := l.Forward(g, g.Input("x", 2, 4).Node())
	assert.Nil(t, y)
	require.Error(t, g.Err())
	assert.Contains(t, g.Err().Error(), "fc.weight")
	_, err := g.Compile(nil)
	assert.Error(t, err)
}

func TestBatchNormTrainAndEval(t *testing.T) {
	bn := NewBatchNorm("bn", tensor.Float64, 2)
	require.NoError(t, bn.Gamma.SetFloat64s([]float64{2, 1}))
	require.NoError(t, bn.Beta.SetFloat64s([]float64{0, 10}))
	// (N=2, C=2, H=1, W=2): channel 0 holds 1,3,5,7; channel 1 holds 2,2,2,2.
	x := []float64{1, 3, 2, 2, 5, 7, 2, 2}
	got, _ := runForward(t, Train, x, []int{2, 2, 1, 2}, bn.Forward)
	sd := math.Sqrt(5 + 1e-5) // channel 0: mean 4, biased variance 5
	want := []float64{2 * -3 / sd, 2 * -1 / sd, 10, 10, 2 * 1 / sd, 2 * 3 / sd, 10, 10}
	assert.InDeltaSlice(t, want, got, 1e-9)
	// Running statistics after one step: 0.9·init + 0.1·batch, variance unbiased.
	assert.InDeltaSlice(t, []float64{0.4, 0.2}, bn.RunMean.Float64s(), 1e-12)
	assert.InDeltaSlice(t, []float64{0.9 + 0.1*20.0/3, 0.9}, bn.RunVar.Float64s(), 1e-12)

	// Eval mode uses the running statistics.
	got, _ = runForward(t, Eval, x, []int{2, 2, 1, 2}, bn.Forward)
	rm, rv := bn.RunMean.Float64s(), bn.RunVar.Float64s()
	assert.InDelta(t, 2*(1-rm[0])/math.Sqrt(rv[0]+1e-5), got[0], 1e-9)
	assert.InDelta(t, (2-rm[1])/math.Sqrt(rv[1]+1e-5)+10, got[2], 1e-9)
	// and does not change them.
	assert.InDeltaSlice(t, rm, bn.RunMean.Float64s(), 0)
}

func TestBatchNormGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	bn := NewBatchNorm("bn", tensor.Float64, 3)
	bn.Gamma.InitNormal(rng, 1)
	bn.Beta.InitNormal(rng, 1)
	checkLayerGrad(t, Train, []int{4, 3, 2, 3}, bn.Params(), bn.Forward)
	bn1 := NewBatchNorm("bn1d", tensor.Float64, 5)
	checkLayerGrad(t, Train, []int{6, 5}, bn1.Params(), bn1.Forward)
	checkLayerGrad(t, Eval, []int{6, 5}, bn1.Params(), bn1.Forward)
}

func TestDropout(t *testing.T) {
	x := make([]float64, 10000)
	for i := range x {
		x[i] = 1
	}
	d := Dropout{P: 0.3}
	got, _ := runForward(t, Train, x, []int{100, 100}, d.Forward)
	zeros, sum := 0, 0.0
	for _, v := range got {
		if v == 0 {
			zeros++
		} else {
			assert.InDelta(t, 1/0.7, v, 1e-12)
		}
		sum += v
	}
	assert.InDelta(t, 0.3, float64(zeros)/float64(len(x)), 0.02)
	assert.InDelta(t, 1, sum/float64(len(x)), 0.03, "dropout keeps the expectation")
	got, _ = runForward(t, Eval, x, []int{100, 100}, d.Forward)
	assert.Equal(t, x, got)
	checkLayerGrad(t, Train, []int{4, 5}, nil, Dropout{P: 0.5}.Forward)
}

// Composite check: a small conv net (conv, BN, ReLU, pool, linear, L2
// normalise) differentiated end to end.
func TestSmallNetGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	c1 := NewConv2d("c1", tensor.Float64, 2, 3, 3, 1, 1, false, rng)
	bn := NewBatchNorm("bn", tensor.Float64, 3)
	fc := NewLinear("fc", tensor.Float64, 3, 4, true, rng)
	params := append(append(c1.Params(), bn.Params()...), fc.Params()...)
	checkLayerGrad(t, Train, []int{3, 2, 6, 6}, params, func(g *Graph, x *G.Node) *G.Node {
		h := MaxPool2d(g, ReLU(g, bn.Forward(g, c1.Forward(g, x))), 2, 2, 0)
		return L2Normalize(g, fc.Forward(g, GlobalAvgPool(g, h)), 1e-12)
	})
}
