// pool.c: max pooling on oneDNN. Activations stay in the caller's plain NCHW layout: pooling
// is bound by memory traffic, so reordering to a blocked layout and back would cost more
// than it saves.
//
// Band view: oneDNN 2.6 runs plain-layout pooling through its fast JIT kernel only while one
// 16-channel slice of a plane fits its per-core cache budget (about 1 MB here, i.e. planes up
// to ~112x112); larger planes (VGG's 256x256 at 256 px) fall to a scalar kernel 10-50x
// slower. When windows do not overlap (K == stride) and the rows split evenly, rows
// [b*bh, (b+1)*bh) of a plane pool independently of the others, so the same buffers are
// described as (N, C*H/bh, bh, W) -> (N, C*H/bh, bh/K, Wo): bitwise the same NCHW memory and
// the same result, in planes small enough for the JIT kernel.
#include "ops/pool.h"

#include "core/dispatch.h"
#include "core/dnnl_util.h"
#include "core/primcache.h"
#include "core/util.h"

enum { POOL_FWD_TRAIN = 0xB001, POOL_FWD_INFER = 0xB002, POOL_BWD = 0xB003 };

int maxpool2d_out_size(int H, int K, int stride) {
  GENET_ASSERT(K > 0 && stride > 0 && H >= K);
  return (H - K) / stride + 1;
}

// Right padding 0: oneDNN checks the output size with the same floor division as PyTorch,
// so rows and columns past the last full window are simply not read.
static dnnl_pooling_desc_t pool_desc(dnnl_prop_kind_t prop, const dnnl_memory_desc_t *x,
                                     const dnnl_memory_desc_t *y, int K, int stride) {
  dnnl_pooling_desc_t d;
  dnnl_dims_t strides = {stride, stride}, kernel = {K, K}, pad = {0, 0};
  if (prop == dnnl_backward_data)
    DNNL_CHECK(dnnl_pooling_backward_desc_init(&d, dnnl_pooling_max, x, y, strides, kernel, pad,
                                               pad));
  else
    DNNL_CHECK(dnnl_pooling_forward_desc_init(&d, prop, dnnl_pooling_max, x, y, strides, kernel,
                                              pad, pad));
  return d;
}

typedef struct {
  dnnl_memory_desc_t x, y;
} PoolMds;

// Bytes of one 16-channel slice of an input and output plane: what oneDNN weighs against
// its cache budget. Bands aim well below the budget, which depends on the machine.
#define POOL_BAND_BYTES (256 * 1024)
static long plane_slice_bytes(long h, long w, int K) {
  return (h * w + (h / K) * (w / K)) * 16 * (long)sizeof(float);
}

// Rows per band: H itself, or the largest divisor of H that is a multiple of K and fits.
static int pool_band_rows(int H, int W, int K, int stride) {
  if (K != stride || H % K != 0 || plane_slice_bytes(H, W, K) <= POOL_BAND_BYTES)
    return H;
  for (int bh = H - K; bh >= K; bh -= K)
    if (H % bh == 0 && plane_slice_bytes(bh, W, K) <= POOL_BAND_BYTES) return bh;
  return K;
}

static PoolMds pool_mds(int N, int C, int H, int W, int K, int stride) {
  int bh = pool_band_rows(H, W, K, stride);
  int planes = C * (H / bh);  // bh == H: the plain (N, C, H, W) description
  PoolMds m;
  m.x = dn_md(4, (dnnl_dim_t[]){N, planes, bh, W}, dnnl_nchw);
  m.y = dn_md(4, (dnnl_dim_t[]){N, planes, maxpool2d_out_size(bh, K, stride),
                                maxpool2d_out_size(W, K, stride)},
              dnnl_nchw);
  return m;
}

static PrimEntry *pool_fwd(Ctx *ctx, int train, int N, int C, int H, int W, int K, int stride) {
  int key[7] = {train ? POOL_FWD_TRAIN : POOL_FWD_INFER, N, C, H, W, K, stride};
  PrimEntry *e = primcache_find(ctx->prims, key, 7);
  if (e) return e;
  PoolMds m = pool_mds(N, C, H, W, K, stride);
  dnnl_pooling_desc_t d = pool_desc(train ? dnnl_forward_training : dnnl_forward_inference, &m.x,
                                    &m.y, K, stride);
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_primitive_desc_create(&pd, &d, NULL, ctx->engine, NULL));
  return primcache_add(ctx->prims, key, 7, pd);
}

static size_t maxpool2d_workspace_size_cpu(Ctx *ctx, int N, int C, int H, int W, int K,
                                           int stride) {
  PrimEntry *e = pool_fwd(ctx, 1, N, C, H, W, K, stride);
  return dnnl_memory_desc_get_size(dn_pd_md(e->pd, dnnl_query_workspace_md));
}

static void maxpool2d_forward_cpu(Ctx *ctx, float *y, void *ws, const float *x, int N, int C, int H,
                                  int W, int K, int stride) {
  PrimEntry *e = pool_fwd(ctx, ws != NULL, N, C, H, W, K, stride);
  PoolMds m = pool_mds(N, C, H, W, K, stride);
  dnnl_memory_t xm = dn_mem(ctx, &m.x, (void *)x), ym = dn_mem(ctx, &m.y, y);
  dnnl_memory_t wm = ws ? dn_mem(ctx, dn_pd_md(e->pd, dnnl_query_workspace_md), ws) : NULL;
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, ym}, {DNNL_ARG_WORKSPACE, wm}};
  dn_run(ctx, e->prim, ws ? 3 : 2, args);
  dnnl_memory_destroy(xm);
  dnnl_memory_destroy(ym);
  if (wm) dnnl_memory_destroy(wm);
}

