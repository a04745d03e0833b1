// lstm.c: multi-layer LSTM forward and backward through time: large GEMMs over all T*B rows
// where the recurrence allows, one small GEMM per step where it does not, and the cell math of
// src/base/lstm_cell.h. The loops over layers and steps are written once (DISPATCH_ANY) and run
// on whichever device the Ctx names: every piece they call is a dispatched op (gemm, dropout,
// and the small static ops below, whose CUDA versions are in kernels/lstm.cu), so the CPU
// tests against PyTorch check the GPU's bookkeeping (offsets, strides, GEMM shapes) as well.
// GCC keeps the selects of src/base/fastmath.h as branches (so the loops do not vectorize) when
// float operations may trap; genet never enables FP traps. Other compilers: same result, slower.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ops/lstm.h"

#include <string.h>

#include "ops/dropout.h"
#include "ops/gemm.h"
#include "base/lstm_cell.h"
#include "core/dispatch.h"
#include "core/util.h"

// Below this many cells per step a parallel region costs more than it saves.
#define LSTM_PAR_MIN 2048

static size_t lstm_round16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t lstm_work_floats(const LstmDims *d) {
  size_t T = d->T, B = d->B, H = d->H, L = d->L, BH = B * H;
  size_t drop = L > 1 ? (L - 1) * T * BH : 0;
  return lstm_round16(L * T * BH * 4) + 2 * lstm_round16(L * (T + 1) * BH) +
         lstm_round16(L * T * BH) + 2 * lstm_round16(drop) + lstm_round16(T * BH * 4) +
         lstm_round16(T * BH) + lstm_round16(BH);
}

void lstm_work_point(LstmWork *w, float *buf, const LstmDims *d) {
  size_t T = d->T, B = d->B, H = d->H, L = d->L, BH = B * H;
  size_t drop = L > 1 ? (L - 1) * T * BH : 0;
  float *p = buf;
#define TAKE(field, n) (w->field = p, p += lstm_round16(n))
  TAKE(gates, L * T * BH * 4);
  TAKE(c, L * (T + 1) * BH);
  TAKE(h, L * (T + 1) * BH);
  TAKE(tc, L * T * BH);
  TAKE(drop, drop);
  TAKE(mask, drop);
  TAKE(dgates, T * BH * 4);
  TAKE(dh, T * BH);
  TAKE(dc, BH);
#undef TAKE
  w->dropped = 0;
}

static void lstm_check_dims(const LstmDims *d) {
  GENET_ASSERT(d->T > 0 && d->B > 0 && d->I > 0 && d->H > 0 && d->L > 0);
  GENET_ASSERT(d->p >= 0.0f && d->p < 1.0f);
}

// The input of layer l (T*B rows): x, or the layer below's output (after dropout if applied).
static const float *lstm_layer_input(const LstmWork *w, const float *x, int l, const LstmDims *d) {
  size_t TBH = (size_t)d->T * d->B * d->H, BH = (size_t)d->B * d->H;
  if (l == 0) return x;
  if (w->dropped) return w->drop + (size_t)(l - 1) * TBH;
  return w->h + (size_t)(l - 1) * (d->T + 1) * BH + BH;
}

// ---- the pieces forward and backward are made of: each is dispatched (core/dispatch.h), the
// CPU version here, the CUDA one in kernels/lstm.cu calling the same lstm_cell.h functions.
// The loops over layers and steps below are written once and run on either device.

// Copies n floats, or zeroes them when src is NULL.
static void lstm_fill_cpu(Ctx *ctx, float *dst, const float *src, size_t n) {
  if (src)
    memcpy(dst, src, n * sizeof(float));
  else
    memset(dst, 0, n * sizeof(float));
}

static void lstm_fill(Ctx *ctx, float *dst, const float *src, size_t n) {
  DISPATCH(ctx, lstm_fill_cpu(ctx, dst, src, n), lstm_fill_cuda(ctx->cuda, dst, src, n));
}

// y (n) += x (n).
static void lstm_add_cpu(Ctx *ctx, float *y, const float *x, size_t n) {
  for (size_t k = 0; k < n; k++) y[k] += x[k];
}

