// embedding.cu: gather rows forward, scatter-add rows backward; the ids are device int32. Each
// kernel checks the ids it reads against the vocabulary (index_in_range, as the CPU op) and
// records the first bad position in the context's scalars, read back once per call, so a bad
// id dies with the CPU's message instead of reading or writing outside the table.
// Threads: blockIdx.y walks the rows (ids), x-threads the D columns of a row.
#include "cuda_internal.cuh"
#include "cuda_ops.h"
#include "cuda_reduce.cuh"
#include "ops/elementwise.h"

static __global__ void embedding_forward_kernel(float *y, const int32_t *idx, const float *table,
                                                int n, int V, int D, CudaScalars *s) {
  for (int i = blockIdx.y; i < n; i += gridDim.y) {
    int32_t id = idx[i];
    if (!index_in_range(id, V)) {
      if (blockIdx.x == 0 && threadIdx.x == 0) flag_bad(s, (unsigned)i);
      continue;
    }
    for (int d = blockIdx.x * EW_THREADS + threadIdx.x; d < D; d += gridDim.x * EW_THREADS)
      y[(size_t)i * D + d] = table[(size_t)id * D + d];
  }
}

// Repeated ids add into the same row with atomicAdd, so unlike the CPU op (which sums them in
// the order of i) the order of each sum varies from run to run: equal up to float rounding.
static __global__ void embedding_backward_kernel(float *dtable, const float *dy, const int32_t *idx,
                                                 int n, int V, int D, CudaScalars *s) {
  for (int i = blockIdx.y; i < n; i += gridDim.y) {
    int32_t id = idx[i];
    if (!index_in_range(id, V)) {
      if (blockIdx.x == 0 && threadIdx.x == 0) flag_bad(s, (unsigned)i);
      continue;
    }
    for (int d = blockIdx.x * EW_THREADS + threadIdx.x; d < D; d += gridDim.x * EW_THREADS)
      atomicAdd(dtable + (size_t)id * D + d, dy[(size_t)i * D + d]);
  }
}

static dim3 embedding_grid(int n, int D) {
  return dim3(ew_blocks((size_t)D, 64), (unsigned)(n < 65535 ? n : 65535));
}

// Reads the check's result back and dies as embedding_check does (src/ops/embedding.c).
static void embedding_finish(CudaCtx *c, const int32_t *idx, int V) {
  CudaScalars h = cuda_scalars_read(c);
  if (h.first_bad == 0xFFFFFFFFu) return;
  int32_t bad;
  CUDA_CHECK(cudaMemcpyAsync(&bad, idx + h.first_bad, sizeof bad, cudaMemcpyDeviceToHost, c->stream));
  CUDA_CHECK(cudaStreamSynchronize(c->stream));
  genet_die("embedding: index %d at position %u is outside the vocabulary of %d", (int)bad,
            h.first_bad, V);
}

extern "C" void embedding_forward_cuda(CudaCtx *c, float *y, const int32_t *idx, const float *table,
                                       int n, int V, int D) {
  GENET_ASSERT(n >= 0 && D >= 0);  // V < 1: every id is out of range, and reported
  if (n == 0 || D == 0) return;
  CudaScalars *s = cuda_scalars_begin(c);
  embedding_forward_kernel<<<embedding_grid(n, D), EW_THREADS, 0, c->stream>>>(y, idx, table, n, V, D, s);
  CUDA_CHECK_LAUNCH();
  embedding_finish(c, idx, V);
}

extern "C" void embedding_backward_cuda(CudaCtx *c, float *dtable, const float *dy,
                                        const int32_t *idx, int n, int V, int D) {
  GENET_ASSERT(n >= 0 && D >= 0);  // V < 1: every id is out of range, and reported
  if (n == 0 || D == 0) return;
  CudaScalars *s = cuda_scalars_begin(c);
  embedding_backward_kernel<<<embedding_grid(n, D), EW_THREADS, 0, c->stream>>>(dtable, dy, idx, n, V, D, s);
  CUDA_CHECK_LAUNCH();
  embedding_finish(c, idx, V);
}
