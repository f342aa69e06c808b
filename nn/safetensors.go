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

// maxHeader bounds the JSON header so that a corrupt length cannot make a
// reader allocate without limit. 16 MiB holds the names, shapes and offsets
// of a few hundred thousand tensors, far more than any model here has.
const maxHeader = 16 << 20

// stChunk is how many bytes of tensor data a reader decodes at a time.
const stChunk = 64 << 10

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
// name, their names in file order and the metadata. It checks every count
// and size in the header before it allocates; as it cannot know how long the
// stream is, it grows each tensor as its data arrives, so that a header that
// claims more than the stream holds costs no more memory than the stream.
func ReadSafetensors(r io.Reader) (map[string]*tensor.Dense, []string, map[string]string, error) {
	return readSafetensors(r, -1)
}

// stTensor is a header entry, checked.
type stTensor struct {
	name       string
	dtype      string
	shape      []int
	count      int64 // elements
	begin, end int64 // data offsets
}

// readSafetensors reads a safetensors stream of size bytes, or of unknown
// size when size < 0. With the size known, the header's sizes are checked
// against it before anything is allocated.
func readSafetensors(r io.Reader, size int64) (map[string]*tensor.Dense, []string, map[string]string, error) {
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, nil, nil, fmt.Errorf("reading header length: %w", unexpectedEOF(err))
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > maxHeader {
		return nil, nil, nil, fmt.Errorf("header length %d is implausible: more than %d bytes (corrupt file?)", hlen, maxHeader)
	}
	if size >= 0 && hlen > uint64(size-8) {
		return nil, nil, nil, fmt.Errorf("header length %d: file is truncated: only %d bytes follow it: %w", hlen, size-8, io.ErrUnexpectedEOF)
	}
	hb, err := readUpTo(r, int64(hlen), size >= 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading %d-byte header: %w", hlen, unexpectedEOF(err))
	}
	if uint64(len(hb)) < hlen {
		return nil, nil, nil, fmt.Errorf("reading %d-byte header: %w", hlen, unexpectedEOF(io.EOF))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hb, &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("header is not valid JSON: %w", err)
	}
	meta := map[string]string{}
	var tensors []stTensor
	// In the order of the names, so that of several bad entries the same
	// one is reported each time.
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
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
		t, err := checkStEntry(k, e)
		if err != nil {
			return nil, nil, nil, err
		}
		tensors = append(tensors, t)
	}
	// File order is data order. Every tensor holds data, so two that start
	// at the same offset overlap; the name breaks the tie so that the error
	// does not depend on the map's order.
	sort.Slice(tensors, func(i, j int) bool {
		a, b := tensors[i], tensors[j]
		if a.begin != b.begin {
			return a.begin < b.begin
		}
		return a.name < b.name
	})
	// The data must be the tensors one after another, with no gap, overlap
	// or trailing bytes.
	var next int64
	for i, t := range tensors {
		if t.begin != next {
			what := "do not start at 0, where the data begins"
			if i > 0 {
				prev := tensors[i-1]
				what = fmt.Sprintf("leave a gap after tensor %q, which ends at %d", prev.name, prev.end)
				if t.begin < next {
					what = fmt.Sprintf("overlap tensor %q at [%d, %d)", prev.name, prev.begin, prev.end)
				}
			}
			return nil, nil, nil, fmt.Errorf("tensor %q: data offsets [%d, %d) %s", t.name, t.begin, t.end, what)
		}
		next = t.end
	}
	if size >= 0 {
		avail := size - 8 - int64(hlen)
		for _, t := range tensors {
			if t.end > avail {
				return nil, nil, nil, fmt.Errorf("tensor %q: data offsets [%d, %d) run past the %d data bytes of the file: file is truncated: %w", t.name, t.begin, t.end, avail, io.ErrUnexpectedEOF)
			}
		}
		if next != avail {
			return nil, nil, nil, fmt.Errorf("%d bytes after the last tensor", avail-next)
		}
	}
	out := make(map[string]*tensor.Dense, len(tensors))
	names := make([]string, len(tensors))
	chunk := make([]byte, stChunk)
	for i, t := range tensors {
		v, err := readStData(r, t, size >= 0, chunk)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %q: data offsets [%d, %d): %w", t.name, t.begin, t.end, unexpectedEOF(err))
		}
		shape := t.shape
		if len(shape) == 0 {
			shape = []int{1}
		}
		out[t.name] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
		names[i] = t.name
	}
	if size < 0 {
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading past the last tensor: %w", err)
		}
		if n > 0 {
			return nil, nil, nil, fmt.Errorf("%d bytes after the last tensor", n)
		}
	}
	return out, names, meta, nil
}

