package nn

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

// The exact bytes of a one-tensor file, written out by hand from the format
// description, so that a PyTorch reader sees what it expects.
func TestSafetensorsGoldenBytes(t *testing.T) {
	var buf bytes.Buffer
	v := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, -2}))
	require.NoError(t, WriteSafetensors(&buf, []NamedTensor{{"w", v}}, nil))
	header := `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for len(header)%8 != 0 {
		header += " "
	}
	want := make([]byte, 8)
	binary.LittleEndian.PutUint64(want, uint64(len(header)))
	want = append(want, header...)
	want = append(want, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0) // 1.0f, -2.0f little-endian
	assert.Equal(t, want, buf.Bytes())
}

func TestSafetensorsRoundTrip(t *testing.T) {
	ts := []NamedTensor{
		{"a.weight", tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6}))},
		{"b", tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{3.25}))},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteSafetensors(&buf, ts, map[string]string{"format": "pt", "step": "7"}))
	got, names, meta, err := ReadSafetensors(&buf)
	require.NoError(t, err)
	assert.Equal(t, []string{"a.weight", "b"}, names)
	assert.Equal(t, map[string]string{"format": "pt", "step": "7"}, meta)
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, got["a.weight"].Data())
	assert.Equal(t, tensor.Shape{2, 3}, got["a.weight"].Shape())
	assert.Equal(t, []float64{3.25}, got["b"].Data())
}

func TestParamsSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	mk := func() Params {
		return Params{NewParam("conv.weight", tensor.Float32, 2, 1, 3, 3), NewParam("conv.bias", tensor.Float32, 2), NewBuffer("bn.running_mean", tensor.Float32, 2)}
	}
	ps := mk()
	for i, p := range ps {
		p.Fill(float64(i) + 0.5)
	}
	require.NoError(t, ps.Save(path, map[string]string{"model": "test"}))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file is left behind")

	qs := mk()
	meta, err := qs.Load(path)
	require.NoError(t, err)
	assert.Equal(t, "test", meta["model"])
	for i := range ps {
		assert.Equal(t, ps[i].Float64s(), qs[i].Float64s())
	}

	// float64 model loads float32 weights (converted).
	q64 := Params{NewParam("conv.weight", tensor.Float64, 2, 1, 3, 3), NewParam("conv.bias", tensor.Float64, 2), NewBuffer("bn.running_mean", tensor.Float64, 2)}
	_, err = q64.Load(path)
	require.NoError(t, err)
	assert.Equal(t, 1.5, q64[1].Float64s()[0])

	tests := []struct {
		name  string
		ps    Params
		error string
	}{
		{"missing", Params{ps[0], ps[1], ps[2], NewParam("fc.weight", tensor.Float32, 2)}, `missing tensor "fc.weight"`},
		{"extra", Params{NewParam("conv.weight", tensor.Float32, 2, 1, 3, 3), NewParam("conv.bias", tensor.Float32, 2)}, `unexpected tensor "bn.running_mean"`},
		{"mis-shaped", Params{NewParam("conv.weight", tensor.Float32, 2, 1, 5, 5), NewParam("conv.bias", tensor.Float32, 2), NewBuffer("bn.running_mean", tensor.Float32, 2)}, `tensor "conv.weight" has shape (2, 1, 3, 3), want (2, 1, 5, 5)`},
	}
	for _, tc := range tests {
		_, err := tc.ps.Load(path)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.error, tc.name)
		assert.Contains(t, err.Error(), path, tc.name)
	}
}

func TestSafetensorsMalformed(t *testing.T) {
	var good bytes.Buffer
	require.NoError(t, WriteSafetensors(&good, []NamedTensor{{"w", tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{1, 2, 3, 4}))}}, nil))
	b := good.Bytes()
	hlen := int(binary.LittleEndian.Uint64(b))
	withHeader := func(h string) []byte {
		out := make([]byte, 8)
		binary.LittleEndian.PutUint64(out, uint64(len(h)))
		return append(append(out, h...), make([]byte, 16)...)
	}
	tests := []struct {
		name  string
		data  []byte
		error string
	}{
		{"empty", nil, "truncated"},
		{"short length", b[:4], "truncated"},
		{"truncated header", b[:8+hlen/2], "truncated"},
		{"truncated data", b[:len(b)-3], `tensor "w": data offsets`},
		{"trailing bytes", append(append([]byte{}, b...), 1, 2), "bytes after the last tensor"},
		{"huge header", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0}, b[8:]...), "implausible"},
		{"bad json", withHeader("{not json}      "), "not valid JSON"},
		{"bad dtype", withHeader(`{"w":{"dtype":"Q8","shape":[16],"data_offsets":[0,16]}}`), `unsupported dtype "Q8"`},
		{"negative dim", withHeader(`{"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}`), "negative dimension"},
		{"offsets mismatch", withHeader(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`), "do not fit"},
		{"bad metadata", withHeader(`{"__metadata__":{"a":1},"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`), "__metadata__"},
	}
	for _, tc := range tests {
		_, _, _, err := ReadSafetensors(bytes.NewReader(tc.data))
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.error, tc.name)
	}
}

func FuzzReadSafetensors(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteSafetensors(&buf, []NamedTensor{
		{"a", tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))},
		{"b", tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{5}))},
	}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte(strings.Repeat("\x00", 16)))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, names, _, err := ReadSafetensors(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever parses must write back and parse to the same tensors.
		var out []NamedTensor
		for _, n := range names {
			out = append(out, NamedTensor{n, ts[n]})
		}
		var w bytes.Buffer
		if err := WriteSafetensors(&w, out, nil); err != nil {
			t.Fatal(err)
		}
		again, _, _, err := ReadSafetensors(&w)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) != len(ts) {
			t.Fatalf("round trip changed the tensor count: %d -> %d", len(ts), len(again))
		}
	})
}
