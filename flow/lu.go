package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// flowMix is a learned invertible 1×1 convolution on 3 channels with Glow's
// LU parameterisation W = P·L·(U + diag(sign ⊙ exp(logs))). Lower and Upper
// are stored as full 3×3 matrices of which only the strictly lower
// (respectively upper) triangle is used: the rest is masked out, gets a zero
// gradient and stays at zero.
type flowMix struct {
	perm     *nn.Param // buffer (3, 3): permutation matrix P
	sign     *nn.Param // buffer (3): ±1
	lower    *nn.Param // (3, 3): strictly lower part of L
	upper    *nn.Param // (3, 3): strictly upper part of U
	logScale *nn.Param // (3): logs
}

func newFlowMix(prefix string, dt tensor.Dtype, identity bool, rng *rand.Rand) (*flowMix, error) {
	m := &flowMix{
		perm:     nn.NewBuffer(prefix+".perm", dt, 3, 3),
		sign:     nn.NewBuffer(prefix+".sign", dt, 3),
		lower:    nn.NewParam(prefix+".lower", dt, 3, 3),
		upper:    nn.NewParam(prefix+".upper", dt, 3, 3),
		logScale: nn.NewParam(prefix+".log_scale", dt, 3),
	}
	w := flowEye3()
	if !identity {
		w = flowRandomRotation(rng)
	}
	p, l, u := flowLU3(w)
	var perm, lower, upper []float64
	sign, logs := make([]float64, 3), make([]float64, 3)
	for i := range 3 {
		for j := range 3 {
			perm = append(perm, p[i][j])
			lower = append(lower, flowIf(j < i, l[i][j]))
			upper = append(upper, flowIf(j > i, u[i][j]))
		}
		d := u[i][i]
		if d == 0 {
			return nil, fmt.Errorf("mixing convolution %s: singular initial matrix", prefix)
		}
		sign[i] = math.Copysign(1, d)
		logs[i] = math.Log(math.Abs(d))
	}
	for _, s := range []struct {
		p *nn.Param
		v []float64
	}{{m.perm, perm}, {m.sign, sign}, {m.lower, lower}, {m.upper, upper}, {m.logScale, logs}} {
		if err := s.p.SetFloat64s(s.v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func flowIf(ok bool, v float64) float64 {
	if ok {
		return v
	}
	return 0
}

func (m *flowMix) params() nn.Params {
	return nn.Params{m.lower, m.upper, m.logScale, m.perm, m.sign}
}

// check reports a permutation buffer that is not a permutation matrix or a
// sign buffer with an entry other than ±1, as a corrupt file would hold.
func (m *flowMix) check() error {
	p := m.perm.Float64s()
	for i := range 3 {
		rows, cols := 0, 0
		for j := range 3 {
			for _, v := range []float64{p[i*3+j], p[j*3+i]} {
				if v != 0 && v != 1 {
					return fmt.Errorf("tensor %q is not a permutation matrix: entry %v", m.perm.Name, v)
				}
			}
			rows += int(p[i*3+j])
			cols += int(p[j*3+i])
		}
		if rows != 1 || cols != 1 {
			return fmt.Errorf("tensor %q is not a permutation matrix: %v", m.perm.Name, p)
		}
	}
	for _, s := range m.sign.Float64s() {
		if s != 1 && s != -1 {
			return fmt.Errorf("tensor %q holds %v, want only +1 and -1", m.sign.Name, s)
		}
	}
	return nil
}

// forward returns W·x at each pixel of the (N, 3, H, W) tensor x, and the
// scalar Σ logs = log|det W|.
func (m *flowMix) forward(g *nn.Graph, x *G.Node) (y, logdet *G.Node) {
	if !g.Ok(x) {
		return nil, nil
	}
	eye := nn.Identity(g, m.lower.Name+".eye", 3)
	lowerMask := g.Constant(m.lower.Name+".mask", []float64{0, 0, 0, 1, 0, 0, 1, 1, 0}, 3, 3)
	upperMask := g.Constant(m.upper.Name+".mask", []float64{0, 1, 1, 0, 0, 1, 0, 0, 0}, 3, 3)
	logs := g.Param(m.logScale)
	l := nn.Add(g, nn.Mul(g, g.Param(m.lower), lowerMask), eye)
	diag := nn.Mul(g, g.Param(m.sign), nn.Exp(g, logs))
	// diag(v) = I ⊙ (1 × v): column j of the identity scaled by v_j.
	d := nn.BroadcastMul(g, eye, nn.Reshape(g, diag, 1, 3), 0)
	u := nn.Add(g, nn.Mul(g, g.Param(m.upper), upperMask), d)
	w := nn.MatMul(g, nn.MatMul(g, g.Param(m.perm), l), u)
	y = flowConv1x1(g, x, nn.Reshape(g, w, 3, 3, 1, 1))
	return y, nn.Sum(g, logs)
}

// matrix returns W from the current parameter values.
func (m *flowMix) matrix() [3][3]float64 {
	p, lo, up := m.perm.Float64s(), m.lower.Float64s(), m.upper.Float64s()
	sign, logs := m.sign.Float64s(), m.logScale.Float64s()
	var P, L, U [3][3]float64
	for i := range 3 {
		for j := range 3 {
			P[i][j] = p[i*3+j]
			switch {
			case j < i:
				L[i][j] = lo[i*3+j]
			case j > i:
				U[i][j] = up[i*3+j]
			default:
				L[i][j] = 1
				U[i][j] = sign[i] * math.Exp(logs[i])
			}
		}
	}
	return flowMatMul(flowMatMul(P, L), U)
}

// logDet returns log|det W| = Σ logs.
func (m *flowMix) logDet() float64 {
	var s float64
	for _, v := range m.logScale.Float64s() {
		s += v
	}
	return s
}

func flowEye3() [3][3]float64 {
	return [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
}

func flowMatMul(a, b [3][3]float64) [3][3]float64 {
	var c [3][3]float64
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

// flowRandomRotation returns a random orthogonal 3×3 matrix: the Q of the
// Gram–Schmidt QR decomposition of a matrix of N(0, 1) draws.
func flowRandomRotation(rng *rand.Rand) [3][3]float64 {
	for {
		var cols [3][3]float64 // cols[j] is column j
		for j := range 3 {
			for i := range 3 {
				cols[j][i] = rng.NormFloat64()
			}
		}
		ok := true
		for j := range 3 {
			for k := range j {
				var dot float64
				for i := range 3 {
					dot += cols[j][i] * cols[k][i]
				}
				for i := range 3 {
					cols[j][i] -= dot * cols[k][i]
				}
			}
			var norm float64
			for i := range 3 {
				norm += cols[j][i] * cols[j][i]
			}
			norm = math.Sqrt(norm)
			if norm < 1e-6 {
				ok = false
				break
			}
			for i := range 3 {
				cols[j][i] /= norm
			}
		}
		if ok {
			var q [3][3]float64
			for i := range 3 {
				for j := range 3 {
					q[i][j] = cols[j][i]
				}
			}
			return q
		}
	}
}

// flowLU3 factors w = P·L·U with partial pivoting: P a permutation matrix, L
// unit lower triangular with entries of magnitude at most 1, U upper
// triangular.
func flowLU3(w [3][3]float64) (p, l, u [3][3]float64) {
	u = w
	order := [3]int{0, 1, 2} // row i of u is row order[i] of w
	l = flowEye3()
	for k := range 3 {
		piv := k
		for i := k + 1; i < 3; i++ {
			if math.Abs(u[i][k]) > math.Abs(u[piv][k]) {
				piv = i
			}
		}
		if piv != k {
			u[k], u[piv] = u[piv], u[k]
			order[k], order[piv] = order[piv], order[k]
			for j := range k {
				l[k][j], l[piv][j] = l[piv][j], l[k][j]
			}
		}
		for i := k + 1; i < 3; i++ {
			if u[k][k] == 0 {
				continue
			}
			f := u[i][k] / u[k][k]
			l[i][k] = f
			for j := k; j < 3; j++ {
				u[i][j] -= f * u[k][j]
			}
			u[i][k] = 0
		}
	}
	// Rows order of w equal L·U, so w = P·L·U with P[order[i]][i] = 1.
	for i := range 3 {
		p[order[i]][i] = 1
	}
	return p, l, u
}

// flowInverse3 returns the inverse of a 3×3 matrix by cofactors.
func flowInverse3(m [3][3]float64) [3][3]float64 {
	var c [3][3]float64
	for i := range 3 {
		for j := range 3 {
			i1, i2 := (i+1)%3, (i+2)%3
			j1, j2 := (j+1)%3, (j+2)%3
			c[j][i] = m[i1][j1]*m[i2][j2] - m[i1][j2]*m[i2][j1]
		}
	}
	det := m[0][0]*c[0][0] + m[0][1]*c[1][0] + m[0][2]*c[2][0]
	for i := range 3 {
		for j := range 3 {
			c[i][j] /= det
		}
	}
	return c
}