static void lstm_add(Ctx *ctx, float *y, const float *x, size_t n) {
  DISPATCH(ctx, lstm_add_cpu(ctx, y, x, n), lstm_add_cuda(ctx->cuda, y, x, n));
}

// Every row of G (R rows, C columns) = b_ih + b_hh.
static void lstm_bias_rows_cpu(Ctx *ctx, float *G, const float *b_ih, const float *b_hh, int R,
                               int C) {
#pragma omp parallel for schedule(static) if (R * C > 4 * LSTM_PAR_MIN)
  for (int r = 0; r < R; r++)
    for (int j = 0; j < C; j++) G[(size_t)r * C + j] = b_ih[j] + b_hh[j];
}

static void lstm_bias_rows(Ctx *ctx, float *G, const float *b_ih, const float *b_hh, int R, int C) {
  DISPATCH(ctx, lstm_bias_rows_cpu(ctx, G, b_ih, b_hh, R, C),
           lstm_bias_rows_cuda(ctx->cuda, G, b_ih, b_hh, R, C));
}

// One batch row of a step (g: the row's 4H gates, the rest H each). restrict and omp simd
// let the compiler vectorize the cell math across j.
static void lstm_fwd_row(float *restrict g, const float *restrict cprev, float *restrict c,
                         float *restrict tc, float *restrict h, int H) {
#pragma omp simd
  for (int j = 0; j < H; j++)
    lstm_cell_fwd(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], cprev[j], &c[j], &tc[j], &h[j]);
}

// The cells of one step: G (B, 4H) pre-activations in, activated gates out; c, tc, h (B, H).
static void lstm_step_fwd_cpu(Ctx *ctx, float *G, const float *cprev, float *c, float *tc,
                              float *h, int B, int H) {
#pragma omp parallel for schedule(static) if (B * H >= LSTM_PAR_MIN)
  for (int b = 0; b < B; b++) {
    size_t k = (size_t)b * H;
    lstm_fwd_row(G + (size_t)b * 4 * H, cprev + k, c + k, tc + k, h + k, H);
  }
}

static void lstm_step_fwd(Ctx *ctx, float *G, const float *cprev, float *c, float *tc, float *h,
                          int B, int H) {
  DISPATCH(ctx, lstm_step_fwd_cpu(ctx, G, cprev, c, tc, h, B, H),
           lstm_step_fwd_cuda(ctx->cuda, G, cprev, c, tc, h, B, H));
}

// dg: the row's 4H pre-activation gradients; dc: dL/dc in, dL/dc_prev out.
static void lstm_bwd_row(float *restrict dg, float *restrict dc, const float *restrict g,
                         const float *restrict cprev, const float *restrict tc,
                         const float *restrict dh, int H) {
#pragma omp simd
  for (int j = 0; j < H; j++)
    lstm_cell_bwd(g[j], g[H + j], g[2 * H + j], g[3 * H + j], cprev[j], tc[j], dh[j], dc[j],
                  &dg[j], &dg[H + j], &dg[2 * H + j], &dg[3 * H + j], &dc[j]);
}

// The cells of one step backward: dG (B, 4H) written; dc (B, H) dL/dc in, dL/dc_prev out.
static void lstm_step_bwd_cpu(Ctx *ctx, float *dG, float *dc, const float *G, const float *cprev,
                              const float *tc, const float *dh, int B, int H) {
#pragma omp parallel for schedule(static) if (B * H >= LSTM_PAR_MIN)
  for (int b = 0; b < B; b++) {
    size_t k = (size_t)b * H;
    lstm_bwd_row(dG + (size_t)b * 4 * H, dc + k, G + (size_t)b * 4 * H, cprev + k, tc + k, dh + k,
                 H);
  }
}

static void lstm_step_bwd(Ctx *ctx, float *dG, float *dc, const float *G, const float *cprev,
                          const float *tc, const float *dh, int B, int H) {
  DISPATCH(ctx, lstm_step_bwd_cpu(ctx, dG, dc, G, cprev, tc, dh, B, H),
           lstm_step_bwd_cuda(ctx->cuda, dG, dc, G, cprev, tc, dh, B, H));
}

