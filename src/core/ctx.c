// ctx.c: creating and freeing the execution context.
#include "core/ctx.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/primcache.h"
#include "core/util.h"
#ifdef GENET_HAVE_CUDA
#include "kernels/cuda_ctx.h"
#include "kernels/cuda_mem.h"
#endif

void ctx_init(Ctx *ctx, Device dev, int nthreads) { ctx_init_on(ctx, dev, 0, nthreads); }

void ctx_init_on(Ctx *ctx, Device dev, int cuda_device, int nthreads) {
  memset(ctx, 0, sizeof *ctx);
  ctx->dev = dev;
  ctx->reduce.ranks = 1;
  if (nthreads > 0) omp_set_num_threads(nthreads);
  ctx->nthreads = omp_get_max_threads();
  DNNL_CHECK(dnnl_engine_create(&ctx->engine, dnnl_cpu, 0));
  DNNL_CHECK(dnnl_stream_create(&ctx->stream, ctx->engine, dnnl_stream_default_flags));
  ctx->prims = primcache_new();
  if (dev == DEV_CUDA) {
#ifdef GENET_HAVE_CUDA
    ctx->cuda = cuda_ctx_new(cuda_device);
#else
    genet_die("device cuda requested, but this genet was built without CUDA (see `genet version`)");
#endif
  }
}

int ctx_cuda_devices(char *why, size_t len) {
#ifdef GENET_HAVE_CUDA
  return cuda_device_count(why, len);
#else
  snprintf(why, len, "this genet was built without CUDA (see `genet version`)");
  return 0;
#endif
}

void ctx_set_tf32(Ctx *ctx, int tf32) {
#ifdef GENET_HAVE_CUDA
  if (ctx->cuda) cuda_ctx_set_tf32(ctx->cuda, tf32);
#else
  (void)ctx, (void)tf32;
#endif
}

void ctx_set_timeout(Ctx *ctx, double seconds) {
#ifdef GENET_HAVE_CUDA
  if (ctx->cuda) cuda_ctx_set_timeout(ctx->cuda, seconds);
#else
  (void)ctx, (void)seconds;
#endif
}

void *ctx_stream(const Ctx *ctx) {
#ifdef GENET_HAVE_CUDA
  if (ctx && ctx->cuda) return cuda_ctx_stream(ctx->cuda);
#endif
  (void)ctx;
  return NULL;
}

void ctx_sync(const Ctx *ctx) {
#ifdef GENET_HAVE_CUDA
  if (ctx && ctx->cuda) cuda_sync(ctx->cuda);
#endif
  (void)ctx;
}

void ctx_free(Ctx *ctx) {
  if (ctx->stats) ctx_release(ctx, ctx->stats);  // cuda_free waits for queued work
  free(ctx->sum_host);
#ifdef GENET_HAVE_CUDA
  if (ctx->cuda) cuda_ctx_free(ctx->cuda);
#endif
  primcache_free(ctx->prims);
  dnnl_stream_destroy(ctx->stream);
  dnnl_engine_destroy(ctx->engine);
  memset(ctx, 0, sizeof *ctx);
}

void ctx_sum_double(Ctx *ctx, double *buf, size_t n) {
  if (ctx->reduce.sum_double) ctx->reduce.sum_double(ctx->reduce.arg, buf, n);
}

// ---- buffers

static int on_gpu(const Ctx *ctx) { return ctx && ctx->dev == DEV_CUDA; }

void ctx_sum_double_device(Ctx *ctx, double *buf, size_t n) {
  if (ctx->reduce.ranks == 1) return;
  if (!on_gpu(ctx)) {
    ctx_sum_double(ctx, buf, n);
    return;
  }
  if (ctx->reduce.sum_double_device) {
    ctx->reduce.sum_double_device(ctx->reduce.arg, buf, n, ctx_stream(ctx));
    return;
  }
  if (!ctx->reduce.sum_double) return;
  // Through the host (GPU ranks over MPI): the download waits for buf's writers, the upload
  // is ordered before the stream's next kernels.
  if (ctx->sum_host_n < n) {
    free(ctx->sum_host);
    ctx->sum_host = xmalloc(n * sizeof(double));
    ctx->sum_host_n = n;
  }
  ctx_download(ctx, ctx->sum_host, buf, n * sizeof(double));
  ctx->reduce.sum_double(ctx->reduce.arg, ctx->sum_host, n);
  ctx_upload(ctx, buf, ctx->sum_host, n * sizeof(double));
}

void *ctx_stats(Ctx *ctx, size_t bytes) {
  if (ctx->stats_bytes < bytes) {
    if (ctx->stats) {
      ctx_sync(ctx);  // the old buffer may still be read by queued kernels (or an all-reduce
                      // that the stream waits for)
      ctx_release(ctx, ctx->stats);
    }
    ctx->stats = ctx_alloc(ctx, bytes);
    ctx->stats_bytes = bytes;
  }
  return ctx->stats;
}

void *ctx_alloc(const Ctx *ctx, size_t bytes) {
#ifdef GENET_HAVE_CUDA
  if (on_gpu(ctx)) return cuda_alloc_zeroed(bytes);
#endif
  GENET_ASSERT(!on_gpu(ctx));
  void *p = xmalloc_floats((bytes + sizeof(float) - 1) / sizeof(float));
  memset(p, 0, bytes);
  return p;
}

void ctx_release(const Ctx *ctx, void *p) {
#ifdef GENET_HAVE_CUDA
  if (on_gpu(ctx)) {
    cuda_free(p);
    return;
  }
#endif
  free(p);
}

void ctx_zero(const Ctx *ctx, void *p, size_t bytes) {
#ifdef GENET_HAVE_CUDA
  if (on_gpu(ctx)) {
    cuda_zero(ctx->cuda, p, bytes);
    return;
  }
#endif
  memset(p, 0, bytes);
}

// Both sides given as on-device flags; the CPU copies with memcpy.
static void copy(const Ctx *ctx, void *dst, int dst_dev, const void *src, int src_dev, size_t bytes) {
#ifdef GENET_HAVE_CUDA
  if (on_gpu(ctx)) {
    cuda_copy(ctx->cuda, dst, dst_dev, src, src_dev, bytes);
    return;
  }
#endif
  (void)dst_dev, (void)src_dev;
  if (bytes) memmove(dst, src, bytes);
}

void ctx_copy(const Ctx *ctx, void *dst, const void *src, size_t bytes) { copy(ctx, dst, 1, src, 1, bytes); }
void ctx_upload(const Ctx *ctx, void *dst, const void *host, size_t bytes) { copy(ctx, dst, 1, host, 0, bytes); }
void ctx_download(const Ctx *ctx, void *host, const void *src, size_t bytes) { copy(ctx, host, 0, src, 1, bytes); }
