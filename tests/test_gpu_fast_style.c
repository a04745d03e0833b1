// test_gpu_fast_style.c (label gpu): what task = fast_style runs on CUDA against the CPU, from
// the same seeded weights and inputs: TransformerNet at width 4 (batch 2, 36 x 28: the output is
// cropped by nobody here, 36 x 28 as well), its output; the VGG16 perceptual loss (VGG16 at
// width 1/16 with random weights, a 40 x 32 style image) on it, the losses and dloss/dy; the
// transformer's backward: every parameter gradient (one buffer) and dx.
// Bounds (testlib's rule): cuDNN and oneDNN sum each conv's products, and the InstanceNorm and
// Gram reductions, in other orders; K is test_fast_style.c's chain (transformer and VGG16,
// forward and backward, the Grams), rtol 1e-5 as test_gpu_style's VGG. The gradient buffer is
// judged as one tensor (max|want| over all of it): the biases with an exactly zero gradient hold
// rounding noise on both devices. Not yet run on a GPU (none was available when it was written).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "gpulib.h"
#include "models/perceptual_model.h"
#include "models/transformer_model.h"
#include "models/vgg_model.h"
#include "testlib.h"

#define GPU_RTOL 1e-5
enum { N = 2, H = 36, W = 28, SH = 40, SW = 32, WIDTH = 4, DIV = 16 };

static Ctx gpu, cpu;

typedef struct {
  TransformerNet net;
  VggNet vgg;
  Perceptual loss;
  TransformerActs acts;
} Side;

static void side_init(Side *s, Ctx *ctx, const float *style) {
  Rng r;
  rng_init(&r, 7, 0);
  transformer_build(&s->net, WIDTH, ctx);
  transformer_init_weights(&s->net, &r);
  vgg16_random(&s->vgg, ctx, DIV, 7, 1);
  perceptual_init(&s->loss, &s->vgg, H, W);
  perceptual_set_style(&s->loss, ctx, style, SH, SW);
  transformer_acts_alloc(&s->acts, &s->net, N, H, W);
}

static void side_free(Side *s) {
  transformer_acts_free(&s->acts);
  perceptual_free(&s->loss);
  vgg_net_free(&s->vgg);
  transformer_free(&s->net);
}

int main(void) {
  gpu_test_begin("test_gpu_fast_style", &gpu, &cpu);
  size_t nx = (size_t)N * 3 * H * W, ns = (size_t)3 * SH * SW;
  float *x = uniform_floats(nx, 0, 255, 1), *style = uniform_floats(ns, 0, 255, 2);
  float *xg = gpu_upload(&gpu, x, nx), *styleg = gpu_upload(&gpu, style, ns);
  Side c, g;
  side_init(&c, &cpu, style);
  side_init(&g, &gpu, styleg);
  double K = 0;
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &c.net.unit[i];
    K += (double)u->K * u->K * (u->Cin + u->Cout) + (double)N * c.acts.ho[i] * c.acts.wo[i] +
         (u->norm ? 2.0 * c.acts.ho[i] * c.acts.wo[i] : 0);
  }
  for (int i = 0; i <= VGG16_RELU4_3; i++)
    if (c.vgg.layer[i].kind == VGG_CONV) K += 9.0 * (c.vgg.layer[i].Cin + c.vgg.layer[i].Cout);
  for (int k = 0; k < PERCEPTUAL_TAPS; k++) {
    int C, h, w;
    vgg_out_shape(&c.loss.ay, perceptual_tap[k], &C, &h, &w);
    K += (double)h * w + (double)C * C;
  }
  const float *yc = transformer_forward(&cpu, &c.net, &c.acts, x);
  const float *yg = transformer_forward(&gpu, &g.net, &g.acts, xg);
  gpu_check_close(&gpu, "transformer forward", yg, yc, nx, K, GPU_RTOL);
  float *dyc = xmalloc_floats(nx), *dyg = gpu_nan(&gpu, nx);
  double cc, sc, cg, sg;
  perceptual_loss(&c.loss, &cpu, yc, x, N, 1e5, 1e10, dyc, &cc, &sc);
  perceptual_loss(&g.loss, &gpu, yg, xg, N, 1e5, 1e10, dyg, &cg, &sg);
  check_scalar("content loss", cg, cc, K, GPU_RTOL);
  check_scalar("style loss", sg, sc, K, GPU_RTOL);
  gpu_check_close(&gpu, "dloss/dy", dyg, dyc, nx, K, GPU_RTOL);
  float *dxc = xmalloc_floats(nx), *dxg = gpu_nan(&gpu, nx);
  params_zero_grad(&c.net.params);
  params_zero_grad(&g.net.params);
  transformer_backward(&cpu, &c.net, &c.acts, dyc, dxc, NULL);
  transformer_backward(&gpu, &g.net, &g.acts, dyg, dxg, NULL);
  gpu_check_close(&gpu, "parameter gradients", g.net.params.grad, c.net.params.grad, c.net.params.total, K,
                  GPU_RTOL);
  gpu_check_close(&gpu, "dx", dxg, dxc, nx, K, GPU_RTOL);
  side_free(&c);
  side_free(&g);
  gpu_free(xg), gpu_free(styleg), gpu_free(dyg), gpu_free(dxg);
  free(x), free(style), free(dyc), free(dxc);
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_fast_style");
}
