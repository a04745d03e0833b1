// embedding.c: gather rows forward, scatter-add rows backward. The backward splits the D
// columns among threads, so repeated indices never race and each sum runs in the order of
// i whatever the thread count (same result with 1 or 16 threads).
#include "ops/embedding.h"

#include <omp.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "base/elementwise.h"

static void embedding_check(const int32_t *idx, int n, int V) {
  for (int i = 0; i < n; i++)
    if (!index_in_range(idx[i], V))
      genet_die("embedding: index %d at position %d is outside the vocabulary of %d", (int)idx[i], i, V);
}

static void embedding_forward_cpu(Ctx *ctx, float *y, const int32_t *idx, const float *table, int n,
                                  int V, int D) {
  embedding_check(idx, n, V);
#pragma omp parallel for schedule(static) if ((long long)n * D > 32768)
  for (int i = 0; i < n; i++)
    memcpy(y + (size_t)i * D, table + (size_t)idx[i] * D, sizeof(float) * (size_t)D);
}

static void embedding_backward_cpu(Ctx *ctx, float *dtable, const float *dy, const int32_t *idx,
                                   int n, int V, int D) {
  embedding_check(idx, n, V);
#pragma omp parallel if ((long long)n * D > 32768)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    // Column block [d0, d1) of this thread, in multiples of 16 floats (one cache line).
    int blocks = (D + 15) / 16;
    int d0 = (int)((long long)blocks * t / nt) * 16, d1 = (int)((long long)blocks * (t + 1) / nt) * 16;
    if (d1 > D) d1 = D;
    for (int i = 0; i < n && d0 < d1; i++) {
      float *dst = dtable + (size_t)idx[i] * D;
      const float *src = dy + (size_t)i * D;
#pragma omp simd
      for (int d = d0; d < d1; d++) dst[d] += src[d];
    }
  }
}

// ---- entries (core/dispatch.h)

void embedding_forward(Ctx *ctx, float *y, const int32_t *idx, const float *table, int n, int V,
                       int D) {
  DISPATCH(ctx, embedding_forward_cpu(ctx, y, idx, table, n, V, D),
           embedding_forward_cuda(ctx->cuda, y, idx, table, n, V, D));
}

void embedding_backward(Ctx *ctx, float *dtable, const float *dy, const int32_t *idx, int n, int V,
                        int D) {
  DISPATCH(ctx, embedding_backward_cpu(ctx, dtable, dy, idx, n, V, D),
           embedding_backward_cuda(ctx->cuda, dtable, dy, idx, n, V, D));
}
