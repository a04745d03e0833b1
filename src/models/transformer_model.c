// transformer_model.c: fast neural style's TransformerNet (transformer_model.h) as a list of 16
// conv units run in order; a residual block's second unit adds its first unit's input.
#include "models/transformer_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ops/activations.h"
#include "ops/add.h"
#include "ops/conv.h"
#include "ops/instancenorm.h"
#include "ops/reflection_pad.h"
#include "ops/upsample.h"

int transformer_out_size(int s) { return 4 * ((s + 3) / 4); }

// Registers one unit's tensors under the reference's names: conv `conv`.weight/.bias, and when
// norm is given, norm.weight/.bias.
static void add_unit(TransformerNet *n, int i, int cin, int cout, int k, int stride, int up,
                     const char *conv, const char *norm, int relu, int skip) {
  TransformerUnit *u = &n->unit[i];
  *u = (TransformerUnit){.Cin = cin, .Cout = cout, .K = k, .stride = stride, .up = up,
                         .norm = norm != NULL, .relu = relu, .skip = skip};
  char name[PARAM_NAME_LEN];
  int ws[4] = {cout, cin, k, k};
  snprintf(name, sizeof name, "%s.weight", conv);
  u->w = params_add(&n->params, name, 4, ws);
  snprintf(name, sizeof name, "%s.bias", conv);
  u->b = params_add(&n->params, name, 1, &cout);
  if (!norm) return;
  snprintf(name, sizeof name, "%s.weight", norm);
  u->nw = params_add(&n->params, name, 1, &cout);
  snprintf(name, sizeof name, "%s.bias", norm);
  u->nb = params_add(&n->params, name, 1, &cout);
}

void transformer_build(TransformerNet *n, int width, const Ctx *ctx) {
  GENET_ASSERT(width >= 1);
  memset(n, 0, sizeof *n);
  n->width = width;
  params_init(&n->params);
  int c = width;
  add_unit(n, 0, 3, c, 9, 1, 1, "conv1.conv2d", "in1", 1, -1);
  add_unit(n, 1, c, 2 * c, 3, 2, 1, "conv2.conv2d", "in2", 1, -1);
  add_unit(n, 2, 2 * c, 4 * c, 3, 2, 1, "conv3.conv2d", "in3", 1, -1);
  for (int r = 0; r < 5; r++) {
    char cv[2][32], nm[2][32];
    for (int j = 0; j < 2; j++) {
      snprintf(cv[j], sizeof cv[j], "res%d.conv%d.conv2d", r + 1, j + 1);
      snprintf(nm[j], sizeof nm[j], "res%d.in%d", r + 1, j + 1);
    }
    int a = 3 + 2 * r;
    add_unit(n, a, 4 * c, 4 * c, 3, 1, 1, cv[0], nm[0], 1, -1);
    add_unit(n, a + 1, 4 * c, 4 * c, 3, 1, 1, cv[1], nm[1], 0, a);
  }
  add_unit(n, 13, 4 * c, 2 * c, 3, 1, 2, "deconv1.conv2d", "in4", 1, -1);
  add_unit(n, 14, 2 * c, c, 3, 1, 2, "deconv2.conv2d", "in5", 1, -1);
  add_unit(n, 15, c, 3, 9, 1, 1, "deconv3.conv2d", NULL, 0, -1);
  params_alloc_on(&n->params, ctx);
}

void transformer_free(TransformerNet *n) {
  params_free(&n->params);
  memset(n, 0, sizeof *n);
}

void transformer_init_weights(TransformerNet *n, Rng *rng) {
  float *host = params_staging(&n->params);
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &n->unit[i];
    float bound = 1.0f / sqrtf((float)(u->Cin * u->K * u->K));
    rng_fill_uniform(rng, host + u->w, (size_t)u->Cout * u->Cin * u->K * u->K, -bound, bound);
    rng_fill_uniform(rng, host + u->b, (size_t)u->Cout, -bound, bound);
    if (!u->norm) continue;
    for (int k = 0; k < u->Cout; k++) host[u->nw + k] = 1.0f, host[u->nb + k] = 0.0f;
  }
  params_staged(&n->params, host);
}

static size_t plane(int N, int C, int h, int w) { return (size_t)N * C * h * w; }

// The sizes of every unit's buffers for a batch N of H x W (a->h/w/ho/wo, N, H, W, ctx set).
static void acts_shapes(TransformerActs *a, const TransformerNet *n, int N, int H, int W) {
  GENET_ASSERT(N >= 1 && H >= TRANSFORMER_MIN_SIDE && W >= TRANSFORMER_MIN_SIDE);
  memset(a, 0, sizeof *a);
  a->ctx = n->params.ctx;
  a->N = N;
  a->H = H;
  a->W = W;
  int h = H, w = W;
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &n->unit[i];
    a->h[i] = h;
    a->w[i] = w;
    int p = u->K / 2;
    a->ho[i] = conv2d_out_size(h * u->up + 2 * p, u->K, u->stride, 0);
    a->wo[i] = conv2d_out_size(w * u->up + 2 * p, u->K, u->stride, 0);
    h = a->ho[i];
    w = a->wo[i];
  }
}