// db_ih and db_hh both receive (+=) the column sums of dG (R rows, C columns), each column
// summed in float from row 0 up (the CUDA version sums in the same order).
static void lstm_bias_grad_cpu(Ctx *ctx, float *db_ih, float *db_hh, const float *dG, int R,
                               int C) {
  enum { CH = 64 };
  const int nchunk = (C + CH - 1) / CH;
#pragma omp parallel for schedule(static) if ((long)R * C > 65536)
  for (int k = 0; k < nchunk; k++) {
    const int j0 = k * CH, n = C - j0 < CH ? C - j0 : CH;
    float acc[CH] = {0};
    for (int r = 0; r < R; r++) {
      const float *row = dG + (size_t)r * C + j0;
      for (int j = 0; j < n; j++) acc[j] += row[j];
    }
    for (int j = 0; j < n; j++) {
      db_ih[j0 + j] += acc[j];
      db_hh[j0 + j] += acc[j];
    }
  }
}

static void lstm_bias_grad(Ctx *ctx, float *db_ih, float *db_hh, const float *dG, int R, int C) {
  DISPATCH(ctx, lstm_bias_grad_cpu(ctx, db_ih, db_hh, dG, R, C),
           lstm_bias_grad_cuda(ctx->cuda, db_ih, db_hh, dG, R, C));
}

// ---- the layers and steps (any device)

static void lstm_forward_any(Ctx *ctx, float *out, float *hn, float *cn, LstmWork *w,
                             const float *x, const float *h0, const float *c0,
                             const LstmLayer *layers, const LstmDims *d, int train, Rng *rng) {
  lstm_check_dims(d);
  const int T = d->T, B = d->B, H = d->H, H4 = 4 * H, TB = T * B, BH = B * H;
  const size_t TBH = (size_t)TB * H;
  w->dropped = train && d->p > 0.0f && d->L > 1;
  if (w->dropped) GENET_ASSERT(rng != NULL);
  for (int l = 0; l < d->L; l++) {
    const LstmLayer *P = &layers[l];
    const int in = l == 0 ? d->I : H;
    const float *X = lstm_layer_input(w, x, l, d);
    float *G = w->gates + (size_t)l * TBH * 4;
    float *Hl = w->h + (size_t)l * (T + 1) * BH;
    float *Cl = w->c + (size_t)l * (T + 1) * BH;
    float *TCl = w->tc + (size_t)l * TBH;
    lstm_fill(ctx, Hl, h0 ? h0 + (size_t)l * BH : NULL, BH);
    lstm_fill(ctx, Cl, c0 ? c0 + (size_t)l * BH : NULL, BH);
    // G = b_ih + b_hh + X W_ih^T for every step at once.
    lstm_bias_rows(ctx, G, P->b_ih, P->b_hh, TB, H4);
    gemm(ctx, 0, 1, TB, H4, in, 1.0f, X, in, P->w_ih, in, 1.0f, G, H4);
    for (int t = 0; t < T; t++) {
      float *Gt = G + (size_t)t * B * H4;
      const float *hprev = Hl + (size_t)t * BH, *cprev = Cl + (size_t)t * BH;
      float *ht = Hl + (size_t)(t + 1) * BH, *ct = Cl + (size_t)(t + 1) * BH;
      float *tct = TCl + (size_t)t * BH;
      gemm(ctx, 0, 1, B, H4, H, 1.0f, hprev, H, P->w_hh, H, 1.0f, Gt, H4);
      lstm_step_fwd(ctx, Gt, cprev, ct, tct, ht, B, H);
    }
    if (hn) lstm_fill(ctx, hn + (size_t)l * BH, Hl + (size_t)T * BH, BH);
    if (cn) lstm_fill(ctx, cn + (size_t)l * BH, Cl + (size_t)T * BH, BH);
    if (w->dropped && l < d->L - 1)
      dropout_forward_cols(ctx, w->drop + (size_t)l * TBH, w->mask + (size_t)l * TBH, Hl + BH, T, B,
                           d->Bg ? d->Bg : B, d->b0, H, d->p, rng);
  }
  lstm_fill(ctx, out, w->h + (size_t)(d->L - 1) * (T + 1) * BH + BH, TBH);
}

