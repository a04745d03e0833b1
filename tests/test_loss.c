// test_loss.c: MSE, BCE (with PyTorch's clamp at p = 0 and 1), the Gram matrix and the style
// loss against PyTorch fixtures, and finite differences of every input gradient.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/gram.h"
#include "ops/loss.h"
#include "testlib.h"

static Ctx ctx;
// Finite differences: measured worst 6.9e-5 of max|g| (the style loss) over ISAs and threads.
#define GC_TOL 1e-3

// The losses return float, whose rounding (ulp(loss) / eps) would swamp the finite
// differences; so each LossFn below keeps double where it can: BCE as a double sum of
// one-element calls, the style loss as the double MSE of the G the code computed, and the
// quadratic MSE and Gram with a large step (central differences are exact for quadratics).
typedef struct {
  int kind;  // 0 MSE, 1 BCE, 2 style loss, 3 sum(Gram * r)
  const float *x, *t, *r;
  float *G;
  size_t n;
  int b, c, hw;
} LossArg;

static double loss_eval(void *p) {
  LossArg *a = p;
  switch (a->kind) {
    case 0: return mse_loss_forward(&ctx, a->x, a->t, a->n);
    case 1: {
      double s = 0.0;
      for (size_t i = 0; i < a->n; i++) s += bce_loss_forward(&ctx, a->x + i, a->t + i, 1);
      return s / (double)a->n;
    }
    case 2: {
      style_loss_forward(&ctx, a->G, a->x, a->t, a->b, a->c, a->hw);
      size_t ng = (size_t)a->b * a->c * a->c;
      double s = 0.0;
      for (size_t i = 0; i < ng; i++) s += ((double)a->G[i] - a->t[i]) * ((double)a->G[i] - a->t[i]);
      return s / (double)ng;
    }
    default:
      gram_forward(&ctx, a->G, a->x, a->b, a->c, a->hw);
      return dot_d(a->G, a->r, (size_t)a->b * a->c * a->c);
  }
}

#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, &n_))

static void mse_case(Fixture *fx, int c) {
  char g[32], k[96], what[96];
  size_t n_, n;
  snprintf(g, sizeof g, "mse/case%d", c);
  float up = (float)fx_attr_double(fx, g, "up");
  float *x = RD("x");
  n = n_;
  float *t = RD("t"), *wl = RD("loss"), *wdx = RD("dx"), *dx = malloc(n * 4);
  float l = mse_loss_forward(&ctx, x, t, n);
  mse_loss_backward(&ctx, dx, x, t, n, up);
  snprintf(what, sizeof what, "mse n=%zu loss", n);
  check_close(what, &l, wl, 1, (double)n, RTOL_F32);
  snprintf(what, sizeof what, "mse n=%zu dx (upstream %.2f)", n, up);
  check_close(what, dx, wdx, n, 1, RTOL_F32);
  mse_loss_backward(&ctx, dx, x, t, n, 1.0f);
  LossArg a = {0, x, t, NULL, NULL, n, 0, 0, 0};
  snprintf(what, sizeof what, "mse n=%zu dL/dx", n);
  gradcheck(what, loss_eval, &a, x, dx, n, 0.25, 100, GC_TOL);
  free(x); free(t); free(wl); free(wdx); free(dx);
}

