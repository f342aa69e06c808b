// Kernels of the learnviews ops that have no cuDNN or gorgonia counterpart
// (cuda build only). scripts/cuda/gen-modules.sh compiles this file to PTX
// as the module "learnviews"; Go looks a kernel up as
// "learnviews.<name>_f32" or "_f64" and launches it over a grid-stride
// loop, so any grid size covers any length.

#define GRID_STRIDE(i, n) \
	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)blockDim.x * gridDim.x)

#define KERNELS(T, SUFFIX)                                                                          \
	/* copy_plane: channel sc of src (N, srcC, HW) into channel dc of dst (N, dstC, HW),        */ \
	/* or added to it when accumulate is non-zero.                                               */ \
	__global__ void copy_plane_##SUFFIX(T *dst, int dstC, int dc, const T *src, int srcC, int sc,  \
					    int n, int hw, int accumulate) {                          \
		long total = (long)n * hw;                                                          \
		GRID_STRIDE(i, total) {                                                             \
			long b = i / hw, p = i % hw;                                                \
			T v = src[(b * srcC + sc) * hw + p];                                        \
			long d = (b * dstC + dc) * hw + p;                                          \
			if (accumulate) {                                                           \
				dst[d] += v;                                                        \
			} else {                                                                    \
				dst[d] = v;                                                         \
			}                                                                           \
		}                                                                                   \
	}                                                                                           \
	/* fill: dst[i] = v */                                                                      \
	__global__ void fill_##SUFFIX(T *dst, T v, int size) {                                      \
		GRID_STRIDE(i, size) { dst[i] = v; }                                                \
	}                                                                                           \
	/* leaky: y = x where x >= 0, slope * x elsewhere */                                       \
	__global__ void leaky_##SUFFIX(T *y, const T *x, T slope, int size) {                       \
		GRID_STRIDE(i, size) {                                                              \
			T v = x[i];                                                                 \
			y[i] = v >= 0 ? v : slope * v;                                              \
		}                                                                                   \
	}                                                                                           \
	/* leaky_back: dx = dy where x >= 0, slope * dy elsewhere */                               \
	__global__ void leaky_back_##SUFFIX(T *dx, const T *x, const T *dy, T slope, int size) {    \
		GRID_STRIDE(i, size) { dx[i] = x[i] >= 0 ? dy[i] : slope * dy[i]; }                \
	}

extern "C" {
KERNELS(float, f32)
KERNELS(double, f64)
}
