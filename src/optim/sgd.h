// sgd.h: SGD as torch.optim.SGD, one loop over a flat buffer (Params.data / Params.grad /
// Params.total).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"

// d = grad + weight_decay * param; with momentum, buf = d on the first step, else
// buf = momentum * buf + (1 - dampening) * d, and d = nesterov ? d + momentum * buf : buf;
// then param -= lr * d. With momentum 0 this is the language model's `p -= lr * grad` and buf
// is unused (may be NULL). Hyperparameters are doubles, as PyTorch's Python floats; each loop
// rounds them to float once.
typedef struct {
  double lr, momentum, dampening, weight_decay;
  int nesterov;  // requires momentum > 0 and dampening 0, as PyTorch
} SgdConfig;

// The optimizer's state, plain fields (PyTorch's state["momentum_buffer"], laid out as the flat
// parameter buffer, and a step count).
typedef struct {
  size_t n;
  int64_t step;         // steps taken; the momentum buffer is initialized on step 0
  float *momentum_buf;  // (n), NULL when momentum is 0
} SgdState;

void sgd_init(SgdState *s, size_t n, const SgdConfig *cfg);
// param (n) updated in place from grad (n).
void sgd_step(Ctx *ctx, SgdState *s, float *param, const float *grad, const SgdConfig *cfg);
void sgd_free(SgdState *s);
