// dcgan_model.c: the DCGAN generator and discriminator, built from the layer ops. Each network is
// five conv (G: transposed conv) layers with kernel 4, each optionally followed by BatchNorm and
// then an activation; forward keeps every layer's output for backward in a DcganActs.
#include "models/dcgan_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/activations.h"
#include "ops/batchnorm.h"
#include "ops/batchnorm_blk.h"
#include "ops/conv.h"
#include "ops/conv_transpose.h"
#include "ops/convplan.h"
#include "core/util.h"

#define DCGAN_K 4

static void dcgan_set_layer(DcganLayer *L, int Cin, int Cout, int Hin, int Hout, int stride,
                            int pad, int conv_idx, int bn_idx, ActKind act, float slope) {
  memset(L, 0, sizeof *L);
  L->Cin = Cin;
  L->Cout = Cout;
  L->Hin = Hin;
  L->Hout = Hout;
  L->stride = stride;
  L->pad = pad;
  L->conv_idx = conv_idx;
  L->bn_idx = bn_idx;
  L->act = act;
  L->slope = slope;
}

// Registers the layers' tensors in the reference's parameters() order (Sequential order: conv
// weight, BN weight, BN bias per layer) and allocates both buffers.
static void dcgan_register(DcganNet *n, const Ctx *ctx) {
  params_init(&n->params);
  params_init(&n->buffers);
  char name[PARAM_NAME_LEN];
  for (int l = 0; l < n->nl; l++) {
    DcganLayer *L = &n->layer[l];
    // ConvTranspose2d stores (Cin, Cout, K, K), Conv2d (Cout, Cin, K, K).
    int shape[4] = {n->is_g ? L->Cin : L->Cout, n->is_g ? L->Cout : L->Cin, DCGAN_K, DCGAN_K};
    snprintf(name, sizeof name, "main.%d.weight", L->conv_idx);
    L->w = params_add(&n->params, name, 4, shape);
    if (L->bn_idx < 0) continue;
    snprintf(name, sizeof name, "main.%d.weight", L->bn_idx);
    L->bn_w = params_add(&n->params, name, 1, &L->Cout);
    snprintf(name, sizeof name, "main.%d.bias", L->bn_idx);
    L->bn_b = params_add(&n->params, name, 1, &L->Cout);
    snprintf(name, sizeof name, "main.%d.running_mean", L->bn_idx);
    L->rmean = params_add(&n->buffers, name, 1, &L->Cout);
    snprintf(name, sizeof name, "main.%d.running_var", L->bn_idx);
    L->rvar = params_add(&n->buffers, name, 1, &L->Cout);
  }
  params_alloc_on(&n->params, ctx);
  params_alloc_on(&n->buffers, ctx);
}

// 64 px: 5 layers, 32 px: 4 (the widest inner layer dropped); refuses anything else.
static int dcgan_layers(int img) {
  GENET_ASSERT(img == 64 || img == 32);
  return img == 64 ? 5 : 4;
}

void dcgan_build_g(DcganNet *g, const DcganConfig *c, const Ctx *ctx) { dcgan_build_g_img(g, c, DCGAN_IMG, ctx); }
void dcgan_build_d(DcganNet *d, const DcganConfig *c, const Ctx *ctx) { dcgan_build_d_img(d, c, DCGAN_IMG, ctx); }

