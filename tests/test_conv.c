// test_conv.c: Conv2d and ConvTranspose2d against PyTorch fixtures (y, dx, dw, db) and finite
// differences (dx, dw, db), that gradients accumulate, that a second call on the cached
// primitives gives bit-identical results, and that frozen-weight backward (dw NULL) gives the
// same dx.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/activations.h"
#include "ops/conv.h"
#include "ops/conv_transpose.h"
#include "ops/convplan.h"
#include "core/util.h"
#include "testlib.h"

static Ctx ctx;
// Finite differences: L is linear in x, w and b (h = 1, no truncation); what is left is the
// rounding of the forward, measured at most 5.6e-7 of max|g| over ISAs and thread counts.
#define GC_H 1.0
#define GC_TOL 1e-5

typedef struct {
  int tr;  // 0: Conv2d, 1: ConvTranspose2d
  int N, Cin, H, W, Cout, K, stride, pad, Ho, Wo;
  const float *x, *w, *b, *r;
  float *y;
} Case;

static void fwd(const Case *c, float *y, const float *x, const float *w, const float *b) {
  if (c->tr)
    conv_transpose2d_forward(&ctx, y, x, w, b, c->N, c->Cin, c->H, c->W, c->Cout, c->K,
                             c->stride, c->pad);
  else
    conv2d_forward(&ctx, y, x, w, b, c->N, c->Cin, c->H, c->W, c->Cout, c->K, c->stride, c->pad);
}

static void bwd(const Case *c, float *dx, float *dw, float *db, const float *dy) {
  if (c->tr)
    conv_transpose2d_backward(&ctx, dx, dw, db, dy, c->x, c->w, c->N, c->Cin, c->H, c->W,
                              c->Cout, c->K, c->stride, c->pad);
  else
    conv2d_backward(&ctx, dx, dw, db, dy, c->x, c->w, c->N, c->Cin, c->H, c->W, c->Cout, c->K,
                    c->stride, c->pad);
}

// L = sum(y * r) for the current contents of x, w and b.
static double conv_loss(void *p) {
  Case *c = p;
  fwd(c, c->y, c->x, c->w, c->b);
  return dot_d(c->y, c->r, (size_t)c->N * c->Cout * c->Ho * c->Wo);
}

// Planted bugs on a Conv2d case, each of which the fixture check and the finite differences
// must reject: dx computed with the kernel not rotated (correlation and convolution mixed up,
// i.e. a transposed kernel index) and dw off by one position.
static void planted_bugs(Case *c, float *x, float *w, const float *dy, const float *dx,
                         const float *dw, const float *gdw, double Kx, double Kw) {
  size_t nx = (size_t)c->N * c->Cin * c->H * c->W, nw = (size_t)c->Cout * c->Cin * c->K * c->K;
  size_t kk = (size_t)c->K * c->K, where;
  float *wf = malloc(nw * 4), *bad = calloc(nx, 4), *badw = malloc(nw * 4);
  for (size_t j = 0; j < nw; j++) wf[j] = w[j / kk * kk + (kk - 1 - j % kk)];  // rotated 180
  Case cf = *c;
  cf.w = wf;
  bwd(&cf, bad, NULL, NULL, dy);
  double fd;
  check_planted("conv dx from the unrotated kernel: fixture check",
                close_err(bad, dx, nx, Kx, NULL), RTOL_F32);
  check_planted("conv dx from the unrotated kernel: finite differences",
                gradcheck_worst(conv_loss, c, x, bad, nx, GC_H, 80, &where, &fd), GC_TOL);
  for (size_t j = 0; j < nw; j++) badw[j] = gdw[(j + 1) % nw];
  check_planted("conv dw off by one position: fixture check", close_err(badw, dw, nw, Kw, NULL),
                RTOL_F32);
  check_planted("conv dw off by one position: finite differences",
                gradcheck_worst(conv_loss, c, w, badw, nw, GC_H, 80, &where, &fd), GC_TOL);
  free(wf); free(bad); free(badw);
}

