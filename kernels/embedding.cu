// embedding.cu: gather rows forward, scatter-add rows backward; the ids are device int32. Each
// kernel checks the ids it reads against the vocabulary (index_in_range, as the CPU op) and
// records the first bad position in the context's scalars, read back once per call, so a bad
// id dies with the CPU's message instead of reading or writing outside the table.
// Threads: blockIdx.y walks the rows (ids), x-threads the D columns of a row.
#include "kernels/cuda_internal.cuh"
#include "kernels/cuda_ops.h"
#include "kernels/cuda_reduce.cuh"
#include "base/elementwise.h"

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

// Deterministic and bit-identical with the CPU op, which adds the rows of each id in the order
// of i: the block of the FIRST position of an id owns that table row, and each of its threads
// adds, for one column, dy's rows of every later position with the same id, in order, to the
// row's old value. No atomics, so a run repeats itself bit for bit (the LM's resume and
// CPU-against-GPU checks rely on it). The price is O(n^2) id comparisons (each block scans the
// ids before and after it); ids are cached broadcast loads, cheap for the LM's n = batch x bptt
// (700 at the reference size, 10^4 still well under a millisecond).
static __global__ void embedding_backward_kernel(float *dtable, const float *dy, const int32_t *idx,
                                                 int n, int V, int D, CudaScalars *s) {
  __shared__ int seen;
  for (int i = blockIdx.y; i < n; i += gridDim.y) {  // uniform over the block: syncs are safe
    const int32_t id = idx[i];
    const int ok = index_in_range(id, V);
    if (!ok && blockIdx.x == 0 && threadIdx.x == 0) flag_bad(s, (unsigned)i);
    if (threadIdx.x == 0) seen = 0;
    __syncthreads();
    for (int j = threadIdx.x; ok && j < i; j += blockDim.x)
      if (idx[j] == id) seen = 1;  // an earlier position owns the row
    __syncthreads();
    const int owner = ok && !seen;
    __syncthreads();  // every thread has read `seen` before the next position resets it
    if (!owner) continue;
    for (int d = blockIdx.x * EW_THREADS + threadIdx.x; d < D; d += gridDim.x * EW_THREADS) {
      float acc = dtable[(size_t)id * D + d];
      for (int j = i; j < n; j++)
        if (idx[j] == id) acc += dy[(size_t)j * D + d];
      dtable[(size_t)id * D + d] = acc;
    }
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
  cuda_read_back(c, &bad, idx + h.first_bad, sizeof bad);
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
