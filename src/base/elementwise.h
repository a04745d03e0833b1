// elementwise.h: the element-wise math both backends use. Each function is `static inline`
// and marked GENET_HD, so the CPU loops (src/ops/activations.c, dropout.c, embedding.c,
// cross_entropy.c, loss.c) and the CUDA kernels (kernels/NAME.cu) compile the same
// arithmetic: the CPU tests check the GPU's too.
#pragma once
#include <math.h>
#include <stdint.h>

#include "base/hd.h"  // GENET_HD
#include "base/fastmath.h"

GENET_HD static inline float relu_fwd(float x) { return x > 0.0f ? x : 0.0f; }
// Gradients of activations take the forward *output* y where that is enough, so backward
// needs only what forward wrote (PyTorch's in-place ReLU relies on the same fact).
GENET_HD static inline float relu_bwd(float y, float dy) { return y > 0.0f ? dy : 0.0f; }

GENET_HD static inline float leaky_relu_fwd(float x, float slope) { return x > 0.0f ? x : slope * x; }
// For slope > 0 the sign of the output is the sign of the input.
GENET_HD static inline float leaky_relu_bwd(float y, float dy, float slope) {
  return y > 0.0f ? dy : slope * dy;
}

GENET_HD static inline float tanh_fwd(float x) { return tanhf(x); }
GENET_HD static inline float tanh_bwd(float y, float dy) { return dy * (1.0f - y * y); }

// Stable for large |x|: exp of a non-positive number only.
GENET_HD static inline float sigmoid_fwd(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}
GENET_HD static inline float sigmoid_bwd(float y, float dy) { return dy * y * (1.0f - y); }

// ---- dropout (ops/dropout.c, kernels/dropout.cu). Element i of the T x B x D columns a call
// holds (columns [b0, b0 + B) of Bg) is element g of the whole (T, Bg, D) tensor, and its mask
// comes from word g of the Philox reservation (core/rng.h, rng_key_word_at).
GENET_HD static inline uint64_t dropout_global_index(uint64_t i, int B, int Bg, int b0, int D) {
  uint64_t row = (uint64_t)B * D, t = i / row, k = i % row;  // k: offset inside row t's columns
  return t * Bg * D + (uint64_t)b0 * D + k;
}
// Kept when the word's top 24 bits, a uniform u in [0, 2^24), reach threshold = p 2^24: with
// probability 1 - p. A kept element is scaled by scale = 1 / (1 - p). (Both made on the host.)
static inline uint32_t dropout_threshold(float p) { return (uint32_t)((double)p * 16777216.0); }
static inline float dropout_scale(float p) { return 1.0f / (1.0f - p); }
GENET_HD static inline float dropout_mask(uint32_t word, uint32_t threshold, float scale) {
  return (word >> 8) >= threshold ? scale : 0.0f;
}

// ---- indices: an embedding's token ids, cross-entropy's targets, each in [0, n).
GENET_HD static inline int index_in_range(int32_t i, int n) { return i >= 0 && i < n; }

// ---- cross entropy, one row x of V logits (ops/cross_entropy.c, kernels/cross_entropy.cu):
// m = max_j x_j (folded with ce_max), s = sum_j ce_exp_term(x_j, m) in double, lse = ce_lse(m, s),
// the row's loss ce_row_loss(lse, x_target); d x_j = ce_grad(x_j, lse, scale), minus scale at
// the target. exp is fastmath's, so both backends compute the same terms.
GENET_HD static inline float ce_max(float m, float x) { return x > m ? x : m; }
GENET_HD static inline double ce_exp_term(float x, float m) { return (double)fastmath_expf(x - m); }
GENET_HD static inline double ce_lse(float m, double s) { return (double)m + log(s); }
GENET_HD static inline double ce_row_loss(double lse, float x_target) { return lse - (double)x_target; }
GENET_HD static inline float ce_grad(float x, float lse, float scale) {
  return scale * fastmath_expf(x - lse);
}

// ---- losses (ops/loss.c, kernels/loss.cu): per-element terms summed in double, gradients
// scaled by k = dloss * (d mean / d term), made on the host.
GENET_HD static inline double mse_term(float x, float t) {
  double d = (double)x - t;
  return d * d;
}
GENET_HD static inline float mse_grad(float x, float t, float k) { return k * (x - t); }
// As PyTorch: BCE's input must be a probability (NaN is not).
GENET_HD static inline int bce_prob_ok(float p) { return p >= 0.0f && p <= 1.0f; }
// PyTorch clamps each log at -100 so that p = 0 or p = 1 gives a finite loss.
GENET_HD static inline double bce_log(double v) { return v > 0.0 ? fmax(log(v), -100.0) : -100.0; }
// 1 - p is exact in float for p >= 0.5 (Sterbenz), so it is computed there, not in double.
GENET_HD static inline double bce_term(float p, float t) {
  return t * bce_log(p) + (1.0 - t) * bce_log(1.0f - p);
}
// PyTorch's guard at the ends: the denominator p (1 - p) is at least 1e-12.
GENET_HD static inline float bce_grad(float p, float t, double k) {
  double pd = p;
  return (float)(k * (pd - t) / fmax((1.0 - pd) * pd, 1e-12));
}
