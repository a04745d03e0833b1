// elementwise.h: the element-wise math both backends use. Each function is `static inline`
// and marked GENET_HD, so the CPU loops (src/ops/activations.c) and the CUDA kernels
// (kernels/activations.cu) compile the same arithmetic: the CPU tests check the GPU's too.
#pragma once
#include <math.h>

#ifdef __CUDACC__
#define GENET_HD __host__ __device__
#else
#define GENET_HD
#endif

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