void dcgan_build_g_img(DcganNet *g, const DcganConfig *c, int img, const Ctx *ctx) {
  GENET_ASSERT(c->nz > 0 && c->ngf > 0 && c->nc > 0);
  memset(g, 0, sizeof *g);
  g->cfg = *c;
  g->is_g = 1;
  int L = g->nl = dcgan_layers(img), f = c->ngf;
  g->img = img;
  // Sequential (64 px): (ConvT, BN, ReLU) x 4 at indices 0..11, ConvT 12, Tanh 13; layer l's
  // conv at 3l, its BN at 3l + 1. Widths halve from f * 2^(L-2) to f; maps 4, 8, ..., img.
  dcgan_set_layer(&g->layer[0], c->nz, f << (L - 2), 1, 4, 1, 0, 0, 1, ACT_RELU, 0);
  for (int l = 1; l < L - 1; l++)
    dcgan_set_layer(&g->layer[l], f << (L - 1 - l), f << (L - 2 - l), 2 << l, 4 << l, 2, 1, 3 * l,
                    3 * l + 1, ACT_RELU, 0);
  dcgan_set_layer(&g->layer[L - 1], f, c->nc, g->img / 2, g->img, 2, 1, 3 * (L - 1), -1, ACT_TANH, 0);
  dcgan_register(g, ctx);
}

void dcgan_build_d_img(DcganNet *d, const DcganConfig *c, int img, const Ctx *ctx) {
  GENET_ASSERT(c->ndf > 0 && c->nc > 0);
  memset(d, 0, sizeof *d);
  d->cfg = *c;
  d->is_g = 0;
  int L = d->nl = dcgan_layers(img), f = c->ndf;
  d->img = img;
  // Sequential (64 px): Conv 0, LReLU 1, (Conv, BN, LReLU) x 3 at 2..10, Conv 11, Sigmoid 12;
  // layer l's conv at 3l - 1, its BN at 3l. Widths double from f; maps img/2, ..., 4, 1.
  dcgan_set_layer(&d->layer[0], c->nc, f, d->img, d->img / 2, 2, 1, 0, -1, ACT_LEAKY_RELU, 0.2f);
  for (int l = 1; l < L - 1; l++)
    dcgan_set_layer(&d->layer[l], f << (l - 1), f << l, d->img >> l, d->img >> (l + 1), 2, 1,
                    3 * l - 1, 3 * l, ACT_LEAKY_RELU, 0.2f);
  dcgan_set_layer(&d->layer[L - 1], f << (L - 2), 1, 4, 1, 1, 0, 3 * (L - 1) - 1, -1, ACT_SIGMOID, 0);
  dcgan_register(d, ctx);
}

void dcgan_net_free(DcganNet *n) {
  params_free(&n->params);
  params_free(&n->buffers);
  memset(n, 0, sizeof *n);
}

static size_t dcgan_map_size(const DcganLayer *L, int out) {
  return out ? (size_t)L->Cout * L->Hout * L->Hout : (size_t)L->Cin * L->Hin * L->Hin;
}

size_t dcgan_in_size(const DcganNet *n) { return dcgan_map_size(&n->layer[0], 0); }
size_t dcgan_out_size(const DcganNet *n) { return dcgan_map_size(&n->layer[n->nl - 1], 1); }

void dcgan_init_weights(DcganNet *n, Rng *rng) {
  float *p = params_staging(&n->params), *b = params_staging(&n->buffers);
  for (int l = 0; l < n->nl; l++) {
    DcganLayer *L = &n->layer[l];
    rng_fill_normal(rng, p + L->w, (size_t)L->Cin * L->Cout * DCGAN_K * DCGAN_K, 0.0f, 0.02f);
    if (L->bn_idx < 0) continue;
    rng_fill_normal(rng, p + L->bn_w, (size_t)L->Cout, 1.0f, 0.02f);
    for (int i = 0; i < L->Cout; i++) {
      p[L->bn_b + i] = 0.0f;
      b[L->rmean + i] = 0.0f;
      b[L->rvar + i] = 1.0f;
    }
    L->num_batches_tracked = 0;
  }
  params_staged(&n->params, p);
  params_staged(&n->buffers, b);
}