static void bce_case(Fixture *fx, int c) {
  char g[32], k[96], what[96];
  size_t n_, n;
  snprintf(g, sizeof g, "bce/case%d", c);
  float up = (float)fx_attr_double(fx, g, "up");
  float *p = RD("p");
  n = n_;
  float *t = RD("t"), *wl = RD("loss"), *wdp = RD("dp"), *dp = malloc(n * 4);
  float l = bce_loss_forward(&ctx, p, t, n);
  bce_loss_backward(&ctx, dp, p, t, n, up);
  snprintf(what, sizeof what, "bce n=%zu loss%s", n, n > 64 ? " (p at 0, 1, 1e-45, ...)" : "");
  check_close(what, &l, wl, 1, (double)n, RTOL_F32);
  snprintf(what, sizeof what, "bce n=%zu dp (upstream %.2f)", n, up);
  check_close(what, dp, wdp, n, 1, RTOL_F32);
  if (n > 64) {  // the clamped entries alone, so the huge ones don't hide the rest
    snprintf(what, sizeof what, "bce n=%zu dp at the clamped entries", n);
    check_close(what, dp + 64, wdp + 64, n - 64, 1, RTOL_F32);
    snprintf(what, sizeof what, "bce n=%zu dp at the interior entries", n);
    check_close(what, dp, wdp, 64, 1, RTOL_F32);
  }
  // Finite differences at the first 64 entries, p in [0.02, 0.98] (the loss is smooth there).
  bce_loss_backward(&ctx, dp, p, t, n, 1.0f);
  LossArg a = {1, p, t, NULL, NULL, n, 0, 0, 0};
  snprintf(what, sizeof what, "bce n=%zu dL/dp (interior)", n);
  gradcheck(what, loss_eval, &a, p, dp, 64, 1e-4, 64, GC_TOL);
  free(p); free(t); free(wl); free(wdp); free(dp);
}

static void gram_case(Fixture *fx, int c) {
  char g[32], k[96], what[128];
  size_t n_, n;
  snprintf(g, sizeof g, "gram/case%d", c);
  int B = (int)fx_attr_int(fx, g, "B"), C = (int)fx_attr_int(fx, g, "C"),
      hw = (int)(fx_attr_int(fx, g, "H") * fx_attr_int(fx, g, "W"));
  float up = (float)fx_attr_double(fx, g, "up");
  float *F = RD("feat");
  n = n_;
  float *wG = RD("gram"), *dG = RD("dgram"), *wdFg = RD("dfeat_gram"), *target = RD("target"),
        *wl = RD("loss"), *wdFs = RD("dfeat_style");
  size_t ng = (size_t)B * C * C;
  float *G = malloc(ng * 4), *dF = malloc(n * 4), *scratch = malloc(ng * 4);
  char tag[48];
  snprintf(tag, sizeof tag, "b=%d c=%d hw=%d", B, C, hw);
  gram_forward(&ctx, G, F, B, C, hw);
  gram_backward(&ctx, dF, dG, F, B, C, hw);
  snprintf(what, sizeof what, "gram %s G", tag);
  check_close(what, G, wG, ng, hw, RTOL_F32);
  snprintf(what, sizeof what, "gram %s dF", tag);
  check_close(what, dF, wdFg, n, C, RTOL_F32);
  LossArg a = {3, F, NULL, dG, G, n, B, C, hw};
  snprintf(what, sizeof what, "gram %s dL/dF", tag);
  gradcheck(what, loss_eval, &a, F, dF, n, 0.5, 100, GC_TOL);

  float l = style_loss_forward(&ctx, G, F, target, B, C, hw);
  style_loss_backward(&ctx, dF, scratch, G, target, F, B, C, hw, up);
  snprintf(what, sizeof what, "style loss %s loss", tag);
  check_close(what, &l, wl, 1, (double)ng + hw, RTOL_F32);  // K: the mean over G and G itself
  snprintf(what, sizeof what, "style loss %s dF (upstream %.2f)", tag, up);
  check_close(what, dF, wdFs, n, (double)C + hw, RTOL_F32);
  style_loss_backward(&ctx, dF, scratch, G, target, F, B, C, hw, 1.0f);
  LossArg s = {2, F, target, NULL, G, n, B, C, hw};
  snprintf(what, sizeof what, "style loss %s dL/dF", tag);
  gradcheck(what, loss_eval, &s, F, dF, n, 2e-2, 100, GC_TOL);
  free(F); free(wG); free(dG); free(wdFg); free(target); free(wl); free(wdFs);
  free(G); free(dF); free(scratch);
}
#undef RD

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "loss.h5");
  for (int c = 0; c < 2; c++) mse_case(&fx, c);
  for (int c = 0; c < 2; c++) bce_case(&fx, c);
  for (int c = 0; c < 2; c++) gram_case(&fx, c);
  fx_close(&fx);
  ctx_free(&ctx);
  return test_finish("loss");
}