static void run_case(Fixture *fx, int tr, int i) {
  char g[64], k[96], what[128], tag[64];
  snprintf(g, sizeof g, "%s/case%d", tr ? "convt" : "conv", i);
  Case c = {.tr = tr};
  c.N = (int)fx_attr_int(fx, g, "N");
  c.Cin = (int)fx_attr_int(fx, g, "Cin");
  c.H = (int)fx_attr_int(fx, g, "H");
  c.W = (int)fx_attr_int(fx, g, "W");
  c.Cout = (int)fx_attr_int(fx, g, "Cout");
  c.K = (int)fx_attr_int(fx, g, "K");
  c.stride = (int)fx_attr_int(fx, g, "stride");
  c.pad = (int)fx_attr_int(fx, g, "pad");
  int bias = (int)fx_attr_int(fx, g, "bias");
  c.Ho = tr ? conv_transpose2d_out_size(c.H, c.K, c.stride, c.pad)
            : conv2d_out_size(c.H, c.K, c.stride, c.pad);
  c.Wo = tr ? conv_transpose2d_out_size(c.W, c.K, c.stride, c.pad)
            : conv2d_out_size(c.W, c.K, c.stride, c.pad);
  snprintf(tag, sizeof tag, "%s %dx%dx%dx%d->%d k%d s%d p%d%s", tr ? "convT" : "conv", c.N, c.Cin,
           c.H, c.W, c.Cout, c.K, c.stride, c.pad, bias ? " +b" : "");
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *x = RD("x"), *w = RD("w"), *y = RD("y"), *dy = RD("dy"), *dx = RD("dx"), *dw = RD("dw");
  float *b = bias ? RD("b") : NULL, *db = bias ? RD("db") : NULL;
#undef RD
  size_t nx = (size_t)c.N * c.Cin * c.H * c.W, ny = (size_t)c.N * c.Cout * c.Ho * c.Wo;
  size_t nw = (size_t)c.Cout * c.Cin * c.K * c.K, nb = (size_t)c.Cout;
  c.x = x;
  c.w = w;
  c.b = b;
  c.r = dy;
  float *gy = calloc(ny, 4), *gdx = calloc(nx, 4), *gdw = calloc(nw, 4), *gdb = calloc(nb, 4);
  float *gy2 = calloc(ny, 4), *gdx2 = calloc(nx, 4), *gdw2 = calloc(nw, 4), *gdb2 = calloc(nb, 4);
  c.y = gy2;

  // Gradients accumulate: start dw and db at 1 and subtract it afterwards.
  for (size_t j = 0; j < nw; j++) gdw[j] = gdw2[j] = 1.0f;
  for (size_t j = 0; j < nb; j++) gdb[j] = gdb2[j] = 1.0f;
  fwd(&c, gy, x, w, b);
  bwd(&c, gdx, gdw, bias ? gdb : NULL, dy);
  // The second call reuses the cached primitives and scratch: bit-identical results.
  fwd(&c, gy2, x, w, b);
  bwd(&c, gdx2, gdw2, bias ? gdb2 : NULL, dy);
  int same = !memcmp(gy, gy2, ny * 4) && !memcmp(gdx, gdx2, nx * 4) &&
             !memcmp(gdw, gdw2, nw * 4) && !memcmp(gdb, gdb2, nb * 4);
  test_check(same, "%-44s second call identical (y, dx, dw, db)", tag);
  for (size_t j = 0; j < nw; j++) gdw[j] -= 1.0f;
  for (size_t j = 0; j < nb; j++) gdb[j] -= 1.0f;
  // Reduction lengths: y sums Cin K K products (+ the bias), dx sums Cout K K, dw and db sum
  // over the batch and the positions (the output ones for conv, the input ones for convT).
  double Ky = (double)c.Cin * c.K * c.K + 1, Kx = (double)c.Cout * c.K * c.K;
  double Kw = (double)c.N * (tr ? c.H * c.W : c.Ho * c.Wo), Kb = (double)c.N * c.Ho * c.Wo;
  snprintf(what, sizeof what, "%s y", tag);
  check_close(what, gy, y, ny, Ky, RTOL_F32);
  snprintf(what, sizeof what, "%s dx", tag);
  check_close(what, gdx, dx, nx, Kx, RTOL_F32);
  snprintf(what, sizeof what, "%s dw (accumulated)", tag);
  check_close(what, gdw, dw, nw, Kw, RTOL_F32);
  if (bias) {
    snprintf(what, sizeof what, "%s db (accumulated)", tag);
    check_close(what, gdb, db, nb, Kb, RTOL_F32);
  }

  // Frozen weights: dw NULL gives the same dx and touches nothing else.
  memset(gdx2, 0, nx * 4);
  bwd(&c, gdx2, NULL, NULL, dy);
  test_check(!memcmp(gdx, gdx2, nx * 4), "%-44s dx with dw NULL identical", tag);

  // Finite differences on the same case. L is linear in each of x, w, b: the difference has
  // no truncation error for any step, so h = 1 divides the rounding noise by 100 against 1e-2.
  snprintf(what, sizeof what, "%s dL/dx", tag);
  gradcheck(what, conv_loss, &c, x, gdx, nx, GC_H, 80, GC_TOL);
  memset(gdw, 0, nw * 4);
  memset(gdb, 0, nb * 4);
  bwd(&c, NULL, gdw, bias ? gdb : NULL, dy);
  snprintf(what, sizeof what, "%s dL/dw", tag);
  gradcheck(what, conv_loss, &c, w, gdw, nw, GC_H, 80, GC_TOL);
  if (bias) {
    snprintf(what, sizeof what, "%s dL/db", tag);
    gradcheck(what, conv_loss, &c, b, gdb, nb, GC_H, 80, GC_TOL);
  }
  if (!tr && i == 0) planted_bugs(&c, x, w, dy, dx, dw, gdw, Kx, Kw);
  free(x); free(w); free(y); free(dy); free(dx); free(dw); free(b); free(db);
  free(gy); free(gdx); free(gdw); free(gdb); free(gy2); free(gdx2); free(gdw2); free(gdb2);
}