void dcgan_acts_alloc(DcganActs *a, const DcganNet *n, int Nmax) {
  GENET_ASSERT(Nmax >= 1);
  memset(a, 0, sizeof *a);
  a->ctx = n->params.ctx;
  a->Nmax = Nmax;
  a->nl = n->nl;
  size_t N = (size_t)Nmax, big = dcgan_in_size(n);
  a->in = ctx_alloc(a->ctx, sizeof(float) * (N * dcgan_in_size(n)));
  for (int l = 0; l < n->nl; l++) {
    const DcganLayer *L = &n->layer[l];
    size_t sz = dcgan_map_size(L, 1);
    if (sz > big) big = sz;
    a->y[l] = ctx_alloc(a->ctx, sizeof(float) * (N * sz));
    if (L->bn_idx < 0) continue;
    a->pre[l] = ctx_alloc(a->ctx, sizeof(float) * (N * sz));
    a->mean[l] = ctx_alloc(a->ctx, sizeof(float) * ((size_t)L->Cout));
    a->var[l] = ctx_alloc(a->ctx, sizeof(float) * ((size_t)L->Cout));
  }
  a->g0 = ctx_alloc(a->ctx, sizeof(float) * (N * big));
  a->g1 = ctx_alloc(a->ctx, sizeof(float) * (N * big));
}

void dcgan_acts_free(DcganActs *a) {
  ctx_release(a->ctx, a->in);
  for (int l = 0; l < a->nl; l++) {
    ctx_release(a->ctx, a->pre[l]);
    ctx_release(a->ctx, a->y[l]);
    ctx_release(a->ctx, a->mean[l]);
    ctx_release(a->ctx, a->var[l]);
  }
  ctx_release(a->ctx, a->g0);
  ctx_release(a->ctx, a->g1);
  memset(a, 0, sizeof *a);
}

// ---- layouts. On the CPU the activations between two convolutions stay in the layout oneDNN's
// convolutions pick (nChw16c on AVX-512: convplan_block), where BatchNorm and the activation
// run fused (batchnorm_forward_blk): no reorder to NCHW and back around every convolution,
// which took a third of the iteration. Maps whose channels are not a multiple of the block
// (the images, the noise, D's output) stay NCHW, so the networks' inputs and outputs are NCHW
// as everywhere else. With sync_bn (and on a GPU) everything is NCHW.

// The channel block of the activations of net n on ctx: 0 (all NCHW) or convplan_block's.
static int dcgan_block(Ctx *ctx, const DcganNet *n) {
  return ctx->dev == DEV_CPU && !n->sync_bn ? convplan_block(ctx) : 0;
}

// The block of a map of C channels: blk where C is a multiple of it, else 0 (NCHW).
static int map_block(int blk, int C) { return blk && C % blk == 0 ? blk : 0; }

// The leaky ReLU slope that stands for layer L's activation when fused into its BatchNorm, or
// into its convolution when it has none (ReLU 0, LeakyReLU its slope), or -1: not fusable.
static float fused_slope(const DcganLayer *L) {
  return L->act == ACT_RELU ? 0.0f : L->act == ACT_LEAKY_RELU ? L->slope : -1.0f;
}

static ConvShape layer_shape(const DcganNet *n, const DcganLayer *L, int N, int blk) {
  ConvShape s = n->is_g ? conv_transpose2d_plan_shape(N, L->Cin, L->Hin, L->Hin, L->Cout, DCGAN_K,
                                                      L->stride, L->pad)
                        : conv2d_plan_shape(N, L->Cin, L->Hin, L->Hin, L->Cout, DCGAN_K, L->stride,
                                            L->pad);
  s.xblk = map_block(blk, L->Cin);
  s.yblk = map_block(blk, L->Cout);
  // Without a BatchNorm the activation runs inside the convolution (D's first layer).
  if (blk && L->bn_idx < 0 && fused_slope(L) >= 0) {
    s.relu = 1;
    s.slope = fused_slope(L);
  }
  return s;
}

