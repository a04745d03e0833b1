// dcgan_model.h: the DCGAN generator and discriminator of pytorch/examples' dcgan (the seed's
// _netG and _netD) at 64x64 images, composed from the layer ops (conv, conv_transpose,
// batchnorm, activations). Widths nz, ngf, ndf, nc are parameters; the architecture is fixed:
//   G: ConvT(nz->8ngf,4,1,0) BN ReLU, ConvT(8ngf->4ngf,4,2,1) BN ReLU, ConvT(4ngf->2ngf) BN ReLU,
//      ConvT(2ngf->ngf) BN ReLU, ConvT(ngf->nc) Tanh; no biases.
//   D: Conv(nc->ndf,4,2,1) LReLU(0.2), Conv(ndf->2ndf) BN LReLU, Conv(2ndf->4ndf) BN LReLU,
//      Conv(4ndf->8ndf) BN LReLU, Conv(8ndf->1,4,1,0) Sigmoid; no biases.
// At 32x32 (img = 32) each network drops its widest inner layer, as 32 px DCGANs do:
//   G: ConvT(nz->4ngf,4,1,0) BN ReLU, ConvT(4ngf->2ngf) BN ReLU, ConvT(2ngf->ngf) BN ReLU,
//      ConvT(ngf->nc) Tanh;  D: Conv(nc->ndf) LReLU, Conv(ndf->2ndf) BN LReLU,
//      Conv(2ndf->4ndf) BN LReLU, Conv(4ndf->1,4,1,0) Sigmoid.
// Parameters carry the reference's state_dict names (main.<Sequential index>.weight/.bias) and
// are registered in its parameters() order. Parameter gradients are ACCUMULATED (+=) into
// params.grad; input gradients are written (=).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "ops/activations.h"
#include "core/ctx.h"
#include "core/params.h"
#include "core/rng.h"

#define DCGAN_LAYERS 5      // the most conv (or conv-transpose) layers in a network (64 px)
#define DCGAN_IMG 64        // the reference's image side
#define DCGAN_BN_EPS 1e-5f
#define DCGAN_BN_MOMENTUM 0.1f

// nc channels; ngf/ndf widths; nz latent size (the image side is given to the build functions)
typedef struct {
  int nz, ngf, ndf, nc;
} DcganConfig;

// One conv (G: transposed) layer, optionally followed by BatchNorm, then an activation.
typedef struct {
  int Cin, Cout, Hin, Hout;  // square maps: input Hin x Hin, output Hout x Hout
  int stride, pad;           // kernel 4
  int conv_idx;              // Sequential index of the conv: state_dict "main.<conv_idx>.weight"
  int bn_idx;                // Sequential index of the BatchNorm, -1: none
  ActKind act;
  float slope;               // LeakyReLU negative slope (0.2), else 0
  size_t w;                  // offset into params.data: (Cout, Cin, 4, 4) conv, (Cin, Cout, 4, 4) convT
  size_t bn_w, bn_b;         // offsets into params.data (Cout) when bn_idx >= 0
  size_t rmean, rvar;        // offsets into buffers.data (Cout) when bn_idx >= 0
  int64_t num_batches_tracked;  // state_dict "main.<bn_idx>.num_batches_tracked"
} DcganLayer;

// One network (G or D): parameters in one flat Params (state_dict names main.0.weight,
// main.1.weight, main.1.bias, ... exactly as the reference's nn.Sequential indices), BatchNorm
// running statistics in a second Params `buffers` (main.1.running_mean, main.1.running_var; its
// grad buffer unused) plus num_batches_tracked per BN layer (layer[l].num_batches_tracked).
typedef struct DcganNet {
  DcganConfig cfg;
  int is_g;                     // 1: generator, 0: discriminator
  int nl, img;                  // layers in use (5 at 64 px, 4 at 32 px), image side
  DcganLayer layer[DCGAN_LAYERS];
  Params params;                // conv weights, BN weights and biases
  Params buffers;               // BN running_mean, running_var
  int sync_bn;                  // BatchNorm statistics over all ranks (sync_bn), summed by ctx->reduce
} DcganNet;

