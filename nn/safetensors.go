package nn

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/learnviews/learnviews/internal/atomicfile"

	"gorgonia.org/tensor"
)

// The save format is safetensors (https://huggingface.co/docs/safetensors):
// an 8-byte little-endian header length N, N bytes of JSON mapping each
// tensor name to {"dtype", "shape", "data_offsets"} plus an optional
// "__metadata__" map of strings, then the tensors' little-endian bytes.
// PyTorch users read it with safetensors.torch.load_file. Parameters are
// written as F32 or F64 with their names as keys; optimiser state sits in a
// file of its own, with the optimiser's kind and step count in the metadata.

// NamedTensor is a tensor with the name it is saved under.
type NamedTensor struct {
	Name   string
	Tensor *tensor.Dense
}

type stEntry struct {
	Dtype   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header so a corrupt length cannot make a reader
// allocate without limit.
const maxHeader = 100 << 20

// WriteSafetensors writes tensors and metadata in safetensors format.
func WriteSafetensors(w io.Writer, ts []NamedTensor, meta map[string]string) error {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	seen := map[string]bool{}
	for _, t := range ts {
		if seen[t.Name] {
			return fmt.Errorf("nn: safetensors: duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		dt, size, err := stDtype(t.Tensor.Dtype())
		if err != nil {
			return fmt.Errorf("nn: safetensors: tensor %q: %w", t.Name, err)
		}
		n := int64(t.Tensor.Shape().TotalSize()) * size
		shape := append([]int{}, t.Tensor.Shape()...)
		if t.Tensor.IsScalar() {
			shape = []int{}
		}
		header[t.Name] = stEntry{Dtype: dt, Shape: shape, Offsets: [2]int64{off, off + n}}
		off += n
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("nn: safetensors: header: %w", err)
	}
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	bw := bufio.NewWriter(w)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
	bw.Write(lenBuf[:])
	bw.Write(hb)
	var b [8]byte
	for _, t := range ts {
		switch d := t.Tensor.Data().(type) {
		case []float32:
			for _, v := range d {
				binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
				bw.Write(b[:4])
			}
		case []float64:
			for _, v := range d {
				binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
				bw.Write(b[:])
			}
		}
	}
	return bw.Flush()
}

func stDtype(dt tensor.Dtype) (string, int64, error) {
	switch dt {
	case tensor.Float32:
		return "F32", 4, nil
	case tensor.Float64:
		return "F64", 8, nil
	}
	return "", 0, fmt.Errorf("unsupported dtype %v (want float32 or float64)", dt)
}

// ReadSafetensors parses a safetensors stream. It returns the tensors by
// name, their names in file order and the metadata.
func ReadSafetensors(r io.Reader) (map[string]*tensor.Dense, []string, map[string]string, error) {
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, nil, nil, fmt.Errorf("reading header length: %w", unexpectedEOF(err))
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > maxHeader {
		return nil, nil, nil, fmt.Errorf("header length %d is implausible (corrupt file?)", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, nil, nil, fmt.Errorf("reading %d-byte header: %w", hlen, unexpectedEOF(err))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("header is not valid JSON: %w", err)
	}
	meta := map[string]string{}
	entries := map[string]stEntry{}
	var names []string
	for k, v := range raw {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &meta); err != nil {
				return nil, nil, nil, fmt.Errorf("__metadata__ is not a map of strings: %w", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %q: bad header entry: %w", k, err)
		}
		entries[k] = e
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return entries[names[i]].Offsets[0] < entries[names[j]].Offsets[0] })
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading tensor data: %w", err)
	}
	out := make(map[string]*tensor.Dense, len(names))
	var next int64
	for _, name := range names {
		e := entries[name]
		var size int64
		switch e.Dtype {
		case "F32":
			size = 4
		case "F64":
			size = 8
		default:
			return nil, nil, nil, fmt.Errorf("tensor %q: unsupported dtype %q (want F32 or F64)", name, e.Dtype)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, nil, nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, e.Shape)
			}
			count *= int64(d)
			if count > int64(len(data)) {
				return nil, nil, nil, fmt.Errorf("tensor %q: shape %v is larger than the file", name, e.Shape)
			}
		}
		b, en := e.Offsets[0], e.Offsets[1]
		if b != next || en < b || en > int64(len(data)) || en-b != count*size {
			return nil, nil, nil, fmt.Errorf("tensor %q: data offsets [%d, %d) do not fit shape %v of %s in %d data bytes (truncated or corrupt file?)", name, b, en, e.Shape, e.Dtype, len(data))
		}
		next = en
		buf := data[b:en]
		shape := e.Shape
		if len(shape) == 0 {
			shape = []int{1}
		}
		if e.Dtype == "F32" {
			v := make([]float32, count)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
			out[name] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
		} else {
			v := make([]float64, count)
			for i := range v {
				v[i] = math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:]))
			}
			out[name] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
		}
	}
	if next != int64(len(data)) {
		return nil, nil, nil, fmt.Errorf("%d bytes after the last tensor", int64(len(data))-next)
	}
	return out, names, meta, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("file is truncated: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// SaveSafetensors writes tensors and metadata to path atomically.
func SaveSafetensors(path string, ts []NamedTensor, meta map[string]string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return WriteSafetensors(w, ts, meta) })
}