static void layer_conv_forward(Ctx *ctx, const DcganNet *n, const DcganLayer *L, float *y,
                               const float *x, const float *w, int N, int blk) {
  if (blk) {
    ConvShape s = layer_shape(n, L, N, blk);
    convplan_forward(ctx, &s, y, x, w, NULL);
  } else if (n->is_g) {
    conv_transpose2d_forward(ctx, y, x, w, NULL, N, L->Cin, L->Hin, L->Hin, L->Cout, DCGAN_K,
                             L->stride, L->pad);
  } else {
    conv2d_forward(ctx, y, x, w, NULL, N, L->Cin, L->Hin, L->Hin, L->Cout, DCGAN_K, L->stride,
                   L->pad);
  }
}

static void layer_conv_backward(Ctx *ctx, const DcganNet *n, const DcganLayer *L, float *dx,
                                float *dw, const float *dy, const float *x, const float *w,
                                int N, int blk) {
  if (blk) {
    ConvShape s = layer_shape(n, L, N, blk);
    convplan_backward(ctx, &s, dx, dw, NULL, dy, x, w);
  } else if (n->is_g) {
    conv_transpose2d_backward(ctx, dx, dw, NULL, dy, x, w, N, L->Cin, L->Hin, L->Hin, L->Cout,
                              DCGAN_K, L->stride, L->pad);
  } else {
    conv2d_backward(ctx, dx, dw, NULL, dy, x, w, N, L->Cin, L->Hin, L->Hin, L->Cout, DCGAN_K,
                    L->stride, L->pad);
  }
}

void dcgan_forward(Ctx *ctx, DcganNet *n, DcganActs *a, const float *in, float *out, int N,
                   int train) {
  GENET_ASSERT(N >= 1 && N <= a->Nmax);
  a->N = N;
  a->train = train != 0;
  ctx_copy(ctx, a->in, in, sizeof(float) * (size_t)N * dcgan_in_size(n));
  float *p = n->params.data, *b = n->buffers.data;
  const float *x = a->in;
  int blk = dcgan_block(ctx, n);
  for (int l = 0; l < n->nl; l++) {
    DcganLayer *L = &n->layer[l];
    int bn = L->bn_idx >= 0, yb = map_block(blk, L->Cout);
    float *c = bn ? a->pre[l] : a->y[l];
    layer_conv_forward(ctx, n, L, c, x, p + L->w, N, blk);
    size_t sz = (size_t)N * dcgan_map_size(L, 1);
    if (bn && yb) {
      float slope = fused_slope(L);
      batchnorm_forward_blk(ctx, a->y[l], a->mean[l], a->var[l], b + L->rmean, b + L->rvar, c,
                            p + L->bn_w, p + L->bn_b, N, L->Cout, L->Hout, L->Hout, yb, a->train,
                            DCGAN_BN_MOMENTUM, DCGAN_BN_EPS, slope < 0 ? 1.0f : slope);
      if (slope < 0) act_forward(ctx, L->act, L->slope, a->y[l], a->y[l], sz);
    } else {
      if (bn && n->sync_bn)
        batchnorm_forward_sync(ctx, a->y[l], a->mean[l], a->var[l], b + L->rmean,
                               b + L->rvar, c, p + L->bn_w, p + L->bn_b, N, L->Cout, L->Hout,
                               L->Hout, a->train, DCGAN_BN_MOMENTUM, DCGAN_BN_EPS);
      else if (bn)
        batchnorm_forward(ctx, a->y[l], a->mean[l], a->var[l], b + L->rmean, b + L->rvar, c,
                          p + L->bn_w, p + L->bn_b, N, L->Cout, L->Hout, L->Hout, a->train,
                          DCGAN_BN_MOMENTUM, DCGAN_BN_EPS);
      if (!(blk && !bn && fused_slope(L) >= 0))  // else fused into the convolution
        act_forward(ctx, L->act, L->slope, a->y[l], a->y[l], sz);
    }
    if (bn && a->train) L->num_batches_tracked++;
    x = a->y[l];
  }
  ctx_copy(ctx, out, a->y[n->nl - 1], sizeof(float) * (size_t)N * dcgan_out_size(n));
}

