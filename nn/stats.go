package nn

// TensorBytes returns how many bytes the values of every node in the
// program's graph occupy: inputs, parameters, activations, gradients and
// intermediate results, each counted once. It sizes a step's memory, for
// instance to compare it with the bytes a run allocates.
func (p *Program) TensorBytes() int64 {
	var total int64
	for _, n := range p.g.g.AllNodes() {
		if n.Shape() == nil && !n.IsScalar() {
			continue
		}
		total += int64(max(1, n.Shape().TotalSize())) * int64(n.Dtype().Size())
	}
	return total
}
