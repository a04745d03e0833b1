// cuda_reduce.cuh: what genet's own kernels (dropout, embedding, cross_entropy, loss, linear)
// share: the launch shape of their loops, block reductions in a fixed order, and the per-
// context scalars that an op reads back once per call (a reduced sum and the first bad index).
#pragma once
#include <cstdint>

#include "kernels/cuda_internal.cuh"

enum {
  EW_THREADS = 256,   // threads per block of every kernel here (the block reductions assume it)
  RED_BLOCKS = 1024,  // most blocks of a reduction: its partial sums fit the scalars' buffer
};

// Blocks for a grid-stride loop over n items, at most `most` (at least 1).
static inline unsigned ew_blocks(size_t n, unsigned most) {
  size_t b = (n + EW_THREADS - 1) / EW_THREADS;
  return (unsigned)(b > most ? most : (b ? b : 1));
}

// What a call reads back in one copy. first_bad is the smallest index a kernel found invalid
// (an id outside the vocabulary, a BCE input outside [0, 1]), 0xFFFFFFFF when none.
struct CudaScalars {
  double sum;
  unsigned first_bad;
  unsigned pad_;
};
// The context's buffer: the CudaScalars, then RED_BLOCKS partial sums (doubles).
static inline CudaScalars *cuda_scalars(CudaCtx *c) {
  if (!c->scalars) CUDA_CHECK(cudaMalloc(&c->scalars, sizeof(CudaScalars) + RED_BLOCKS * sizeof(double)));
  return (CudaScalars *)c->scalars;
}
static inline double *cuda_partials(CudaCtx *c) { return (double *)(cuda_scalars(c) + 1); }

// Queues the reset of first_bad (to "none") on c's stream; returns the device scalars.
static inline CudaScalars *cuda_scalars_begin(CudaCtx *c) {
  CudaScalars *s = cuda_scalars(c);
  CUDA_CHECK(cudaMemsetAsync(&s->first_bad, 0xFF, sizeof s->first_bad, c->stream));
  return s;
}
// Copies the scalars back once everything queued before has run.
static inline CudaScalars cuda_scalars_read(CudaCtx *c) {
  CudaScalars h;
  cuda_read_back(c, &h, cuda_scalars(c), sizeof h);  // pinned, polled: collective_timeout holds
  return h;
}
// Records index i as bad; the smallest one wins, as the CPU's first-found.
static __device__ inline void flag_bad(CudaScalars *s, unsigned i) { atomicMin(&s->first_bad, i); }

// The sum (or max) of v over the block, returned to every thread. Warps fold by shuffles, then
// warp 0 folds the warps' results: a fixed tree, so the same inputs give the same bits. Every
// thread of the block must call it.
static __device__ inline double block_sum(double v) {
  __shared__ double part[EW_THREADS / 32];
  __shared__ double total;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, o);
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < EW_THREADS / 32 ? part[threadIdx.x] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, o);
    if (threadIdx.x == 0) total = v;
  }
  __syncthreads();
  v = total;
  __syncthreads();  // part and total may be reused by the next call
  return v;
}

// fold(a, b) must be the CPU's max step (ce_max), so NaNs are treated alike.
template <typename Fold>
static __device__ inline float block_fold(float v, float none, Fold fold) {
  __shared__ float part[EW_THREADS / 32];
  __shared__ float total;
  for (int o = 16; o > 0; o >>= 1) v = fold(v, __shfl_down_sync(0xFFFFFFFFu, v, o));
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < EW_THREADS / 32 ? part[threadIdx.x] : none;
    for (int o = 16; o > 0; o >>= 1) v = fold(v, __shfl_down_sync(0xFFFFFFFFu, v, o));
    if (threadIdx.x == 0) total = v;
  }
  __syncthreads();
  v = total;
  __syncthreads();
  return v;
}

// One block adds the nparts partial sums into s->sum, in a fixed order.
static __global__ void sum_partials_kernel(CudaScalars *s, const double *partials, int nparts) {
  double v = 0.0;
  for (int i = threadIdx.x; i < nparts; i += EW_THREADS) v += partials[i];
  v = block_sum(v);
  if (threadIdx.x == 0) s->sum = v;
}
static inline void sum_partials(CudaCtx *c, CudaScalars *s, int nparts) {
  sum_partials_kernel<<<1, EW_THREADS, 0, c->stream>>>(s, cuda_partials(c), nparts);
  CUDA_CHECK_LAUNCH();
}