// Parameters and buffers on ctx's device (NULL: the CPU); activations, inputs and outputs given
// to the network live there too.
void dcgan_build_g(DcganNet *g, const DcganConfig *c, const Ctx *ctx);  // 64x64 images
void dcgan_build_d(DcganNet *d, const DcganConfig *c, const Ctx *ctx);
// The same at img x img images, img 64 or 32.
void dcgan_build_g_img(DcganNet *g, const DcganConfig *c, int img, const Ctx *ctx);
void dcgan_build_d_img(DcganNet *d, const DcganConfig *c, int img, const Ctx *ctx);
void dcgan_net_free(DcganNet *n);
// Floats per sample of the input (G: nz, D: nc*img*img) and of the output (G: nc*img*img, D: 1).
size_t dcgan_in_size(const DcganNet *n);
size_t dcgan_out_size(const DcganNet *n);

// weights_init: conv/convT weights N(0, 0.02), BN weight N(1, 0.02), BN bias 0; running mean 0,
// var 1, num_batches_tracked 0. Draws from rng layer by layer (conv weight, then BN weight).
void dcgan_init_weights(DcganNet *n, Rng *rng);

// Activations of one forward pass kept for backward, for batches up to Nmax.
// One DcganActs holds ONE pass: dcgan_backward uses what the last dcgan_forward on these acts
// saved, and the next forward on them overwrites it. The reference loop therefore needs only one
// DcganActs for D if each D backward directly follows its own forward (real: fwd, bwd; fake
// detached: fwd, bwd; Adam step; fake for G: fwd, bwd with d_in), and one for G.
// As in PyTorch, the G pass's D backward also accumulates into D's params.grad: zero D's grads
// (params_zero_grad) at the start of each iteration, as the reference's netD.zero_grad().
typedef struct DcganActs {
  const Ctx *ctx;                // the network's device: every buffer below lives there
  int Nmax, nl;                  // batch capacity, the network's layers
  int N, train;                  // of the last forward
  float *in;                     // (N, in_size) copy of the input
  // pre, y and the backward scratch hold a map in NCHW, or on the CPU in oneDNN's blocked
  // layout when its channels are a multiple of the block (dcgan_model.c, "layouts"): read
  // only what dcgan_forward returns in `out`, which is always NCHW.
  float *pre[DCGAN_LAYERS];      // (N, Cout, Hout, Hout) conv output before BN; NULL without BN
  float *y[DCGAN_LAYERS];        // (N, Cout, Hout, Hout) layer output after BN and activation
  float *mean[DCGAN_LAYERS];     // (Cout) BN statistics saved for backward; NULL without BN
  float *var[DCGAN_LAYERS];      // (Cout)
  float *g0, *g1;                // backward scratch, the largest layer output each
} DcganActs;
void dcgan_acts_alloc(DcganActs *a, const DcganNet *n, int Nmax);
void dcgan_acts_free(DcganActs *a);

// G: z (N, nz) [= (N, nz, 1, 1)] -> img (N, nc, img, img) in [-1, 1] (tanh).
// D: img (N, nc, img, img) -> prob (N) (sigmoid).
// train != 0: BatchNorm uses batch statistics and updates running stats (momentum 0.1) and
// num_batches_tracked, as module.train(); else the running stats (module.eval()).
// 1 <= N <= a->Nmax (every BN map is at least 4x4, so training works from N = 1).
void dcgan_forward(Ctx *ctx, DcganNet *n, DcganActs *a, const float *in, float *out, int N,
                   int train);
// Backward of the last forward on these acts: d_out (N, ...) upstream gradient (shape of out);
// d_in (shape of in) written if not NULL (D: gradient w.r.t. the image, needed for G's step);
// parameter grads ACCUMULATED into n->params.grad. N must equal the forward's N.
// ready (may be NULL) hears of each layer's parameter gradients as soon as they are final, so
// their all-reduce runs while the lower layers' backward does: pass it to the last backward
// before the optimizer step only (gradients of earlier passes are not final).
void dcgan_backward(Ctx *ctx, DcganNet *n, DcganActs *a, const float *d_out, float *d_in, int N,
                    const GradReady *ready);
// The same for d_in (not NULL) alone: no parameter gradient is computed or touched. G's step
// needs D's input gradient only; PyTorch's autograd also forms D's weight gradients there (then
// zeroed unused by the next D step), a third of D's backward-weights work.
void dcgan_backward_input(Ctx *ctx, DcganNet *n, DcganActs *a, const float *d_out, float *d_in,
                          int N);