void transformer_acts_alloc(TransformerActs *a, const TransformerNet *n, int N, int H, int W) {
  acts_shapes(a, n, N, H, W);
  size_t big = 0;
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &n->unit[i];
    int hu = a->h[i] * u->up, wu = a->w[i] * u->up, p = u->K / 2;
    int hp = hu + 2 * p, wp = wu + 2 * p;
    size_t nout = plane(N, u->Cout, a->ho[i], a->wo[i]);
    if (u->up > 1) a->up[i] = ctx_alloc(a->ctx, sizeof(float) * plane(N, u->Cin, hu, wu));
    a->pad[i] = ctx_alloc(a->ctx, sizeof(float) * plane(N, u->Cin, hp, wp));
    a->conv[i] = ctx_alloc(a->ctx, sizeof(float) * nout);
    if (u->norm) {
      a->y[i] = ctx_alloc(a->ctx, sizeof(float) * nout);
      a->mean[i] = ctx_alloc(a->ctx, sizeof(float) * N * u->Cout);
      a->var[i] = ctx_alloc(a->ctx, sizeof(float) * N * u->Cout);
    } else {
      a->y[i] = a->conv[i];
    }
    a->g[i] = ctx_alloc(a->ctx, sizeof(float) * nout);
    size_t m[] = {nout, plane(N, u->Cin, hp, wp), plane(N, u->Cin, hu, wu)};
    for (int k = 0; k < 3; k++) big = m[k] > big ? m[k] : big;
  }
  a->s0 = ctx_alloc(a->ctx, sizeof(float) * big);
  a->s1 = ctx_alloc(a->ctx, sizeof(float) * big);
}

// Forward only: a unit's upsampled, padded and conv buffers are dead once its output exists,
// so every unit shares one of each; outputs rotate through three buffers (a unit reads the
// previous output and, in a residual block's second unit, the one before it). The same ops in
// the same order as with transformer_acts_alloc: the same output, bit for bit.
void transformer_acts_alloc_forward(TransformerActs *a, const TransformerNet *n, int N, int H, int W) {
  acts_shapes(a, n, N, H, W);
  size_t mup = 0, mpad = 0, mout = 0, mstat = 0;
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &n->unit[i];
    int hu = a->h[i] * u->up, wu = a->w[i] * u->up, p = u->K / 2;
    size_t up = u->up > 1 ? plane(N, u->Cin, hu, wu) : 0, pad = plane(N, u->Cin, hu + 2 * p, wu + 2 * p);
    size_t out = plane(N, u->Cout, a->ho[i], a->wo[i]), stat = (size_t)N * u->Cout;
    mup = up > mup ? up : mup;
    mpad = pad > mpad ? pad : mpad;
    mout = out > mout ? out : mout;
    mstat = stat > mstat ? stat : mstat;
  }
  a->forward_only = 1;
  a->fup = mup ? ctx_alloc(a->ctx, sizeof(float) * mup) : NULL;
  a->fpad = ctx_alloc(a->ctx, sizeof(float) * mpad);
  a->fconv = ctx_alloc(a->ctx, sizeof(float) * mout);
  a->fmean = ctx_alloc(a->ctx, sizeof(float) * mstat);
  a->fvar = ctx_alloc(a->ctx, sizeof(float) * mstat);
  for (int k = 0; k < 3; k++) a->fy[k] = ctx_alloc(a->ctx, sizeof(float) * mout);
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &n->unit[i];
    GENET_ASSERT(u->skip < 0 || u->skip >= i - 1);  // the skip's input is one of the 3 kept
    a->up[i] = u->up > 1 ? a->fup : NULL;
    a->pad[i] = a->fpad;
    a->conv[i] = a->fconv;
    a->mean[i] = u->norm ? a->fmean : NULL;
    a->var[i] = u->norm ? a->fvar : NULL;
    a->y[i] = u->norm ? a->fy[i % 3] : a->conv[i];
  }
}

void transformer_acts_free(TransformerActs *a) {
  if (a->forward_only) {
    float *bufs[] = {a->fup, a->fpad, a->fconv, a->fmean, a->fvar, a->fy[0], a->fy[1], a->fy[2]};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) ctx_release(a->ctx, bufs[k]);
    memset(a, 0, sizeof *a);
    return;
  }
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    if (a->y[i] != a->conv[i]) ctx_release(a->ctx, a->y[i]);
    float *bufs[] = {a->up[i], a->pad[i], a->conv[i], a->mean[i], a->var[i], a->g[i]};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) ctx_release(a->ctx, bufs[k]);
  }
  ctx_release(a->ctx, a->s0);
  ctx_release(a->ctx, a->s1);
  memset(a, 0, sizeof *a);
}

