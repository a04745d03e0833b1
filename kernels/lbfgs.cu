// lbfgs.cu: L-BFGS's vector operations on the GPU (src/optim/lbfgs.c keeps the scalars, the
// stopping tests and the history ring on the host, written once for both devices). Sums are
// in double: each of up to RED_BLOCKS blocks folds a grid-stride share in cuda_reduce.cuh's
// fixed tree, then one block adds the partials in order and the one scalar is copied back.
// The launch shape depends on n only, so the same vectors give the same bits. Pointers are
// device memory; everything runs on c->stream.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"

// ---- reductions

enum { RED_DOT, RED_ASUM, RED_YS, RED_YY };

// One block's share of the sum `kind` (a, b as the kind reads them; g, pg, d, t for ys / yy).
static __global__ void lbfgs_sum_kernel(double *partials, int kind, const float *a,
                                        const float *b, const float *d, float t, size_t n) {
  double acc = 0.0;
  for (size_t i = blockIdx.x * (size_t)EW_THREADS + threadIdx.x; i < n;
       i += (size_t)gridDim.x * EW_THREADS) {
    switch (kind) {
      case RED_DOT: acc += (double)a[i] * (double)b[i]; break;
      case RED_ASUM: acc += fabs((double)a[i]); break;
      default: {  // y and s rounded to float, as the CPU stores them
        float y = a[i] - b[i], s = d[i] * t;
        acc += kind == RED_YS ? (double)y * (double)s : (double)y * (double)y;
      }
    }
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

static double lbfgs_sum(CudaCtx *c, int kind, const float *a, const float *b, const float *d,
                        float t, size_t n) {
  if (n == 0) return 0.0;
  CudaScalars *s = cuda_scalars(c);
  unsigned blocks = ew_blocks(n, RED_BLOCKS);
  lbfgs_sum_kernel<<<blocks, EW_THREADS, 0, c->stream>>>(cuda_partials(c), kind, a, b, d, t, n);
  CUDA_CHECK_LAUNCH();
  sum_partials(c, s, (int)blocks);
  return cuda_scalars_read(c).sum;
}

extern "C" double lbfgs_dot_cuda(CudaCtx *c, const float *a, const float *b, size_t n) {
  return lbfgs_sum(c, RED_DOT, a, b, NULL, 0.0f, n);
}

extern "C" double lbfgs_asum_cuda(CudaCtx *c, const float *a, size_t n) {
  return lbfgs_sum(c, RED_ASUM, a, NULL, NULL, 0.0f, n);
}

extern "C" double lbfgs_ys_yy_cuda(CudaCtx *c, const float *g, const float *pg, const float *d,
                                   float t, size_t n, int mode) {
  return lbfgs_sum(c, mode ? RED_YY : RED_YS, g, pg, d, t, n);
}

// max |a_i| with NaN winning, as reduce.c's optim_amax (torch's max propagates NaN).
struct AmaxFold {
  __device__ float operator()(float a, float b) const {
    return (isnan(a) || isnan(b)) ? __int_as_float(0x7fc00000) : fmaxf(a, b);
  }
};

static __global__ void amax_kernel(double *partials, const float *a, size_t n) {
  AmaxFold fold;
  float m = 0.0f;
  for (size_t i = blockIdx.x * (size_t)EW_THREADS + threadIdx.x; i < n;
       i += (size_t)gridDim.x * EW_THREADS)
    m = fold(m, fabsf(a[i]));
  m = block_fold(m, 0.0f, fold);
  if (threadIdx.x == 0) partials[blockIdx.x] = (double)m;
}

static __global__ void amax_final_kernel(CudaScalars *s, const double *partials, int nparts) {
  AmaxFold fold;
  float m = 0.0f;
  for (int i = threadIdx.x; i < nparts; i += EW_THREADS) m = fold(m, (float)partials[i]);
  m = block_fold(m, 0.0f, fold);
  if (threadIdx.x == 0) s->sum = (double)m;
}

extern "C" float lbfgs_amax_cuda(CudaCtx *c, const float *a, size_t n) {
  if (n == 0) return 0.0f;
  CudaScalars *s = cuda_scalars(c);
  unsigned blocks = ew_blocks(n, RED_BLOCKS);
  amax_kernel<<<blocks, EW_THREADS, 0, c->stream>>>(cuda_partials(c), a, n);
  CUDA_CHECK_LAUNCH();
  amax_final_kernel<<<1, EW_THREADS, 0, c->stream>>>(s, cuda_partials(c), (int)blocks);
  CUDA_CHECK_LAUNCH();
  return (float)cuda_scalars_read(c).sum;
}

// ---- element loops (grid-stride), the CPU loops' arithmetic (kernels built with -fmad=false)

static __global__ void axpy_kernel(float *x, float a, const float *y, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    x[i] = x[i] + a * y[i];
}

extern "C" void lbfgs_axpy_cuda(CudaCtx *c, float *x, float a, const float *y, size_t n) {
  if (n == 0) return;
  axpy_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(x, a, y, n);
  CUDA_CHECK_LAUNCH();
}

static __global__ void neg_kernel(float *d, const float *g, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x)
    d[i] = -g[i];
}

extern "C" void lbfgs_neg_cuda(CudaCtx *c, float *d, const float *g, size_t n) {
  if (n == 0) return;
  neg_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(d, g, n);
  CUDA_CHECK_LAUNCH();
}

static __global__ void pair_kernel(float *y, float *s, const float *g, const float *pg,
                                   const float *d, float t, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    y[i] = g[i] - pg[i];
    s[i] = d[i] * t;
  }
}

extern "C" void lbfgs_pair_cuda(CudaCtx *c, float *y, float *s, const float *g, const float *pg,
                                const float *d, float t, size_t n) {
  if (n == 0) return;
  pair_kernel<<<ew_blocks(n, 65535), EW_THREADS, 0, c->stream>>>(y, s, g, pg, d, t, n);
  CUDA_CHECK_LAUNCH();
}
