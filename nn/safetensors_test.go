package nn

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
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
		// The element count overflows int64 unless it is checked as it is
		// multiplied out.
		{"shape overflow", withHeader(`{"w":{"dtype":"F32","shape":[2,4611686018427387904],"data_offsets":[0,0]}}`), `tensor "w": shape [2 4611686018427387904] has more elements`},
		{"byte size overflow", withHeader(`{"w":{"dtype":"F64","shape":[1152921504606846976],"data_offsets":[0,0]}}`), `tensor "w": shape [1152921504606846976] has more elements`},
		{"zero dimension", withHeader(`{"w":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}}`), `tensor "w": zero dimension in shape [0 4611686018427387904 4]`},
		{"negative offset", withHeader(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[-16,0]}}`), `tensor "w": data offsets [-16, 0) are out of order`},
		{"offsets reversed", withHeader(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[16,12]}}`), `tensor "w": data offsets [16, 12) are out of order`},
		{"same start", withHeader(`{"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`), `tensor "b": data offsets [0, 8) overlap tensor "a" at [0, 16)`},
		{"not at 0", withHeader(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`), `tensor "w": data offsets [8, 16) do not start at 0`},
		{"overlap", withHeader(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`), `tensor "b": data offsets [8, 16) overlap tensor "a" at [0, 12)`},
		{"gap", withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`), `tensor "b": data offsets [8, 16) leave a gap after tensor "a"`},
		{"beyond the data", withHeader(`{"w":{"dtype":"F64","shape":[4],"data_offsets":[0,32]}}`), `tensor "w": data offsets [0, 32): file is truncated`},
		{"dtype size mismatch", withHeader(`{"w":{"dtype":"F64","shape":[4],"data_offsets":[0,16]}}`), `tensor "w": data offsets [0, 16) do not fit shape [4] of F64: 16 bytes, want 32`},
		{"header over the cap", append([]byte{0, 0, 0, 2, 0, 0, 0, 0}, b[8:]...), "implausible: more than 16777216 bytes"},
	}
	for _, tc := range tests {
		_, _, _, err := ReadSafetensors(bytes.NewReader(tc.data))
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.error, tc.name)
		// Read from a file, whose size is known, the same file fails too,
		// naming the file.
		path := filepath.Join(t.TempDir(), "w.safetensors")
		require.NoError(t, os.WriteFile(path, tc.data, 0o644))
		_, _, _, err = LoadSafetensors(path)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), path+": ", tc.name)
	}
}

// A file's size bounds what its header may claim: a header or data larger
// than the file fails before anything of that size is allocated.
func TestLoadSafetensorsChecksSizesAgainstTheFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, header string, data int) string {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, uint64(len(header)))
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, append(append(b, header...), make([]byte, data)...), 0o644))
		return p
	}
	tests := []struct {
		path, error string
	}{
		{write("data-short", `{"w":{"dtype":"F32","shape":[1048576],"data_offsets":[0,4194304]}}`, 16), `tensor "w": data offsets [0, 4194304) run past the 16 data bytes of the file: file is truncated`},
		{write("data-long", `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 12), "4 bytes after the last tensor"},
	}
	// A header length beyond the file, rewritten in place.
	p := write("header-beyond", `{}`, 0)
	raw, _ := os.ReadFile(p)
	binary.LittleEndian.PutUint64(raw, 1<<20)
	require.NoError(t, os.WriteFile(p, raw, 0o644))
	tests = append(tests, struct{ path, error string }{p, "header length 1048576: file is truncated: only 2 bytes follow it"})
	for _, tc := range tests {
		_, _, _, err := LoadSafetensors(tc.path)
		require.Error(t, err, tc.path)
		assert.Contains(t, err.Error(), tc.path+": ", tc.path)
		assert.Contains(t, err.Error(), tc.error, tc.path)
	}
}

// A stream whose header claims a tensor far larger than the stream costs
// memory in proportion to the stream, not to the claim.
func TestReadSafetensorsMemoryFollowsTheData(t *testing.T) {
	const claim, held = 1 << 30, 1 << 20 // bytes
	header := `{"w":{"dtype":"F32","shape":[268435456],"data_offsets":[0,1073741824]}}`
	in := make([]byte, 8, 8+len(header)+held)
	binary.LittleEndian.PutUint64(in, uint64(len(header)))
	in = append(append(in, header...), make([]byte, held)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, _, err := ReadSafetensors(bytes.NewReader(in))
	runtime.ReadMemStats(&after)
	require.ErrorContains(t, err, `tensor "w": data offsets [0, 1073741824): file is truncated`)
	// The decoded elements take as many bytes as the data read; growing the
	// slice as they arrive allocates a small multiple of that.
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(8*held), "allocated %d bytes for a %d-byte stream claiming %d", allocated, len(in), claim)
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
		// Knowing the size up front changes when a bad file is caught, not
		// whether it is.
		sized, sizedNames, _, sizedErr := readSafetensors(bytes.NewReader(data), int64(len(data)))
		if (err == nil) != (sizedErr == nil) {
			t.Fatalf("stream: %v; sized: %v", err, sizedErr)
		}
		if err != nil {
			return
		}
		if len(sized) != len(ts) || strings.Join(sizedNames, "\x00") != strings.Join(names, "\x00") {
			t.Fatalf("stream read %v, sized read %v", names, sizedNames)
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