// checkStEntry checks a header entry: its dtype, its shape, whose element
// count and byte size are computed without overflow, and that its data
// offsets span exactly that size.
func checkStEntry(name string, e stEntry) (stTensor, error) {
	var elem int64
	switch e.Dtype {
	case "F32":
		elem = 4
	case "F64":
		elem = 8
	default:
		return stTensor{}, fmt.Errorf("tensor %q: unsupported dtype %q (want F32 or F64)", name, e.Dtype)
	}
	// The element count is checked against the largest one whose byte size
	// fits an int before each product, so that none overflows.
	limit := int64(math.MaxInt) / elem
	count := int64(1)
	for _, d := range e.Shape {
		if d < 0 {
			return stTensor{}, fmt.Errorf("tensor %q: negative dimension in shape %v", name, e.Shape)
		}
		if d == 0 {
			// A tensor of this package holds at least one element.
			return stTensor{}, fmt.Errorf("tensor %q: zero dimension in shape %v (empty tensors are not supported)", name, e.Shape)
		}
		if count > limit/int64(d) {
			return stTensor{}, fmt.Errorf("tensor %q: shape %v has more elements than a %s tensor can hold (%d)", name, e.Shape, e.Dtype, limit)
		}
		count *= int64(d)
	}
	b, en := e.Offsets[0], e.Offsets[1]
	if b < 0 || en < b {
		return stTensor{}, fmt.Errorf("tensor %q: data offsets [%d, %d) are out of order", name, b, en)
	}
	if en-b != count*elem {
		return stTensor{}, fmt.Errorf("tensor %q: data offsets [%d, %d) do not fit shape %v of %s: %d bytes, want %d", name, b, en, e.Shape, e.Dtype, en-b, count*elem)
	}
	return stTensor{name: name, dtype: e.Dtype, shape: e.Shape, count: count, begin: b, end: en}, nil
}

// readUpTo reads n bytes of r, or fewer when r ends first. Unless the
// source is known to hold them (sized), the buffer grows as the bytes
// arrive instead of being allocated at once.
func readUpTo(r io.Reader, n int64, sized bool) ([]byte, error) {
	if sized {
		b := make([]byte, n)
		m, err := io.ReadFull(r, b)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = nil
		}
		return b[:m], err
	}
	return io.ReadAll(io.LimitReader(r, n))
}

// readStData reads a tensor's elements. When the source is known to hold
// them (sized) the slice is allocated at once; otherwise it grows as the data
// arrives.
func readStData(r io.Reader, t stTensor, sized bool, chunk []byte) (any, error) {
	if t.dtype == "F32" {
		return readElems(r, t.count, 4, sized, chunk, func(b []byte) float32 {
			return math.Float32frombits(binary.LittleEndian.Uint32(b))
		})
	}
	return readElems(r, t.count, 8, sized, chunk, func(b []byte) float64 {
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	})
}

func readElems[T float32 | float64](r io.Reader, count int64, size int, sized bool, chunk []byte, decode func([]byte) T) ([]T, error) {
	per := int64(len(chunk) / size)
	v := make([]T, 0, min(count, per))
	if sized {
		v = make([]T, 0, count)
	}
	for rem := count; rem > 0; {
		n := min(rem, per)
		b := chunk[:n*int64(size)]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		for i := 0; i < len(b); i += size {
			v = append(v, decode(b[i:i+size]))
		}
		rem -= n
	}
	return v, nil
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
	// The file's size bounds what its header may claim.
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	ts, names, meta, err := readSafetensors(bufio.NewReader(f), size)
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