static void lstm_backward_any(Ctx *ctx, float *dx, float *dh0, float *dc0, LstmLayerGrad *grads,
                              LstmWork *w, const float *dout, const float *dhn, const float *dcn,
                              const float *x, const LstmLayer *layers, const LstmDims *d) {
  lstm_check_dims(d);
  const int T = d->T, B = d->B, H = d->H, H4 = 4 * H, TB = T * B, BH = B * H;
  const size_t TBH = (size_t)TB * H;
  float *dH = w->dh, *dG = w->dgates, *dc = w->dc;
  lstm_fill(ctx, dH, dout, TBH);
  for (int l = d->L - 1; l >= 0; l--) {
    const LstmLayer *P = &layers[l];
    LstmLayerGrad *Gr = &grads[l];
    const int in = l == 0 ? d->I : H;
    const float *X = lstm_layer_input(w, x, l, d);
    const float *G = w->gates + (size_t)l * TBH * 4;
    const float *Hl = w->h + (size_t)l * (T + 1) * BH;
    const float *Cl = w->c + (size_t)l * (T + 1) * BH;
    const float *TCl = w->tc + (size_t)l * TBH;
    // dH now holds dL/d(output of layer l) from above; add the final state's gradient.
    if (dhn) lstm_add(ctx, dH + (size_t)(T - 1) * BH, dhn + (size_t)l * BH, BH);
    lstm_fill(ctx, dc, dcn ? dcn + (size_t)l * BH : NULL, BH);
    for (int t = T - 1; t >= 0; t--) {
      const float *Gt = G + (size_t)t * B * H4, *cprev = Cl + (size_t)t * BH;
      const float *tct = TCl + (size_t)t * BH, *dht = dH + (size_t)t * BH;
      float *dGt = dG + (size_t)t * B * H4;
      lstm_step_bwd(ctx, dGt, dc, Gt, cprev, tct, dht, B, H);
      // dL/dh_{t-1} through the recurrence joins the output gradient of step t-1.
      if (t > 0)
        gemm(ctx, 0, 0, B, H, H4, 1.0f, dGt, H4, P->w_hh, H, 1.0f, dH + (size_t)(t - 1) * BH, H);
      else if (dh0)
        gemm(ctx, 0, 0, B, H, H4, 1.0f, dGt, H4, P->w_hh, H, 0.0f, dh0 + (size_t)l * BH, H);
    }
    if (dc0) lstm_fill(ctx, dc0 + (size_t)l * BH, dc, BH);
    // Parameter gradients over all steps at once: h_{t-1} of every step is Hl[0..T-1].
    gemm(ctx, 1, 0, H4, H, TB, 1.0f, dG, H4, Hl, H, 1.0f, Gr->w_hh, H);
    gemm(ctx, 1, 0, H4, in, TB, 1.0f, dG, H4, X, in, 1.0f, Gr->w_ih, in);
    lstm_bias_grad(ctx, Gr->b_ih, Gr->b_hh, dG, TB, H4);
    if (l == 0) {
      if (dx) gemm(ctx, 0, 0, TB, d->I, H4, 1.0f, dG, H4, P->w_ih, d->I, 0.0f, dx, d->I);
    } else {
      // dL/d(output of layer l-1): through W_ih, then back through the dropout mask.
      gemm(ctx, 0, 0, TB, H, H4, 1.0f, dG, H4, P->w_ih, H, 0.0f, dH, H);
      if (w->dropped) dropout_backward(ctx, dH, dH, w->mask + (size_t)(l - 1) * TBH, TBH);
    }
  }
}

// ---- entries (core/dispatch.h)

void lstm_forward(Ctx *ctx, float *out, float *hn, float *cn, LstmWork *w, const float *x,
                  const float *h0, const float *c0, const LstmLayer *layers, const LstmDims *d,
                  int train, Rng *rng) {
  DISPATCH_ANY(ctx, lstm_forward_any(ctx, out, hn, cn, w, x, h0, c0, layers, d, train, rng));
}

void lstm_backward(Ctx *ctx, float *dx, float *dh0, float *dc0, LstmLayerGrad *grads,
                   LstmWork *w, const float *dout, const float *dhn, const float *dcn,
                   const float *x, const LstmLayer *layers, const LstmDims *d) {
  DISPATCH_ANY(ctx, lstm_backward_any(ctx, dx, dh0, dc0, grads, w, dout, dhn, dcn, x, layers, d));
}
