// cross_entropy.cu: softmax cross-entropy with the CPU op's per-row arithmetic (ops/
// elementwise.h's ce_*, exp from base/fastmath.h): forward takes one block per row (max, then
// the sum of exp in double, both folded in a fixed tree), backward one thread per logit.
// Targets are device int32, checked on the device (the first bad row is read back with the
// loss, or after backward) and reported with the CPU's message.
#include <math.h>

#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"
#include "base/elementwise.h"

struct CeMax {
  __device__ float operator()(float a, float b) const { return ce_max(a, b); }
};

// Block b takes rows b, b + gridDim.x, ...: writes their lse and adds their losses, in that
// order, into partials[b]; sum_partials then adds the partials in a fixed order.
static __global__ void ce_forward_kernel(float *lse, double *partials, const float *logits,
                                         const int32_t *targets, int N, int V, CudaScalars *s) {
  double acc = 0.0;  // this block's rows (thread 0)
  for (int n = blockIdx.x; n < N; n += gridDim.x) {
    const float *x = logits + (size_t)n * V;
    float m = -INFINITY;
    for (int j = threadIdx.x; j < V; j += EW_THREADS) m = ce_max(m, x[j]);
    m = block_fold(m, -INFINITY, CeMax());
    double sum = 0.0;
    for (int j = threadIdx.x; j < V; j += EW_THREADS) sum += ce_exp_term(x[j], m);
    sum = block_sum(sum);
    if (threadIdx.x == 0) {
      double l = ce_lse(m, sum);
      lse[n] = (float)l;
      int32_t t = targets[n];
      if (index_in_range(t, V)) acc += ce_row_loss(l, x[t]);
      else flag_bad(s, (unsigned)n);
    }
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// blockIdx.y walks the rows, x-threads the V logits of a row. d may be x: each element is read
// before it is written, by the same thread; the target's element is adjusted by that thread
// too, with the CPU's arithmetic (the gradient, then minus scale).
static __global__ void ce_backward_kernel(float *d, const float *x, const float *lse,
                                          const int32_t *targets, float scale, int N, int V,
                                          CudaScalars *s) {
  for (int n = blockIdx.y; n < N; n += gridDim.y) {
    int32_t t = targets[n];
    if (!index_in_range(t, V)) {
      if (blockIdx.x == 0 && threadIdx.x == 0) flag_bad(s, (unsigned)n);
      continue;
    }
    const float l = lse[n];
    size_t row = (size_t)n * V;
    for (int j = blockIdx.x * EW_THREADS + threadIdx.x; j < V; j += gridDim.x * EW_THREADS) {
      float v = ce_grad(x[row + j], l, scale);
      if (j == t) v -= scale;
      d[row + j] = v;
    }
  }
}

// Dies as ce_check_targets does (src/ops/cross_entropy.c) when a target was out of range.
static void ce_check(CudaCtx *c, const CudaScalars &h, const int32_t *targets, int V) {
  if (h.first_bad == 0xFFFFFFFFu) return;
  int32_t bad;
  cuda_read_back(c, &bad, targets + h.first_bad, sizeof bad);
  genet_die("%s:%d: cross_entropy: target %d at row %u is outside the vocabulary [0, %d)", __FILE__,
            __LINE__, (int)bad, h.first_bad, V);
}

extern "C" double cross_entropy_forward_cuda(CudaCtx *c, float *lse, const float *logits,
                                             const int32_t *targets, int N, int V) {
  GENET_ASSERT(N > 0 && V > 0);
  CudaScalars *s = cuda_scalars_begin(c);
  unsigned blocks = (unsigned)(N < RED_BLOCKS ? N : RED_BLOCKS);
  ce_forward_kernel<<<blocks, EW_THREADS, 0, c->stream>>>(lse, cuda_partials(c), logits, targets, N, V, s);
  CUDA_CHECK_LAUNCH();
  sum_partials(c, s, (int)blocks);
  CudaScalars h = cuda_scalars_read(c);
  ce_check(c, h, targets, V);
  return h.sum / N;
}

extern "C" void cross_entropy_backward_cuda(CudaCtx *c, float *dlogits, const float *logits,
                                            const float *lse, const int32_t *targets, float dloss,
                                            int N, int V) {
  GENET_ASSERT(N > 0 && V > 0);
  const float scale = dloss / (float)N;
  CudaScalars *s = cuda_scalars_begin(c);
  dim3 grid(ew_blocks((size_t)V, 256), (unsigned)(N < 65535 ? N : 65535));
  ce_backward_kernel<<<grid, EW_THREADS, 0, c->stream>>>(dlogits, logits, lse, targets, scale, N, V, s);
  CUDA_CHECK_LAUNCH();
  ce_check(c, cuda_scalars_read(c), targets, V);
}
