// adam.h: Adam as torch.optim.Adam (amsgrad off, PyTorch 1.13's single-tensor path), one loop
// over a flat buffer (Params.data / Params.grad / Params.total), its state saved and loaded
// next to the step.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"
#include "core/params.h"
#include "data/h5io.h"
#include "base/optim_elem.h"  // adam_elem, the arithmetic of one element

// With t = step after increment, g = grad + weight_decay * param,
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
  float *exp_avg;     // (n) first moment m, zeroed by adam_init; on ctx's device
  float *exp_avg_sq;  // (n) second moment v, zeroed by adam_init; on ctx's device
  const Ctx *ctx;     // where the moments live (adam_init_for: the parameters' ctx); NULL: host
} AdamState;

void adam_config_default(AdamConfig *c);
// The state in host memory, for parameters on the CPU.
void adam_init(AdamState *s, size_t n);
// The state of p's optimizer: n = p->total, the moments (zeroed) where p's parameters live
// (p->ctx, params_alloc_on: host memory for the CPU). adam_free releases them there.
void adam_init_for(AdamState *s, const Params *p);
// param (n) updated in place from grad (n); increments s->step first, as PyTorch. On a CUDA
// context param, grad and the moments are device memory (adam_init_for parameters there);
// s itself and cfg stay on the host.
void adam_step(Ctx *ctx, AdamState *s, float *param, const float *grad, const AdamConfig *cfg);
void adam_free(AdamState *s);

// The state into GROUP of an open checkpoint: GROUP/exp_avg/<key> and GROUP/exp_avg_sq/<key>
// for every tensor of layout (float32, the parameter's shape), GROUP/step (int64). layout is
// the parameters' Params (n == layout->total, on the moments' device). Returns 0 or -1.
int adam_save(H5File *f, const AdamState *s, const Params *layout, const char *group);
// And back into s (initialized by adam_init for this job). Returns 0; -2 with err naming the
// file when a moment is absent or of another shape (another model); -1 with err when the file
// cannot be read or the step is negative. On failure s is partly overwritten.
int adam_load(H5File *f, AdamState *s, const Params *layout, const char *group, char *err,
              size_t errlen);
