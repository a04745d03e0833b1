// perceptual_model.h: the perceptual loss of fast neural style (Johnson et al. 2016, as
// pytorch/examples fast_neural_style trains): the generated images y and the content images x
// (both (N, 3, H, W) in [0, 255]) are normalized as ImageNet inputs ((v / 255 - mean) / std),
// run through VGG16's features, and
//   content = content_weight * MSE(relu2_2(y), relu2_2(x))                (mean over N, C, H, W)
//   style   = style_weight * sum over relu1_2, relu2_2, relu3_3, relu4_3 of
//             MSE(gram(F(y)), gram(F(style image)))                       (mean over N, C, C)
// with the reference's gram(F) = F F^T / (C H W) for (C, H W) features of one image. VGG runs
// one image at a time (models/vgg_model.h, batch 1); genet's Gram (ops/gram.h) divides by H W,
// so each tap's weight carries the 1 / C^2. All buffers live on the VGG's device.
#pragma once
#include <stddef.h>

#include "core/ctx.h"
#include "models/vgg_model.h"

#define PERCEPTUAL_TAPS 4
extern const int perceptual_tap[PERCEPTUAL_TAPS];  // VGG16_RELU1_2, _2_2, _3_3, _4_3
#define PERCEPTUAL_CONTENT VGG16_RELU2_2

typedef struct {
  const VggNet *vgg;
  const Ctx *dev;
  int H, W;
  VggActs ay, ax;                       // y's pass (to relu4_3), x's (to relu2_2)
  float *ny, *nx;                       // (3, H, W) normalized images
  float *offset;                        // (3, H W): -mean_c / std_c per channel
  float *target[PERCEPTUAL_TAPS];       // (C, C) the style image's Grams (genet's, / H W)
  float *G[PERCEPTUAL_TAPS], *dG[PERCEPTUAL_TAPS];  // (C, C) scratch
  float *dtap[VGG16_LAYERS];            // gradients at the taps, NULL elsewhere
  float *dcontent;                      // (C, H W) at relu2_2
  float *dimg;                          // (3, H, W)
} Perceptual;

// For training images of H x W on vgg (a VGG16: vgg16_build/load/random).
void perceptual_init(Perceptual *p, const VggNet *vgg, int H, int W);
void perceptual_free(Perceptual *p);
// The style targets from one style image (1, 3, sh, sw) in [0, 255], on the VGG's device.
void perceptual_set_style(Perceptual *p, Ctx *ctx, const float *style, int sh, int sw);
// The loss of a batch (returned: content + style, and each part), and dy (N, 3, H, W), its
// gradient w.r.t. y (written). y and x: (N, 3, H, W) in [0, 255].
double perceptual_loss(Perceptual *p, Ctx *ctx, const float *y, const float *x, int N,
                       double content_weight, double style_weight, float *dy, double *content,
                       double *style);
