// elementwise.h: the element-wise math both backends use. Each function is `static inline`
// and marked GENET_HD, so the CPU loops (src/ops/activations.c) and the CUDA kernels
// (kernels/activations.cu) compile the same arithmetic: the CPU tests check the GPU's too.
#pragma once
#include <math.h>
#include <stdint.h>

#include "core/hd.h"  // GENET_HD

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
// probability 1 - p. A kept element is scaled by scale = 1 / (1 - p).
static inline uint32_t dropout_threshold(float p) { return (uint32_t)((double)p * 16777216.0); }
GENET_HD static inline float dropout_mask(uint32_t word, uint32_t threshold, float scale) {
  return (word >> 8) >= threshold ? scale : 0.0f;
}
