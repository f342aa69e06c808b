package nn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

func TestUseLayers(t *testing.T) {
	for _, tc := range []struct {
		set     Layers
		want    Layers
		wantErr string
	}{
		{set: "", want: DefaultLayers()},
		{set: LayersFused, want: LayersFused},
		{set: LayersComposed, want: LayersComposed},
		{set: LayersCUDNN, want: LayersCUDNN, wantErr: cudnnErr()},
		{set: "tpu", wantErr: `unknown layer set "tpu"`},
	} {
		t.Run(string(tc.set), func(t *testing.T) {
			g := NewGraph(tensor.Float32, Train, 1)
			g.UseLayers(tc.set)
			if tc.wantErr != "" {
				require.Error(t, g.Err())
				assert.Contains(t, g.Err().Error(), tc.wantErr)
				return
			}
			require.NoError(t, g.Err())
			assert.Equal(t, tc.want, g.Layers())
		})
	}
}

// cudnnErr is what asking for the cuDNN layers says in this build ("" in a
// cuda build, where they exist).
func cudnnErr() string {
	if err := cudnnMissing(); err != nil {
		return "built without CUDA support"
	}
	return ""
}

func TestUseComposedOpsLeavesCUDNN(t *testing.T) {
	g := NewGraph(tensor.Float32, Train, 1)
	g.UseComposedOps(true)
	assert.Equal(t, LayersComposed, g.Layers())
	g.UseComposedOps(false)
	assert.Equal(t, LayersFused, g.Layers())
}

// A gradient is copied into its parameter's Grad by a watch op: one whose
// size does not fit is an error at Compile, not a crash at Run.
func TestWatchIntoChecksSize(t *testing.T) {
	g := NewGraph(tensor.Float32, Train, 1)
	x := g.Constant("x", []float64{1, 2, 3}, 3)
	g.watchInto(x, tensor.New(tensor.WithShape(2), tensor.Of(tensor.Float32)))
	require.Error(t, g.Err())
	assert.Contains(t, g.Err().Error(), "3 float32 values into 2")
	g = NewGraph(tensor.Float32, Train, 1)
	x = g.Constant("x", []float64{1, 2, 3}, 3)
	g.watchInto(x, tensor.New(tensor.WithShape(3), tensor.Of(tensor.Float64)))
	require.Error(t, g.Err())
}
