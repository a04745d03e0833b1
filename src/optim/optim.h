// optim.h: first-order optimizers with PyTorch's semantics, each one loop over a flat buffer
// (Params.data / Params.grad / Params.total): gradient-norm clipping as
// torch.nn.utils.clip_grad_norm_, SGD as torch.optim.SGD, Adam as torch.optim.Adam (1.13,
// non-foreach). The padding floats between tensors have zero gradient, so every update leaves
// them at zero. Reductions accumulate in double over fixed blocks, so results do not depend on
// the number of OpenMP threads.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"
#include "ops/elementwise.h"

// ---- reductions over float vectors, in double, the same for any thread count.
double optim_dot(const float *a, const float *b, size_t n);
double optim_asum(const float *a, size_t n);   // sum |a_i|
float optim_amax(const float *a, size_t n);    // max |a_i| (0 for n == 0)

// ---- clip_grad_norm_(params, max_norm), norm type 2: total = |grad|_2 (in double); when
// scale = max_norm / (total + 1e-6) < 1 the gradient (n) is multiplied by scale in place.
// Returns total.
double clip_grad_norm(Ctx *ctx, float *grad, size_t n, double max_norm);

// ---- SGD (torch.optim.SGD): d = grad + weight_decay * param; with momentum,
// buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d, and
// d = nesterov ? d + momentum * buf : buf; then param -= lr * d.
// With momentum 0 this is the language model's `p -= lr * grad` and buf is unused (may be NULL).
// Hyperparameters are doubles, as PyTorch's Python floats; each loop rounds them to float once.
typedef struct {
  double lr, momentum, dampening, weight_decay;
  int nesterov;  // requires momentum > 0 and dampening 0, as PyTorch
} SgdConfig;

// The optimizer's state, plain fields so a checkpoint can save and restore them.
typedef struct {
  size_t n;
  int64_t step;         // steps taken; the momentum buffer is initialized on step 0
  float *momentum_buf;  // (n), NULL when momentum is 0
} SgdState;

void sgd_init(SgdState *s, size_t n, const SgdConfig *cfg);
// param (n) updated in place from grad (n).
void sgd_step(Ctx *ctx, SgdState *s, float *param, const float *grad, const SgdConfig *cfg);
void sgd_free(SgdState *s);

// ---- Adam (torch.optim.Adam, amsgrad off, PyTorch 1.13's single-tensor path): with t = step
// after increment, g = grad + weight_decay * param,
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
//   param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;  // PyTorch defaults: 1e-3, 0.9, 0.999, 1e-8, 0
} AdamConfig;

// The optimizer's state, plain fields for checkpoints (PyTorch's state["step"], "exp_avg",
// "exp_avg_sq", laid out as the flat parameter buffer).
typedef struct {
  size_t n;
  int64_t step;       // steps taken so far (0 before the first)
  float *exp_avg;     // (n) first moment m, zeroed by adam_init
  float *exp_avg_sq;  // (n) second moment v, zeroed by adam_init
} AdamState;

void adam_config_default(AdamConfig *c);
void adam_init(AdamState *s, size_t n);
// param (n) updated in place from grad (n); increments s->step first, as PyTorch.
void adam_step(Ctx *ctx, AdamState *s, float *param, const float *grad, const AdamConfig *cfg);
void adam_free(AdamState *s);

// One element of Adam, shared by the CPU loop and the CUDA kernel. The scalars come from the
// host, computed in double and rounded once as PyTorch does: omb1 = 1 - beta1, omb2 = 1 - beta2,
// step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t).
GENET_HD static inline void adam_elem(float *p, float *m, float *v, float g, float beta1,
                                      float omb1, float beta2, float omb2, float eps,
                                      float weight_decay, float step_size, float bc2_sqrt) {
  if (weight_decay != 0.0f) g = g + weight_decay * *p;
  *m = *m * beta1 + omb1 * g;
  *v = *v * beta2 + omb2 * (g * g);
  float denom = sqrtf(*v) / bc2_sqrt + eps;
  *p = *p - step_size * (*m / denom);
}