// LoadSafetensors reads a safetensors file.
func LoadSafetensors(path string) (map[string]*tensor.Dense, []string, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	ts, names, meta, err := ReadSafetensors(bufio.NewReader(f))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ts, names, meta, nil
}

// Save writes every parameter and buffer of ps to path as safetensors,
// atomically.
func (ps Params) Save(path string, meta map[string]string) error {
	if err := ps.Check(); err != nil {
		return err
	}
	ts := make([]NamedTensor, len(ps))
	for i, p := range ps {
		ts[i] = NamedTensor{p.Name, p.Value}
	}
	return SaveSafetensors(path, ts, meta)
}

// Load reads path into ps. The file must hold exactly the parameters of ps
// with their shapes: a missing, extra or mis-shaped tensor is an error that
// names it. Values are converted to each parameter's dtype.
func (ps Params) Load(path string) (map[string]string, error) {
	ts, _, meta, err := LoadSafetensors(path)
	if err != nil {
		return nil, err
	}
	if err := ps.LoadTensors(ts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return meta, nil
}

// LoadTensors copies named tensors into ps with the same checks as Load.
func (ps Params) LoadTensors(ts map[string]*tensor.Dense) error {
	for _, p := range ps {
		t, ok := ts[p.Name]
		if !ok {
			return fmt.Errorf("missing tensor %q", p.Name)
		}
		if !t.Shape().Eq(p.Shape()) && !(p.Value.IsScalar() && t.Shape().TotalSize() == 1) {
			return fmt.Errorf("tensor %q has shape %v, want %v", p.Name, t.Shape(), p.Shape())
		}
	}
	names := map[string]bool{}
	for _, p := range ps {
		names[p.Name] = true
	}
	var extra []string
	for name := range ts {
		if !names[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("unexpected tensor %q (the model has no parameter of that name)", extra[0])
	}
	for _, p := range ps {
		if err := p.SetFloat64s(Float64s(ts[p.Name])); err != nil {
			return err
		}
	}
	return nil
}

// SaveOptimizer writes an optimiser's state to path atomically.
func SaveOptimizer(path string, o Optimizer) error {
	ts, meta := o.State()
	return SaveSafetensors(path, ts, meta)
}

// LoadOptimizer restores an optimiser's state from path.
func LoadOptimizer(path string, o Optimizer) error {
	ts, _, meta, err := LoadSafetensors(path)
	if err != nil {
		return err
	}
	if err := o.LoadState(ts, meta); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