// dcgan_backward, and with grads = 0 dcgan_backward_input (no parameter gradient touched).
static void dcgan_backward_any(Ctx *ctx, DcganNet *n, DcganActs *a, const float *d_out,
                               float *d_in, int N, const GradReady *ready, int grads) {
  GENET_ASSERT(N == a->N);
  float *p = n->params.data, *gp = n->params.grad;
  int blk = dcgan_block(ctx, n);
  // dy: gradient w.r.t. the current layer's output; the other scratch buffer takes the next.
  float *dy = a->g0, *other = a->g1;
  ctx_copy(ctx, dy, d_out, sizeof(float) * (size_t)N * dcgan_out_size(n));
  for (int l = n->nl - 1; l >= 0; l--) {
    DcganLayer *L = &n->layer[l];
    size_t sz = (size_t)N * dcgan_map_size(L, 1);
    int bn = L->bn_idx >= 0, yb = map_block(blk, L->Cout);
    float slope = bn && yb ? fused_slope(L) : -1.0f;  // >= 0: the activation is in BN's backward
    if (slope < 0) act_backward(ctx, L->act, L->slope, dy, dy, a->y[l], sz);
    float *dc = dy;  // gradient w.r.t. the conv output
    if (bn) {
      if (yb)
        batchnorm_backward_blk(ctx, other, grads ? gp + L->bn_w : NULL,
                               grads ? gp + L->bn_b : NULL, dy,
                               slope < 0 ? NULL : a->y[l], a->pre[l], a->mean[l], a->var[l],
                               p + L->bn_w, N, L->Cout, L->Hout, L->Hout, yb, a->train,
                               DCGAN_BN_EPS, slope < 0 ? 1.0f : slope);
      else if (n->sync_bn)
        batchnorm_backward_sync(ctx, other, grads ? gp + L->bn_w : NULL,
                                grads ? gp + L->bn_b : NULL, dy, a->pre[l],
                                a->mean[l], a->var[l], p + L->bn_w, N, L->Cout, L->Hout, L->Hout,
                                a->train, DCGAN_BN_EPS);
      else
        batchnorm_backward(ctx, other, grads ? gp + L->bn_w : NULL,
                           grads ? gp + L->bn_b : NULL, dy, a->pre[l], a->mean[l],
                           a->var[l], p + L->bn_w, N, L->Cout, L->Hout, L->Hout, a->train,
                           DCGAN_BN_EPS);
      grad_ready(ready, L->bn_w, (size_t)L->Cout);
      grad_ready(ready, L->bn_b, (size_t)L->Cout);
      dc = other;
      other = dy;
    }
    const float *x = l ? a->y[l - 1] : a->in;
    float *dx = l ? other : d_in;
    layer_conv_backward(ctx, n, L, dx, grads ? gp + L->w : NULL, dc, x, p + L->w, N, blk);
    // This layer's gradients are final: its bucket may start while the layers below run.
    grad_ready(ready, L->w, (size_t)L->Cin * L->Cout * DCGAN_K * DCGAN_K);
    // The input gradient becomes the next (lower) layer's dy.
    other = dc;
    dy = dx;
  }
}

void dcgan_backward(Ctx *ctx, DcganNet *n, DcganActs *a, const float *d_out, float *d_in, int N,
                    const GradReady *ready) {
  dcgan_backward_any(ctx, n, a, d_out, d_in, N, ready, 1);
}

void dcgan_backward_input(Ctx *ctx, DcganNet *n, DcganActs *a, const float *d_out, float *d_in,
                          int N) {
  GENET_ASSERT(d_in != NULL);
  dcgan_backward_any(ctx, n, a, d_out, d_in, N, NULL, 0);
}
