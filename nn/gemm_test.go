package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

func naiveGemm(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			out[i*n+j] = s
		}
	}
	return out
}

func gemmKernels(t *testing.T, f func(t *testing.T)) {
	t.Run("asm-or-default", f)
	if useAsmKernels {
		useAsmKernels = false
		defer func() { useAsmKernels = true }()
		t.Run("go", f)
	}
}

// TestGemm checks the packed matrix product against the textbook triple
// loop for every transposition, edge tiles, depths spanning several packed
// blocks, padded leading dimensions and accumulation.
func TestGemm(t *testing.T) {
	gemmKernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		sizes := [][3]int{{1, 1, 1}, {6, 16, 4}, {7, 17, 5}, {13, 9, 300}, {64, 33, 600}, {5, 40, 0}, {200, 50, 70}}
		for _, s := range sizes {
			m, n, k := s[0], s[1], s[2]
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					name := fmt.Sprintf("%dx%dx%d/ta=%v/tb=%v", m, n, k, ta, tb)
					ar, ac := m, k
					if ta {
						ar, ac = k, m
					}
					br, bc := k, n
					if tb {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+3, bc+1, n+2
					a := make([]float64, max(ar*lda, 1))
					b := make([]float64, max(br*ldb, 1))
					for i := range a {
						a[i] = rng.NormFloat64()
					}
					for i := range b {
						b[i] = rng.NormFloat64()
					}
					want := naiveGemm(ta, tb, m, n, k, a, lda, b, ldb)
					c0 := make([]float64, m*ldc)
					for i := range c0 {
						c0[i] = rng.NormFloat64()
					}
					// float64, overwrite and accumulate
					for _, acc := range []bool{false, true} {
						c := append([]float64(nil), c0...)
						beta := 0.0
						if acc {
							beta = 1
						}
						Dgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								w := want[i*n+j]
								if acc {
									w += c0[i*ldc+j]
								}
								if d := math.Abs(c[i*ldc+j] - w); d > 1e-10*(1+math.Abs(w)) {
									t.Fatalf("%s acc=%v float64: C[%d,%d] = %v, want %v", name, acc, i, j, c[i*ldc+j], w)
								}
							}
							for j := n; j < ldc; j++ {
								if c[i*ldc+j] != c0[i*ldc+j] {
									t.Fatalf("%s: wrote outside C at [%d,%d]", name, i, j)
								}
							}
						}
					}
					// float32 with alpha and beta
					a32, b32, c32 := to32(a), to32(b), to32(c0)
					Sgemm(ta, tb, m, n, k, 0.5, a32, lda, b32, ldb, 2, c32, ldc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							w := 0.5*want[i*n+j] + 2*float64(float32(c0[i*ldc+j]))
							if d := math.Abs(float64(c32[i*ldc+j]) - w); d > 1e-4*(1+math.Sqrt(float64(k))+math.Abs(w)) {
								t.Fatalf("%s float32: C[%d,%d] = %v, want %v", name, i, j, c32[i*ldc+j], w)
							}
						}
					}
				}
			}
		}
	})
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// BenchmarkSgemm measures the packed float32 matrix product on square
// matrices, one independent product per thread (GOMAXPROCS of them), and
// reports GFLOP/s over all threads: the sgemm peak of this code on the
// machine.
func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{256, 512, 1024} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			threads := runtime.GOMAXPROCS(0)
			type mats struct{ a, b, c []float32 }
			ms := make([]mats, threads)
			for t := range ms {
				ms[t] = mats{make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)}
				for i := range ms[t].a {
					ms[t].a[i] = float32(i%7) - 3
					ms[t].b[i] = float32(i%5) - 2
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for t := range ms {
					wg.Add(1)
					go func() {
						defer wg.Done()
						Sgemm(false, false, n, n, n, 1, ms[t].a, n, ms[t].b, n, 0, ms[t].c, n)
					}()
				}
				wg.Wait()
			}
			flops := 2 * float64(n) * float64(n) * float64(n) * float64(threads)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
