// vgg_model.h: torchvision's vgg19().features (configuration "E": 16 Conv2d 3x3 pad 1 with
// bias, a ReLU after each, 5 MaxPool2d 2x2/2 in floor mode; 37 modules, features[0..36]) with
// frozen weights, for neural style transfer: forward keeps every layer's output, backward
// carries loss gradients given at any set of layers down to the input image. No parameter
// gradients are computed (the weights never train); the input gradient is written (=).
//
// Layer outputs are those of torchvision WITHOUT in-place ReLUs: vgg_out(a, 21) is conv4_2
// before its ReLU. The seed's hooks on 21 and 25 saw relu4_2 and relu4_4 (in-place ReLUs ran
// after the hook), so its indices map to 22 and 26 here (style_task.c's `layers = seed`).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"
#include "core/params.h"

#define VGG19_LAYERS 37  // features[0..36]
#define VGG19_CONVS 16
// VGG16 (torchvision's configuration "D", fast neural style's loss network) shares the layer
// table, VggNet and VggActs: its features[0..30] fill layer[0..30]. Its taps: relu1_2 3,
// relu2_2 8, relu3_3 15, relu4_3 22 (VGG16_RELU*).
#define VGG16_LAYERS 31
#define VGG16_RELU1_2 3
#define VGG16_RELU2_2 8
#define VGG16_RELU3_3 15
#define VGG16_RELU4_3 22

typedef enum { VGG_CONV, VGG_RELU, VGG_POOL } VggKind;

typedef struct {
  VggKind kind;
  int Cin, Cout;   // channels in and out (equal for ReLU and pool)
  size_t w, b;     // conv only: offsets into params.data of (Cout, Cin, 3, 3) and (Cout)
} VggLayer;

typedef struct VggNet {
  int div;                          // channel divisor: 1 is VGG19
  VggLayer layer[VGG19_LAYERS];
  Params params;                    // features.<i>.weight/.bias of the 16 convs (grad NULL)
  int avg_pool;                     // 1: the five pools average (AvgPool2d(2, 2), `pooling = avg`)
                                    // instead of taking the maximum; 0 after build/load
} VggNet;

// div = 1 is VGG19; div > 1 divides every conv's channel count (64/div, 128/div, ...) for tests
// (div must divide 64). Weights are zero until loaded or set by the caller (params_staging).
// The parameters live on ctx's device (NULL: the host), and so do the VggActs made for v.
void vgg19_build(VggNet *v, int div, const Ctx *ctx);
void vgg_net_free(VggNet *v);

// Loads params/features.<i>.weight (Cout, Cin, 3, 3) and params/features.<i>.bias (Cout) of the
// 16 convolutions (the layout scripts/vgg19_to_h5.py writes); infers div from
// features.0.weight's first dimension (64/div), builds the net and checks every shape; returns
// 0, or -1 with a one-line message naming file and dataset (v is then left unbuilt). The net is
// built on ctx (NULL: the host); the weights are read on the host and uploaded.
int vgg19_load(VggNet *v, const Ctx *ctx, const char *path, char *err, size_t errlen);

// VGG19 at width 1/div with random weights instead of trained ones (no file to download): each
// conv's weights N(0, 2 / (Cin * 9)) drawn from the Philox stream (seed, stream), biases zero.
// Random convolutional features still carry texture statistics, so style transfer works on them,
// though not as well as on a trained VGG19. Same seed, same weights, on any device.
void vgg19_random(VggNet *v, const Ctx *ctx, int div, uint64_t seed, uint64_t stream);

// The same for VGG16 (13 convolutions; scripts/vgg16_to_h5.py writes its file). Same weight
// draw as vgg19_random for each of its convolutions.
void vgg16_build(VggNet *v, int div, const Ctx *ctx);
int vgg16_load(VggNet *v, const Ctx *ctx, const char *path, char *err, size_t errlen);
void vgg16_random(VggNet *v, const Ctx *ctx, int div, uint64_t seed, uint64_t stream);

