// test_fast_style.c: one training step of fast neural style (the task's pieces: TransformerNet,
// the VGG16 perceptual loss, Adam) against PyTorch (tests/fixtures/fast_style.h5 from
// scripts/fixtures/fx_fast_style.py): the two losses, every parameter gradient, the weights
// after Adam's step and the updated network's output, by testlib's rule with the chain's
// reduction length (transformer and VGG16 to relu4_3, forward and backward).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "models/perceptual_model.h"
#include "models/transformer_model.h"
#include "models/vgg_model.h"
#include "optim/optim.h"
#include "testlib.h"

static Ctx ctx;

static double maxabs(const float *x, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
  return m;
}

// A conv bias before an InstanceNorm and a residual block's second norm's bias have a gradient
// of exactly zero (test_transformer.c says why): PyTorch's float64 leaves rounding there, genet's
// float32 more. Such a tensor is judged by the same rule with max|want| over its unit's
// gradients (unit_max); returns whether pi is one, after checking PyTorch's values are
// negligible there (<= 1e-9 unit_max).
static int zero_tensor(const TransformerNet *net, const ParamInfo *pi, Fixture *fx, const char *grp,
                       double *unit_max) {
  for (int u = 0; u < TRANSFORMER_UNITS; u++) {
    const TransformerUnit *U = &net->unit[u];
    if (!((pi->offset == U->b && U->norm) || (pi->offset == U->nb && U->skip >= 0))) continue;
    size_t offs[4] = {U->w, U->b, U->nw, U->nb}, n;
    double mine = 0;
    *unit_max = 0;
    for (int j = 0; j < 4; j++)
      for (int i = 0; i < net->params.n; i++)
        if (net->params.info[i].offset == offs[j]) {
          char k[160];
          snprintf(k, sizeof k, "%s/%s", grp, net->params.info[i].name);
          float *w = fx_read(fx, k, NULL, NULL, &n);
          double mm = maxabs(w, n);
          *unit_max = mm > *unit_max ? mm : *unit_max;
          if (offs[j] == pi->offset) mine = mm;
          free(w);
        }
    test_check(mine <= 1e-9 * *unit_max, "%-40s PyTorch's %.3g <= 1e-9 x its unit's %.3g", pi->name, mine, *unit_max);
    return 1;
  }
  return 0;
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "fast_style.h5");
  int width = (int)fx_attr_int(&fx, "step", "width"), N = (int)fx_attr_int(&fx, "step", "N");
  int S = (int)fx_attr_int(&fx, "step", "S"), div = (int)fx_attr_int(&fx, "step", "div");
  TransformerNet net;
  transformer_build(&net, width, NULL);
  fx_read_params(&fx, "step/net", &net.params);
  VggNet vgg;
  vgg16_build(&vgg, div, NULL);
  // The fixture holds features[0..21] (to relu4_3); the rest of VGG16 stays zero and unused.
  for (int i = 0; i < vgg.params.n; i++) {
    char k[160];
    size_t n;
    snprintf(k, sizeof k, "step/vgg/%s", vgg.params.info[i].name);
    if (!fx_exists(&fx, k)) continue;
    float *x = fx_read(&fx, k, NULL, NULL, &n);
    GENET_ASSERT(n == vgg.params.info[i].numel);
    memcpy(vgg.params.data + vgg.params.info[i].offset, x, n * sizeof(float));
    free(x);
  }
  int sh[8];
  size_t nx, ns;
  float *x = fx_read(&fx, "step/x", NULL, NULL, &nx);
  float *style = fx_read(&fx, "step/style", NULL, sh, &ns);
  Perceptual loss;
  perceptual_init(&loss, &vgg, S, S);
  perceptual_set_style(&loss, &ctx, style, sh[2], sh[3]);
  TransformerActs a;
  transformer_acts_alloc(&a, &net, N, S, S);
  // The chain's reduction length: the transformer's (as test_transformer.c) plus VGG16's convs
  // forward and backward, and the Grams' sums over positions.
  double K = 0;
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &net.unit[i];
    K += (double)u->K * u->K * (u->Cin + u->Cout) + (double)N * a.ho[i] * a.wo[i] +
         (u->norm ? 2.0 * a.ho[i] * a.wo[i] : 0);
  }
  for (int i = 0; i <= VGG16_RELU4_3; i++)
    if (vgg.layer[i].kind == VGG_CONV) K += 9.0 * (vgg.layer[i].Cin + vgg.layer[i].Cout);
  for (int k = 0; k < PERCEPTUAL_TAPS; k++) {
    int C, h, w;
    vgg_out_shape(&loss.ay, perceptual_tap[k], &C, &h, &w);
    K += (double)h * w + (double)C * C;
  }
  const float *y = transformer_forward(&ctx, &net, &a, x);
  float *dy = xmalloc_floats(nx);
  double c, s;
  perceptual_loss(&loss, &ctx, y, x, N, 1e5, 1e10, dy, &c, &s);
  check_scalar("content loss", c, fx_attr_double(&fx, "step", "content"), K, RTOL_F32);
  check_scalar("style loss", s, fx_attr_double(&fx, "step", "style"), K, RTOL_F32);
  params_zero_grad(&net.params);
  transformer_backward(&ctx, &net, &a, dy, NULL, NULL);
  AdamConfig acfg;
  adam_config_default(&acfg);
  acfg.lr = 1e-3;
  AdamState adam;
  adam_init_for(&adam, &net.params);
  adam_step(&ctx, &adam, net.params.data, net.params.grad, &acfg);
  for (int i = 0; i < net.params.n; i++) {
    const ParamInfo *pi = &net.params.info[i];
    char k[160], what[200];
    size_t n;
    double um;
    snprintf(what, sizeof what, "grad %s", pi->name);
    if (zero_tensor(&net, pi, &fx, "step/grad", &um)) {
      // Adam turns rounding noise into steps of +-lr: those weights are not compared (the
      // InstanceNorm after them, or the norms reading the residual stream, cancel them; the
      // updated network's output below checks that).
      double g = maxabs(net.params.grad + pi->offset, pi->numel), bound = RTOL_F32 * sqrt(K) * um;
      test_check(g <= bound, "%-40s zero in PyTorch: max|got| %.3g <= rtol sqrt(K) max_unit|want| = %.3g", what, g, bound);
      continue;
    }
    snprintf(k, sizeof k, "step/grad/%s", pi->name);
    float *want = fx_read(&fx, k, NULL, NULL, &n);
    check_close(what, net.params.grad + pi->offset, want, n, K, RTOL_F32);
    free(want);
    snprintf(k, sizeof k, "step/after/%s", pi->name);
    want = fx_read(&fx, k, NULL, NULL, &n);
    snprintf(what, sizeof what, "after %s", pi->name);
    check_close(what, net.params.data + pi->offset, want, n, K, RTOL_F32);
    free(want);
  }
  size_t ny;
  float *want_y = fx_read(&fx, "step/y_after", NULL, NULL, &ny);
  y = transformer_forward(&ctx, &net, &a, x);
  check_close("y after the step", y, want_y, ny, K, RTOL_F32);
  free(want_y), free(dy), free(x), free(style);
  adam_free(&adam);
  transformer_acts_free(&a);
  perceptual_free(&loss);
  vgg_net_free(&vgg);
  transformer_free(&net);
  fx_close(&fx);
  ctx_free(&ctx);
  return test_finish("fast_style");
}
