// transformer_model.h: fast neural style's image transformation network (Johnson et al. 2016,
// pytorch/examples fast_neural_style's TransformerNet), composed from the reflection_pad, conv,
// instancenorm, upsample, activations and add ops. With c = width (32 in the reference):
//   conv1 3->c k9 s1, in1, ReLU;  conv2 c->2c k3 s2, in2, ReLU;  conv3 2c->4c k3 s2, in3, ReLU;
//   res1..res5: x + in2(conv2(ReLU(in1(conv1(x))))) at 4c channels, k3;
//   deconv1: nearest x2, 4c->2c k3, in4, ReLU;  deconv2: nearest x2, 2c->c k3, in5, ReLU;
//   deconv3: c->3 k9 s1 (no normalization, no activation).
// Every conv pads by reflection (k / 2 rows and columns) and has a bias; every InstanceNorm2d is
// affine with eps 1e-5. Parameters carry the reference's state_dict names (conv1.conv2d.weight,
// in1.weight, res1.conv1.conv2d.bias, ...) in its parameters() order. Fully convolutional: an
// H x W input gives a (4 ceil(H/4)) x (4 ceil(W/4)) output (the two stride-2 convs round up), H
// and W at least 16. Parameter gradients are ACCUMULATED (+=); the input gradient is written.
#pragma once
#include <stddef.h>

#include "core/ctx.h"
#include "core/params.h"
#include "core/rng.h"

#define TRANSFORMER_UNITS 16  // conv units: 3 down, 5 blocks x 2, 3 up
#define TRANSFORMER_EPS 1e-5f

// One unit: [nearest upsample] -> reflection pad -> conv -> [InstanceNorm] -> [ReLU] [+ skip].
typedef struct {
  int Cin, Cout, K, stride, up;  // up: 1 (none) or 2
  int norm, relu;                // InstanceNorm after the conv; ReLU after that
  int skip;                      // -1, or the unit whose INPUT is added to this one's output
  size_t w, b, nw, nb;           // offsets into params.data: (Cout, Cin, K, K), (Cout), (Cout), (Cout)
} TransformerUnit;

typedef struct {
  int width;                     // c
  TransformerUnit unit[TRANSFORMER_UNITS];
  Params params;
} TransformerNet;

// Parameters (zeroed) on ctx's device (NULL: the CPU).
void transformer_build(TransformerNet *n, int width, const Ctx *ctx);
void transformer_free(TransformerNet *n);
// PyTorch's default initialization, from rng: conv weight and bias U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)); InstanceNorm weight 1, bias 0.
void transformer_init_weights(TransformerNet *n, Rng *rng);
// Output side for an input side (4 ceil(s / 4)); the smallest input side accepted.
int transformer_out_size(int s);
#define TRANSFORMER_MIN_SIDE 16

// What one pass (batch N of H x W) keeps for backward, on the parameters' device.
typedef struct {
  const Ctx *ctx;
  int N, H, W;
  int h[TRANSFORMER_UNITS], w[TRANSFORMER_UNITS];     // each unit's input size
  int ho[TRANSFORMER_UNITS], wo[TRANSFORMER_UNITS];   // and output size
  const float *x[TRANSFORMER_UNITS];  // each unit's input (the previous output; x[0] the image)
  float *up[TRANSFORMER_UNITS];       // (N, Cin, h up, w up) upsampled input, or NULL
  float *pad[TRANSFORMER_UNITS];      // (N, Cin, hp, wp) padded input
  float *conv[TRANSFORMER_UNITS];     // (N, Cout, ho, wo) conv output
  float *y[TRANSFORMER_UNITS];        // (N, Cout, ho, wo) unit output (conv itself when !norm)
  float *mean[TRANSFORMER_UNITS], *var[TRANSFORMER_UNITS];  // (N, Cout) InstanceNorm statistics
  float *g[TRANSFORMER_UNITS];        // (N, Cout, ho, wo) gradient w.r.t. y (backward)
  float *s0, *s1;                     // backward scratch (largest padded / upsampled tensor)
  int forward_only;                   // transformer_acts_alloc_forward: the buffers below, shared
  float *fup, *fpad, *fconv, *fmean, *fvar, *fy[3];
} TransformerActs;

void transformer_acts_alloc(TransformerActs *a, const TransformerNet *n, int N, int H, int W);
// For forward passes only (genet stylize): a few buffers shared by the units, a fraction of the
// memory (at 512 x 512, width 32: ~70M floats instead of ~275M); backward refuses it.
void transformer_acts_alloc_forward(TransformerActs *a, const TransformerNet *n, int N, int H, int W);
void transformer_acts_free(TransformerActs *a);
// x (N, 3, H, W) -> the output (N, 3, ho, wo) (transformer_out_size), returned: a's buffer.
// x must stay unchanged until backward.
const float *transformer_forward(Ctx *ctx, const TransformerNet *n, TransformerActs *a,
                                 const float *x);
// dy (N, 3, ho, wo): parameter gradients accumulated into params.grad, each unit's announced to
// ready when final; dx (N, 3, H, W) written when not NULL.
void transformer_backward(Ctx *ctx, const TransformerNet *n, TransformerActs *a, const float *dy,
                          float *dx, const GradReady *ready);