const float *transformer_forward(Ctx *ctx, const TransformerNet *n, TransformerActs *a,
                                 const float *x) {
  const float *P = n->params.data;
  int N = a->N;
  for (int i = 0; i < TRANSFORMER_UNITS; i++) {
    const TransformerUnit *u = &n->unit[i];
    int h = a->h[i] * u->up, w = a->w[i] * u->up, p = u->K / 2;
    a->x[i] = x;
    const float *in = x;
    if (u->up > 1) {
      upsample_nearest2d_forward(ctx, a->up[i], x, N, u->Cin, a->h[i], a->w[i], u->up);
      in = a->up[i];
    }
    reflection_pad2d_forward(ctx, a->pad[i], in, N, u->Cin, h, w, p);
    conv2d_forward(ctx, a->conv[i], a->pad[i], P + u->w, P + u->b, N, u->Cin, h + 2 * p, w + 2 * p,
                   u->Cout, u->K, u->stride, 0);
    size_t nout = plane(N, u->Cout, a->ho[i], a->wo[i]);
    if (u->norm)
      instancenorm_forward(ctx, a->y[i], a->mean[i], a->var[i], a->conv[i], P + u->nw, P + u->nb,
                           N, u->Cout, a->ho[i], a->wo[i], TRANSFORMER_EPS);
    if (u->relu) act_forward(ctx, ACT_RELU, 0.f, a->y[i], a->y[i], nout);
    if (u->skip >= 0) add_inplace(ctx, a->y[i], a->x[u->skip], nout, 1.0f);
    x = a->y[i];
  }
  return x;
}

static void ready_unit(const GradReady *r, const TransformerNet *n, const TransformerUnit *u) {
  size_t k = (size_t)u->Cout * u->Cin * u->K * u->K;
  grad_ready(r, u->w, k);
  grad_ready(r, u->b, (size_t)u->Cout);
  if (!u->norm) return;
  grad_ready(r, u->nw, (size_t)u->Cout);
  grad_ready(r, u->nb, (size_t)u->Cout);
}

void transformer_backward(Ctx *ctx, const TransformerNet *n, TransformerActs *a, const float *dy,
                          float *dx, const GradReady *ready) {
  const float *P = n->params.data;
  float *G = n->params.grad;
  int N = a->N, last = TRANSFORMER_UNITS - 1;
  GENET_ASSERT(!a->forward_only);  // transformer_acts_alloc_forward keeps nothing for backward
  ctx_copy(ctx, a->g[last], dy, sizeof(float) * plane(N, 3, a->ho[last], a->wo[last]));
  for (int i = last; i >= 0; i--) {
    const TransformerUnit *u = &n->unit[i];
    size_t nout = plane(N, u->Cout, a->ho[i], a->wo[i]);
    const float *cur = a->g[i];
    if (u->relu) {
      act_backward(ctx, ACT_RELU, 0.f, a->s0, cur, a->y[i], nout);
      cur = a->s0;
    }
    if (u->norm) {
      float *to = cur == a->s0 ? a->s1 : a->s0;
      instancenorm_backward(ctx, to, G + u->nw, G + u->nb, cur, a->conv[i], a->mean[i], a->var[i],
                            P + u->nw, N, u->Cout, a->ho[i], a->wo[i], TRANSFORMER_EPS);
      cur = to;
    }
    int h = a->h[i] * u->up, w = a->w[i] * u->up, p = u->K / 2;
    float *din = i ? a->g[i - 1] : dx;  // the gradient w.r.t. this unit's input
    float *dpad = din ? (cur == a->s0 ? a->s1 : a->s0) : NULL;
    conv2d_backward(ctx, dpad, G + u->w, G + u->b, cur, a->pad[i], P + u->w, N, u->Cin,
                    h + 2 * p, w + 2 * p, u->Cout, u->K, u->stride, 0);
    ready_unit(ready, n, u);
    if (!din) continue;
    if (u->up > 1) {
      float *dup = dpad == a->s0 ? a->s1 : a->s0;
      reflection_pad2d_backward(ctx, dup, dpad, N, u->Cin, h, w, p);
      upsample_nearest2d_backward(ctx, din, dup, N, u->Cin, a->h[i], a->w[i], u->up);
    } else {
      reflection_pad2d_backward(ctx, din, dpad, N, u->Cin, h, w, p);
    }
    // A residual block's input also receives its second unit's output gradient directly.
    for (int j = i + 1; j < TRANSFORMER_UNITS; j++)
      if (n->unit[j].skip == i) add_inplace(ctx, din, a->g[j], plane(N, u->Cin, a->h[i], a->w[i]), 1.0f);
  }
}
