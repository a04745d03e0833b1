// lstm.h: a multi-layer LSTM exactly as torch.nn.LSTM (seq-first, gate order i, f, g, o, two
// bias vectors per layer, dropout p on the output of every layer but the last in training).
// Input gradients (dx, dh0, dc0) are WRITTEN; parameter gradients are ACCUMULATED (+=).
//
// Speed: the input projection of a layer is one GEMM over all T*B rows; each step then adds
// h_{t-1} W_hh^T (B x 4H). Backward does one GEMM per step for dh_{t-1}, and dW_hh, dW_ih and
// d(input) as one GEMM each over all T*B rows once the step loop is done.
//
// Devices: both run the same loops (lstm.c); on a CUDA context every pointer below, the work
// buffer included, is device memory (the LstmDims, LstmLayer/LstmLayerGrad structs, LstmWork
// and the Rng stay on the host). Dropout between layers goes through dropout_forward_cols and
// dropout_backward, whose CUDA versions draw the CPU's masks.
#pragma once
#include <stddef.h>

#include "core/ctx.h"
#include "core/rng.h"

typedef struct {
  int T, B;  // steps, batch
  int I, H;  // input size, hidden size
  int L;     // layers
  float p;   // dropout between layers (applied in training only)
  int Bg, b0;  // data-parallel: these B columns are [b0, b0 + B) of Bg, and the dropout masks
               // are those of the whole (T, Bg, H) tensor (dropout_forward_cols); 0, 0: Bg = B
} LstmDims;

// One layer's parameters (pointers into the flat Params buffer, or any arrays); in = I for
// layer 0, H above.
typedef struct {
  const float *w_ih;  // (4H, in)  weight_ih_l{l}
  const float *w_hh;  // (4H, H)   weight_hh_l{l}
  const float *b_ih;  // (4H)      bias_ih_l{l}
  const float *b_hh;  // (4H)      bias_hh_l{l}
} LstmLayer;

// The same layout for the gradients (accumulated).
typedef struct {
  float *w_ih, *w_hh, *b_ih, *b_hh;
} LstmLayerGrad;

// Everything forward keeps for backward plus backward's scratch, carved from one buffer of
// lstm_work_floats() floats that the caller allocates once (no allocation per step).
typedef struct {
  float *gates;   // (L, T, B, 4H) activated gates i, f, g, o of every step
  float *c;       // (L, T+1, B, H) cell states; [l][0] = c0[l], [l][t+1] = c_t
  float *tc;      // (L, T, B, H) tanh(c_t)
  float *h;       // (L, T+1, B, H) hidden states; [l][0] = h0[l], [l][1..T] = layer l's output
  float *drop;    // (L-1, T, B, H) layer l's output after dropout = layer l+1's input
  float *mask;    // (L-1, T, B, H) dropout masks (0 or 1/(1-p))
  float *dgates;  // (T, B, 4H) backward: dL/d(gate pre-activations) of one layer
  float *dh;      // (T, B, H) backward: dL/d(output) of one layer
  float *dc;      // (B, H) backward: dL/dc carried back through time
  int dropped;    // set by forward: dropout was applied (training, p > 0, L > 1)
} LstmWork;

size_t lstm_work_floats(const LstmDims *d);
// Points w's fields into buf (lstm_work_floats(d) floats, 64-byte aligned as from xmalloc_floats).
void lstm_work_point(LstmWork *w, float *buf, const LstmDims *d);

// out: (T, B, H) last layer's h of every step   hn, cn: (L, B, H) final states (may be NULL)
// x: (T, B, I)   h0, c0: (L, B, H), NULL = zeros   layers: (L)
// hn may equal h0 and cn c0 (a carried state is updated in place). train != 0 applies dropout
// between layers with masks drawn from rng (may be NULL if !train or p == 0). Fills w for
// lstm_backward.
void lstm_forward(Ctx *ctx, float *out, float *hn, float *cn, LstmWork *w, const float *x,
                  const float *h0, const float *c0, const LstmLayer *layers, const LstmDims *d,
                  int train, Rng *rng);

// dout: (T, B, H)   dhn, dcn: (L, B, H) or NULL (= zero)   w: as forward left it
// dx: (T, B, I), dh0, dc0: (L, B, H) written; each may be NULL (not needed); dh0 may equal dhn
// and dc0 dcn.
// grads: (L) accumulated. x and layers as given to forward.
void lstm_backward(Ctx *ctx, float *dx, float *dh0, float *dc0, LstmLayerGrad *grads,
                   LstmWork *w, const float *dout, const float *dhn, const float *dcn,
                   const float *x, const LstmLayer *layers, const LstmDims *d);