// Layer names as in the literature -> features index: conv1_1 0, relu1_1 1, conv1_2 2,
// relu1_2 3, pool1 4, conv2_1 5, relu2_1 6, ..., conv4_2 21, relu4_2 22, ..., relu4_4 26,
// pool4 27, conv5_1 28, relu5_1 29, ..., pool5 36. Returns -1 for an unknown name.
int vgg_layer_index(const char *name);
// The reverse (a static string); NULL outside 0..36.
const char *vgg_layer_name(int index);

#define VGG_SPARE 8

// Buffers for one image (batch 1) of H x W through features[0..last]: every layer's output,
// the pools' workspaces, a copy of the input, and gradient buffers backward makes, all on the
// device of v's parameters (v->params.ctx). Pointers given to and returned by the functions below
// are memory of that device, and the Ctx given to them must run there.
typedef struct VggActs {
  const Ctx *ctx;                   // where the buffers live (NULL: the host)
  int H, W, last;                   // input size, last layer run
  int C[VGG19_LAYERS], Ho[VGG19_LAYERS], Wo[VGG19_LAYERS];  // output shape of features[i]
  float *in;                        // (1, 3, H, W) copy of the input (conv 0's backward needs it)
  float *out[VGG19_LAYERS];         // (1, C[i], Ho[i], Wo[i]) output of features[i], i <= last
                                    // (a conv's may be its ReLU's buffer: vgg_acts_alloc_keep)
  void *ws[VGG19_LAYERS];           // pools only: the pool's workspace for backward (device's)
  float *spare[VGG_SPARE];          // gradient buffers backward found no dead buffer for, made
  size_t spare_n[VGG_SPARE];        // by the first pass (floats each) and reused
  int nspare;
} VggActs;

void vgg_acts_alloc(VggActs *a, const VggNet *v, int H, int W, int last);
// The same with less memory: a conv's output that keep[i] (VGG19_LAYERS flags) does not ask for
// shares its ReLU's buffer (the ReLU runs in place, as PyTorch's inplace=True), so
// vgg_out(a, i) of such a conv is not available (asserted); backward needs only the ReLU's
// output. keep NULL keeps every output (vgg_acts_alloc).
void vgg_acts_alloc_keep(VggActs *a, const VggNet *v, int H, int W, int last, const uint8_t *keep);
void vgg_acts_free(VggActs *a);

// img (1, 3, H, W) (already preprocessed by the caller) through features[0..last]; every
// layer's output kept in a.
void vgg_forward(Ctx *ctx, const VggNet *v, VggActs *a, const float *img);
// Output of features[i] (i <= last): (1, C, H, W).
const float *vgg_out(const VggActs *a, int i);
void vgg_out_shape(const VggActs *a, int i, int *C, int *H, int *W);

// Backward through features[last..0] after vgg_forward on a. It OVERWRITES a's outputs (a
// ReLU's with its input gradient, the others as scratch), so run vgg_forward again before
// another backward or vgg_out; the gradient buffers it needs beyond the dead activations are
// made by the first pass and kept in a. dtap[i] (NULL for most i; dtap has
// last + 1 entries) is the loss gradient w.r.t. the output of features[i], (1, C, H, W) as
// vgg_out_shape, ADDED to whatever flows down from above at that layer; dimg (1, 3, H, W) is
// written. Layers above the highest non-NULL tap are skipped. No parameter gradients (conv
// backward with dw = NULL). All dtap NULL writes zeros.
void vgg_backward(Ctx *ctx, const VggNet *v, VggActs *a, float *const *dtap, float *dimg);
// The same with the taps' gradients made when the pass reaches them, so that no buffer per
// tapped layer lives through the pass: for each layer i with tapped[i] (last + 1 flags),
// tap_grad(arg, i, dout) WRITES the loss gradient w.r.t. the output of features[i] into dout
// (a free buffer of a's, the layer's output size). It may read vgg_out(a, j) of the tapped
// layers j <= i (the others may be overwritten by then).
typedef void (*VggTapGrad)(void *arg, int layer, float *dout);
void vgg_backward_fn(Ctx *ctx, const VggNet *v, VggActs *a, const uint8_t *tapped,
                     VggTapGrad tap_grad, void *arg, float *dimg);
