//go:build ignore

// Command probe is the first check on a GPU machine, before any of gorgonia
// runs: it loads the CUDA driver through gorgonia.org/cu, lists the devices,
// loads every PTX module in the folders given (gen-modules.sh writes them to
// .gpu/ptx/compute_90) and resolves each kernel, launches gorgonia's
// add_vv_f32 kernel and a cuBLAS Sgemm and compares both with the CPU. It
// needs only the driver and cuBLAS, not cuDNN, so it can be built on a
// machine without cuDNN's headers:
//
//	go build -modfile=.gpu/go.cuda.mod -tags cuda -o probe scripts/cuda/probe.go
//
// It prints key=value lines and ends with "probe: ok" or "probe: FAILED ...".
package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/cu"
	cublas "gorgonia.org/cu/blas"
)

func main() {
	// The context made current below belongs to this thread: without the
	// lock the goroutine can move and its next call fail with InvalidContext.
	runtime.LockOSThread()
	if err := run(os.Args[1:]); err != nil {
		fmt.Println("probe: FAILED:", err)
		os.Exit(1)
	}
	fmt.Println("probe: ok")
}

var entry = regexp.MustCompile(`\.entry\s+([A-Za-z0-9_]+)\s*\(`)

func run(dirs []string) error {
	if err := cu.InitError(); err != nil {
		return err
	}
	fmt.Printf("driver_version=%d\n", cu.Version())
	n, err := cu.NumDevices()
	if err != nil {
		return fmt.Errorf("counting devices: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("no CUDA device")
	}
	for i := 0; i < n; i++ {
		d, err := cu.GetDevice(i)
		if err != nil {
			return err
		}
		name, _ := d.Name()
		major, minor, _ := d.ComputeCapability()
		mem, _ := d.TotalMem()
		fmt.Printf("device%d=%q compute_capability=%d.%d memory_gib=%.1f\n", i, name, major, minor, float64(mem)/(1<<30))
	}
	dev, _ := cu.GetDevice(0)
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return fmt.Errorf("creating a context: %w", err)
	}
	defer ctx.Destroy()

	var add cu.Function
	haveAdd := false
	modules, kernels := 0, 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.ptx"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			mod, err := cu.LoadData(string(data))
			if err != nil {
				return fmt.Errorf("loading %s: %w", f, err)
			}
			modules++
			for _, m := range entry.FindAllStringSubmatch(string(data), -1) {
				fn, err := mod.Function(m[1])
				if err != nil {
					return fmt.Errorf("%s: kernel %s: %w", f, m[1], err)
				}
				kernels++
				if m[1] == "add_vv_f32" {
					add, haveAdd = fn, true
				}
			}
		}
	}
	fmt.Printf("ptx_modules=%d kernels=%d\n", modules, kernels)
	if len(dirs) > 0 && modules == 0 {
		return fmt.Errorf("no .ptx files in %s", strings.Join(dirs, ", "))
	}

	rng := rand.New(rand.NewPCG(1, 2))
	if haveAdd {
		const size = 1 << 20
		a, b := randoms(rng, size), randoms(rng, size)
		da, db := upload(a), upload(b)
		if err := launchAdd(add, da, db, size); err != nil {
			return err
		}
		got := download(da, size)
		worst := 0.0
		for i := range got {
			worst = math.Max(worst, math.Abs(float64(got[i]-(a[i]+b[i]))))
		}
		cu.MemFree(da)
		cu.MemFree(db)
		fmt.Printf("kernel_add_vv_f32_max_abs_err=%g\n", worst)
		if worst != 0 {
			return fmt.Errorf("add_vv_f32 differs from the CPU by %g", worst)
		}
	}

	const m = 256
	a, b := randoms(rng, m*m), randoms(rng, m*m)
	da, db, dc := upload(a), upload(b), upload(make([]float32, m*m))
	impl := cublas.New()
	impl.Sgemm(blas.NoTrans, blas.NoTrans, m, m, m, 1, onDevice(da, m*m), m, onDevice(db, m*m), m, 0, onDevice(dc, m*m), m)
	if err := impl.Err(); err != nil {
		return fmt.Errorf("cublasSgemm: %w", err)
	}
	if err := cu.Synchronize(); err != nil {
		return err
	}
	got := download(dc, m*m)
	impl.Close()
	// column-major C = A·B, as cuBLAS sees the arrays
	worst := 0.0
	for j := 0; j < m; j++ {
		for i := 0; i < m; i++ {
			var s float64
			for k := 0; k < m; k++ {
				s += float64(a[k*m+i]) * float64(b[j*m+k])
			}
			worst = math.Max(worst, math.Abs(float64(got[j*m+i])-s)/math.Max(1, math.Abs(s)))
		}
	}
	fmt.Printf("cublas_sgemm_%d_max_rel_err=%.3g\n", m, worst)
	if worst > 1e-3 {
		return fmt.Errorf("cuBLAS Sgemm differs from the CPU by %g", worst)
	}
	return nil
}

func randoms(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

func upload(v []float32) cu.DevicePtr {
	d, err := cu.MemAlloc(int64(4 * len(v)))
	if err != nil {
		panic(err)
	}
	if err := cu.MemcpyHtoD(d, unsafe.Pointer(&v[0]), int64(4*len(v))); err != nil {
		panic(err)
	}
	return d
}

func download(d cu.DevicePtr, n int) []float32 {
	v := make([]float32, n)
	if err := cu.MemcpyDtoH(unsafe.Pointer(&v[0]), d, int64(4*n)); err != nil {
		panic(err)
	}
	return v
}

// onDevice makes a slice header over device memory, as gorgonia hands
// device tensors to cuBLAS; it must never be read on the host.
func onDevice(d cu.DevicePtr, n int) []float32 {
	p := *(*unsafe.Pointer)(unsafe.Pointer(&d)) // the address as a pointer, never dereferenced here
	return unsafe.Slice((*float32)(p), n)
}

func launchAdd(fn cu.Function, a, b cu.DevicePtr, size int) error {
	n := int32(size)
	args := []unsafe.Pointer{unsafe.Pointer(&a), unsafe.Pointer(&b), unsafe.Pointer(&n)}
	const block = 256
	if err := fn.Launch((size+block-1)/block, 1, 1, block, 1, 1, 0, cu.Stream{}, args); err != nil {
		return fmt.Errorf("launching add_vv_f32: %w", err)
	}
	return cu.Synchronize()
}