static void maxpool2d_backward_cpu(Ctx *ctx, float *dx, const float *dy, const void *ws, int N,
                                   int C, int H, int W, int K, int stride) {
  GENET_ASSERT(ws != NULL);
  int key[7] = {POOL_BWD, N, C, H, W, K, stride};
  PrimEntry *e = primcache_find(ctx->prims, key, 7);
  PrimEntry *f = pool_fwd(ctx, 1, N, C, H, W, K, stride);
  PoolMds m = pool_mds(N, C, H, W, K, stride);
  if (!e) {
    dnnl_pooling_desc_t d = pool_desc(dnnl_backward_data, &m.x, &m.y, K, stride);
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &d, NULL, ctx->engine, f->pd));
    e = primcache_add(ctx->prims, key, 7, pd);
  }
  dnnl_memory_t dxm = dn_mem(ctx, &m.x, dx), dym = dn_mem(ctx, &m.y, (void *)dy);
  dnnl_memory_t wm = dn_mem(ctx, dn_pd_md(f->pd, dnnl_query_workspace_md), (void *)ws);
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_SRC, dxm},
                             {DNNL_ARG_WORKSPACE, wm}};
  dn_run(ctx, e->prim, 3, args);
  dnnl_memory_destroy(dxm);
  dnnl_memory_destroy(dym);
  dnnl_memory_destroy(wm);
}

// ---- entries (core/dispatch.h)

size_t maxpool2d_workspace_size(Ctx *ctx, int N, int C, int H, int W, int K, int stride) {
  return DISPATCH(ctx, maxpool2d_workspace_size_cpu(ctx, N, C, H, W, K, stride),
                  maxpool2d_workspace_size_cuda(ctx->cuda, N, C, H, W, K, stride));
}

void maxpool2d_forward(Ctx *ctx, float *y, void *ws, const float *x, int N, int C, int H, int W,
                       int K, int stride) {
  DISPATCH(ctx, maxpool2d_forward_cpu(ctx, y, ws, x, N, C, H, W, K, stride),
           maxpool2d_forward_cuda(ctx->cuda, y, ws, x, N, C, H, W, K, stride));
}

void maxpool2d_backward(Ctx *ctx, float *dx, const float *dy, const void *ws, int N, int C, int H,
                        int W, int K, int stride) {
  DISPATCH(ctx, maxpool2d_backward_cpu(ctx, dx, dy, ws, N, C, H, W, K, stride),
           maxpool2d_backward_cuda(ctx->cuda, dx, dy, ws, N, C, H, W, K, stride));
}

// ---- average pooling: plain loops, one (n, c) plane per iteration

static void avgpool2d_forward_cpu(Ctx *ctx, float *y, const float *x, int N, int C, int H, int W,
                                  int K, int stride) {
  (void)ctx;
  int Ho = maxpool2d_out_size(H, K, stride), Wo = maxpool2d_out_size(W, K, stride);
  long long planes = (long long)N * C;
  float inv = 1.0f / (float)(K * K);
#pragma omp parallel for schedule(static) if (planes * H * W > 65536)
  for (long long p = 0; p < planes; p++) {
    const float *xp = x + p * H * W;
    float *yp = y + p * Ho * Wo;
    for (int i = 0; i < Ho; i++)
      for (int j = 0; j < Wo; j++) {
        float s = 0.0f;
        for (int a = 0; a < K; a++)
          for (int b = 0; b < K; b++) s += xp[(i * stride + a) * W + j * stride + b];
        yp[i * Wo + j] = s * inv;
      }
  }
}

static void avgpool2d_backward_cpu(Ctx *ctx, float *dx, const float *dy, int N, int C, int H,
                                   int W, int K, int stride) {
  (void)ctx;
  int Ho = maxpool2d_out_size(H, K, stride), Wo = maxpool2d_out_size(W, K, stride);
  long long planes = (long long)N * C;
  float inv = 1.0f / (float)(K * K);
#pragma omp parallel for schedule(static) if (planes * H * W > 65536)
  for (long long p = 0; p < planes; p++) {
    float *dxp = dx + p * H * W;
    const float *dyp = dy + p * Ho * Wo;
    for (long long k = 0; k < (long long)H * W; k++) dxp[k] = 0.0f;
    for (int i = 0; i < Ho; i++)
      for (int j = 0; j < Wo; j++) {
        float g = dyp[i * Wo + j] * inv;
        for (int a = 0; a < K; a++)
          for (int b = 0; b < K; b++) dxp[(i * stride + a) * W + j * stride + b] += g;
      }
  }
}

void avgpool2d_forward(Ctx *ctx, float *y, const float *x, int N, int C, int H, int W, int K,
                       int stride) {
  DISPATCH_CPU(ctx, avgpool2d_forward_cpu(ctx, y, x, N, C, H, W, K, stride));
}

void avgpool2d_backward(Ctx *ctx, float *dx, const float *dy, int N, int C, int H, int W, int K,
                        int stride) {
  DISPATCH_CPU(ctx, avgpool2d_backward_cpu(ctx, dx, dy, N, C, H, W, K, stride));
}
