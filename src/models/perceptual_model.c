// perceptual_model.c: fast neural style's perceptual loss (perceptual_model.h) from VGG16,
// the gram/loss ops and two element-wise ops for the ImageNet normalization.
#include "models/perceptual_model.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ops/add.h"
#include "ops/gram.h"
#include "ops/loss.h"
#include "ops/scale.h"

const int perceptual_tap[PERCEPTUAL_TAPS] = {VGG16_RELU1_2, VGG16_RELU2_2, VGG16_RELU3_3,
                                             VGG16_RELU4_3};
static const float IMAGENET_MEAN[3] = {0.485f, 0.456f, 0.406f};
static const float IMAGENET_STD[3] = {0.229f, 0.224f, 0.225f};

// (3, hw) planes of -mean_c / std_c on dev (ctx_alloc'd).
static float *make_offset(const Ctx *dev, size_t hw) {
  float *h = xmalloc_floats(3 * hw);
  for (int c = 0; c < 3; c++)
    for (size_t i = 0; i < hw; i++) h[c * hw + i] = -IMAGENET_MEAN[c] / IMAGENET_STD[c];
  float *d = ctx_alloc(dev, sizeof(float) * 3 * hw);
  ctx_upload(dev, d, h, sizeof(float) * 3 * hw);
  free(h);
  return d;
}

// out (3, hw) = in / (255 std_c) - mean_c / std_c, the reference's normalize_batch.
static void normalize(Ctx *ctx, float *out, const float *in, const float *offset, size_t hw) {
  ctx_copy(ctx, out, in, sizeof(float) * 3 * hw);
  for (int c = 0; c < 3; c++) {
    scale_inplace(ctx, out + c * hw, hw, 1.0f / (255.0f * IMAGENET_STD[c]));
    add_inplace(ctx, out + c * hw, offset + c * hw, hw, 1.0f);
  }
}

void perceptual_init(Perceptual *p, const VggNet *vgg, int H, int W) {
  memset(p, 0, sizeof *p);
  p->vgg = vgg;
  p->dev = vgg->params.ctx;
  p->H = H;
  p->W = W;
  size_t hw = (size_t)H * W;
  vgg_acts_alloc(&p->ay, vgg, H, W, VGG16_RELU4_3);
  vgg_acts_alloc(&p->ax, vgg, H, W, PERCEPTUAL_CONTENT);
  p->ny = ctx_alloc(p->dev, sizeof(float) * 3 * hw);
  p->nx = ctx_alloc(p->dev, sizeof(float) * 3 * hw);
  p->dimg = ctx_alloc(p->dev, sizeof(float) * 3 * hw);
  p->offset = make_offset(p->dev, hw);
  for (int k = 0; k < PERCEPTUAL_TAPS; k++) {
    int l = perceptual_tap[k], C, h, w;
    vgg_out_shape(&p->ay, l, &C, &h, &w);
    p->target[k] = ctx_alloc(p->dev, sizeof(float) * C * C);
    p->G[k] = ctx_alloc(p->dev, sizeof(float) * C * C);
    p->dG[k] = ctx_alloc(p->dev, sizeof(float) * C * C);
    p->dtap[l] = ctx_alloc(p->dev, sizeof(float) * C * h * w);
    if (l == PERCEPTUAL_CONTENT) p->dcontent = ctx_alloc(p->dev, sizeof(float) * C * h * w);
  }
}

void perceptual_free(Perceptual *p) {
  vgg_acts_free(&p->ay);
  vgg_acts_free(&p->ax);
  float *b[] = {p->ny, p->nx, p->dimg, p->offset, p->dcontent};
  for (size_t i = 0; i < sizeof b / sizeof *b; i++) ctx_release(p->dev, b[i]);
  for (int k = 0; k < PERCEPTUAL_TAPS; k++) {
    ctx_release(p->dev, p->target[k]);
    ctx_release(p->dev, p->G[k]);
    ctx_release(p->dev, p->dG[k]);
    ctx_release(p->dev, p->dtap[perceptual_tap[k]]);
  }
  memset(p, 0, sizeof *p);
}

void perceptual_set_style(Perceptual *p, Ctx *ctx, const float *style, int sh, int sw) {
  size_t hw = (size_t)sh * sw;
  VggActs a;
  vgg_acts_alloc(&a, p->vgg, sh, sw, VGG16_RELU4_3);
  float *off = make_offset(p->dev, hw), *n = ctx_alloc(p->dev, sizeof(float) * 3 * hw);
  normalize(ctx, n, style, off, hw);
  vgg_forward(ctx, p->vgg, &a, n);
  for (int k = 0; k < PERCEPTUAL_TAPS; k++) {
    int C, h, w;
    vgg_out_shape(&a, perceptual_tap[k], &C, &h, &w);
    gram_forward(ctx, p->target[k], vgg_out(&a, perceptual_tap[k]), 1, C, h * w);
  }
  ctx_release(p->dev, off);
  ctx_release(p->dev, n);
  vgg_acts_free(&a);
}

double perceptual_loss(Perceptual *p, Ctx *ctx, const float *y, const float *x, int N,
                       double content_weight, double style_weight, float *dy, double *content,
                       double *style) {
  size_t hw = (size_t)p->H * p->W;
  double lc = 0, ls = 0;
  for (int n = 0; n < N; n++) {
    normalize(ctx, p->nx, x + 3 * hw * n, p->offset, hw);
    normalize(ctx, p->ny, y + 3 * hw * n, p->offset, hw);
    vgg_forward(ctx, p->vgg, &p->ax, p->nx);
    vgg_forward(ctx, p->vgg, &p->ay, p->ny);
    for (int k = 0; k < PERCEPTUAL_TAPS; k++) {
      int l = perceptual_tap[k], C, h, w;
      vgg_out_shape(&p->ay, l, &C, &h, &w);
      // The batch mean of the reference's MSE of Grams (/ C H W): genet's Grams (/ H W) are C
      // times larger, their MSE C^2 times.
      float wgt = (float)(style_weight / ((double)N * C * C));
      const float *F = vgg_out(&p->ay, l);
      ls += wgt * (double)style_loss_forward(ctx, p->G[k], F, p->target[k], 1, C, h * w);
      style_loss_backward(ctx, p->dtap[l], p->dG[k], p->G[k], p->target[k], F, 1, C, h * w, wgt);
      if (l != PERCEPTUAL_CONTENT) continue;
      size_t m = (size_t)C * h * w;
      float cw = (float)(content_weight / N);
      lc += cw * (double)mse_loss_forward(ctx, F, vgg_out(&p->ax, l), m);
      mse_loss_backward(ctx, p->dcontent, F, vgg_out(&p->ax, l), m, cw);
      add_inplace(ctx, p->dtap[l], p->dcontent, m, 1.0f);
    }
    vgg_backward(ctx, p->vgg, &p->ay, p->dtap, p->dimg);
    float *d = dy + 3 * hw * n;
    ctx_copy(ctx, d, p->dimg, sizeof(float) * 3 * hw);
    for (int c = 0; c < 3; c++) scale_inplace(ctx, d + c * hw, hw, 1.0f / (255.0f * IMAGENET_STD[c]));
  }
  *content = lc;
  *style = ls;
  return lc + ls;
}
