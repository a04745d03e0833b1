// sgd.h: SGD as torch.optim.SGD, one loop over a flat buffer (Params.data / Params.grad /
// Params.total), its state saved and loaded next to the step.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"
#include "core/params.h"
#include "data/h5io.h"

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
  float *momentum_buf;  // (n), NULL when momentum is 0; on ctx's device
  const Ctx *ctx;       // where momentum_buf lives (sgd_init_for: the parameters' ctx); NULL: host
} SgdState;

// The state in host memory, for parameters on the CPU.
void sgd_init(SgdState *s, size_t n, const SgdConfig *cfg);
// The state of p's optimizer: n = p->total, the buffer (zeroed) where p's parameters live
// (p->ctx, params_alloc_on: host memory for the CPU). sgd_free releases it there.
void sgd_init_for(SgdState *s, const Params *p, const SgdConfig *cfg);
// param (n) updated in place from grad (n). On a CUDA context param, grad and the momentum
// buffer are device memory (sgd_init_for parameters there); s itself and cfg stay on the host.
void sgd_step(Ctx *ctx, SgdState *s, float *param, const float *grad, const SgdConfig *cfg);
void sgd_free(SgdState *s);

// The state into GROUP of an open checkpoint: GROUP/name = "sgd" (string), GROUP/lr (float64:
// the lr in use, which a task may anneal, so it is saved here rather than taken from the job),
// GROUP/step (int64) and, when s has a momentum buffer, GROUP/momentum_buffer/<key> for every
// tensor of layout (float32, the parameter's shape). layout is the parameters' Params (n ==
// layout->total, on the buffer's device); it may be NULL without momentum. Returns 0 or -1.
int sgd_save(H5File *f, const SgdState *s, double lr, const Params *layout, const char *group);
// And back into s (initialized by sgd_init for this job), *lr from GROUP/lr. Returns 0; -2 with
// err naming the file when it does not fit (GROUP/name other than "sgd"; with momentum, a
// buffer absent, as a file written without momentum, or of other shapes); -1 with err when
// it cannot be read. GROUP/step absent (files written before it was saved, all without
// momentum, where the step changes nothing) reads as 0; with momentum it is required. A buffer
// in the file is ignored when this job has no momentum. On failure s is partly overwritten.
int sgd_load(H5File *f, SgdState *s, double *lr, const Params *layout, const char *group,
             char *err, size_t errlen);
