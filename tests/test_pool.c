// test_pool.c: MaxPool2d against PyTorch fixtures (y, dx) and finite differences (dx), with
// the workspace the caller allocates; inference (no workspace) gives the same y, and a second
// call on the cached primitives gives bit-identical results.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/pool.h"
#include "testlib.h"

static Ctx ctx;

typedef struct {
  int N, C, H, W, K, stride;
  const float *x, *r;
  float *y;
} PoolArg;

static double pool_loss(void *p) {
  PoolArg *a = p;
  maxpool2d_forward(&ctx, a->y, NULL, a->x, a->N, a->C, a->H, a->W, a->K, a->stride);
  size_t ny = (size_t)a->N * a->C * maxpool2d_out_size(a->H, a->K, a->stride) *
              maxpool2d_out_size(a->W, a->K, a->stride);
  return dot_d(a->y, a->r, ny);
}

static void run_case(Fixture *fx, int i) {
  char g[64], k[96], what[128], tag[64];
  snprintf(g, sizeof g, "pool/case%d", i);
  int N = (int)fx_attr_int(fx, g, "N"), C = (int)fx_attr_int(fx, g, "C");
  int H = (int)fx_attr_int(fx, g, "H"), W = (int)fx_attr_int(fx, g, "W");
  int K = (int)fx_attr_int(fx, g, "K"), S = (int)fx_attr_int(fx, g, "stride");
  snprintf(tag, sizeof tag, "maxpool %dx%dx%dx%d k%d s%d", N, C, H, W, K, S);
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *x = RD("x"), *y = RD("y"), *dy = RD("dy"), *dx = RD("dx");
#undef RD
  int Ho = maxpool2d_out_size(H, K, S), Wo = maxpool2d_out_size(W, K, S);
  size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * Ho * Wo;
  size_t wsb = maxpool2d_workspace_size(&ctx, N, C, H, W, K, S);
  void *ws = malloc(wsb), *ws2 = malloc(wsb);
  float *gy = calloc(ny, 4), *gy2 = calloc(ny, 4), *gdx = malloc(nx * 4), *gdx2 = malloc(nx * 4);
  // dx is written, not accumulated: start from garbage.
  for (size_t j = 0; j < nx; j++) gdx[j] = gdx2[j] = 7.0f;
  maxpool2d_forward(&ctx, gy, ws, x, N, C, H, W, K, S);
  maxpool2d_backward(&ctx, gdx, dy, ws, N, C, H, W, K, S);
  snprintf(what, sizeof what, "%s y", tag);
  check_close(what, gy, y, ny, 1, 0.0);  // a maximum is one of the inputs: exact
  snprintf(what, sizeof what, "%s dx", tag);
  check_close(what, gdx, dx, nx, (double)K * K, RTOL_F32);  // K: overlapping windows

  maxpool2d_forward(&ctx, gy2, ws2, x, N, C, H, W, K, S);
  maxpool2d_backward(&ctx, gdx2, dy, ws2, N, C, H, W, K, S);
  test_check(!memcmp(gy, gy2, ny * 4) && !memcmp(gdx, gdx2, nx * 4),
             "%-44s second call identical (y, dx)", tag);
  memset(gy2, 0, ny * 4);
  maxpool2d_forward(&ctx, gy2, NULL, x, N, C, H, W, K, S);
  test_check(!memcmp(gy, gy2, ny * 4), "%-44s inference y identical", tag);

  // Finite differences: the inputs are at least 2/numel apart, so a step well below that
  // keeps every argmax in place; L is then linear and y an exact copy of x, so the difference
  // is exact up to the double sum (measured 5e-11).
  PoolArg a = {N, C, H, W, K, S, x, dy, gy2};
  snprintf(what, sizeof what, "%s dL/dx", tag);
  gradcheck(what, pool_loss, &a, x, gdx, nx, 0.25 / (double)nx, 120, 1e-6);
  free(x); free(y); free(dy); free(dx); free(ws); free(ws2);
  free(gy); free(gy2); free(gdx); free(gdx2);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "conv.h5");
  char g[64];
  for (int i = 0;; i++) {
    snprintf(g, sizeof g, "pool/case%d", i);
    if (!fx_exists(&fx, g)) break;
    run_case(&fx, i);
  }
  test_check(maxpool2d_out_size(7, 2, 2) == 3 && maxpool2d_out_size(9, 3, 2) == 4 &&
                 maxpool2d_out_size(256, 2, 2) == 128,
             "output sizes as PyTorch (floor)");
  fx_close(&fx);
  ctx_free(&ctx);
  return test_finish("pool");
}