// (N, C, hw) NCHW into nChw{b}c (to = 1) or back (to = 0); b = 0: a copy.
static void relayout(float *dst, const float *src, int N, int C, size_t hw, int b, int to) {
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      for (size_t i = 0; i < hw; i++) {
        size_t plain = ((size_t)n * C + c) * hw + i;
        size_t blk = b ? (((size_t)n * (C / b) + c / b) * hw + i) * b + c % b : plain;
        if (to) dst[blk] = src[plain];
        else dst[plain] = src[blk];
      }
}

// convplan on blocked activations (ConvShape.xblk / yblk) and with the fused (leaky) ReLU
// against the NCHW entries and act_forward: forward, input and weight gradients, conv and
// transposed conv, 16 -> 32 channels and 3 -> 16 (the image side stays NCHW).
static void blocked_case(ConvPlanKind kind, int Cin, int Cout, int relu) {
  int blk = convplan_block(&ctx), N = 2, H = 6, K = 4, stride = 2, pad = 1;
  ConvShape s = kind == CONVPLAN_CONV ? conv2d_plan_shape(N, Cin, H, H, Cout, K, stride, pad)
                                      : conv_transpose2d_plan_shape(N, Cin, H, H, Cout, K, stride, pad);
  s.xblk = blk && Cin % blk == 0 ? blk : 0;
  s.yblk = blk && Cout % blk == 0 ? blk : 0;
  s.relu = relu;
  s.slope = 0.2f;
  size_t nx = (size_t)N * Cin * H * H, ny = (size_t)N * Cout * s.Ho * s.Wo;
  size_t nw = (size_t)Cin * Cout * K * K, hwx = (size_t)H * H, hwy = (size_t)s.Ho * s.Wo;
  float *x = xmalloc_floats(nx), *w = xmalloc_floats(nw), *dy = xmalloc_floats(ny);
  float *y = xmalloc_floats(ny), *dx = xmalloc_floats(nx), *dw = xcalloc(nw, sizeof(float));
  float *xb = xmalloc_floats(nx), *dyb = xmalloc_floats(ny), *yb = xmalloc_floats(ny);
  float *dxb = xmalloc_floats(nx), *dwb = xcalloc(nw, sizeof(float));
  float *yp = xmalloc_floats(ny), *dxp = xmalloc_floats(nx);
  fill_uniform(x, nx, -1.0f, 1.0f, 21);
  fill_uniform(w, nw, -0.3f, 0.3f, 22);
  fill_uniform(dy, ny, -1.0f, 1.0f, 23);
  if (kind == CONVPLAN_CONV) {
    conv2d_forward(&ctx, y, x, w, NULL, N, Cin, H, H, Cout, K, stride, pad);
    conv2d_backward(&ctx, dx, dw, NULL, dy, x, w, N, Cin, H, H, Cout, K, stride, pad);
  } else {
    conv_transpose2d_forward(&ctx, y, x, w, NULL, N, Cin, H, H, Cout, K, stride, pad);
    conv_transpose2d_backward(&ctx, dx, dw, NULL, dy, x, w, N, Cin, H, H, Cout, K, stride, pad);
  }
  if (relu) act_forward(&ctx, ACT_LEAKY_RELU, 0.2f, y, y, ny);
  relayout(xb, x, N, Cin, hwx, s.xblk, 1);
  relayout(dyb, dy, N, Cout, hwy, s.yblk, 1);
  convplan_forward(&ctx, &s, yb, xb, w, NULL);
  convplan_backward(&ctx, &s, dxb, dwb, NULL, dyb, xb, w);
  relayout(yp, yb, N, Cout, hwy, s.yblk, 0);
  relayout(dxp, dxb, N, Cin, hwx, s.xblk, 0);
  char what[96];
  const char *k = kind == CONVPLAN_CONV ? "conv" : "convT";
  double KK = (double)Cin * K * K;
  char lx[16] = "nchw", ly[16] = "nchw";  // the layouts, for the messages
  if (s.xblk) snprintf(lx, sizeof lx, "nChw%dc", s.xblk);
  if (s.yblk) snprintf(ly, sizeof ly, "nChw%dc", s.yblk);
  snprintf(what, sizeof what, "%s %d->%d %s/%s relu %d: y", k, Cin, Cout, lx, ly, relu);
  check_close(what, yp, y, ny, KK, RTOL_F32);
  snprintf(what, sizeof what, "%s %d->%d %s/%s relu %d: dx", k, Cin, Cout, lx, ly, relu);
  check_close(what, dxp, dx, nx, KK, RTOL_F32);
  snprintf(what, sizeof what, "%s %d->%d %s/%s relu %d: dw", k, Cin, Cout, lx, ly, relu);
  check_close(what, dwb, dw, nw, (double)N * hwy, RTOL_F32);
  free(x); free(w); free(dy); free(y); free(dx); free(dw); free(xb); free(dyb); free(yb);
  free(dxb); free(dwb); free(yp); free(dxp);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "conv.h5");
  char g[64];
  for (int tr = 0; tr < 2; tr++)
    for (int i = 0;; i++) {
      snprintf(g, sizeof g, "%s/case%d", tr ? "convt" : "conv", i);
      if (!fx_exists(&fx, g)) break;
      run_case(&fx, tr, i);
    }
  test_check(conv2d_out_size(7, 4, 2, 1) == 3 && conv2d_out_size(64, 4, 2, 1) == 32 &&
                 conv_transpose2d_out_size(1, 4, 1, 0) == 4 &&
                 conv_transpose2d_out_size(32, 4, 2, 1) == 64,
             "output sizes as PyTorch (floor for conv, (H-1)s-2p+K for convT)");
  fx_close(&fx);
  for (int kind = CONVPLAN_CONV; kind <= CONVPLAN_DECONV; kind++)
    for (int relu = 0; relu <= 1; relu++) {
      blocked_case((ConvPlanKind)kind, 16, 32, relu);
      blocked_case((ConvPlanKind)kind, 3, 16, relu);
    }
  ctx_free(&ctx);
  return test_finish("conv");
}
