// optim_elem.h: the per-element arithmetic of the optimizers, shared by the CPU loops
// (src/optim/sgd.c, adam.c) and the CUDA kernels (kernels/optim.cu), so the CPU tests check the
// GPU's arithmetic too. Plain C with no genet types: the kernels include it. The scalars come
// from the host (sgd_step, adam_step), each rounded to float once from PyTorch's doubles.
#pragma once
#include <math.h>

#include "base/hd.h"  // GENET_HD

// One element of SGD (sgd.h): d = g + wd * p; with momentum (use_mom) the buffer *buf becomes
// d on the first step and momentum * buf + omd * d after (omd = 1 - dampening), and d becomes
// d + momentum * buf (nesterov) or buf; then p -= lr * d. buf is not touched without momentum
// (may be NULL) and not read on the first step.
GENET_HD static inline void sgd_elem(float *p, float *buf, float g, float lr, float momentum,
                                     float omd, float wd, int use_mom, int first, int nesterov) {
  float d = g;
  if (wd != 0.0f) d = d + wd * *p;
  if (use_mom) {
    float b = first ? d : *buf * momentum + omd * d;
    *buf = b;
    d = nesterov ? d + momentum * b : b;
  }
  *p = *p - lr * d;
}

// One element of Adam (adam.h). The scalars, computed in double and rounded once as PyTorch
// does: omb1 = 1 - beta1, omb2 = 1 - beta2, step_size = lr / (1 - beta1^t),
// bc2_sqrt = sqrt(1 - beta2^t).
GENET_HD static inline void adam_elem(float *p, float *m, float *v, float g, float beta1,
                                      float omb1, float beta2, float omb2, float eps,
                                      float weight_decay, float step_size, float bc2_sqrt) {
  if (weight_decay != 0.0f) g = g + weight_decay * *p;
  *m = *m * beta1 + omb1 * g;
  *v = *v * beta2 + omb2 * (g * g);
  float denom = sqrtf(*v) / bc2_sqrt + eps;
  *p = *p - step_size * (*m / denom);
}
