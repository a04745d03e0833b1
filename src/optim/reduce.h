// reduce.h: reductions over float vectors and gradient-norm clipping, shared by the optimizers.
// Sums accumulate in double over a fixed number of blocks, so results do not depend on the
// number of OpenMP threads.
#pragma once
#include <stddef.h>

#include "core/ctx.h"

#define OPTIM_BLOCKS 64       // blocks of every reduction, whatever the thread count
#define OPTIM_PAR_MIN 32768   // below this many floats a loop runs on one thread

double optim_dot(const float *a, const float *b, size_t n);
double optim_asum(const float *a, size_t n);   // sum |a_i|
float optim_amax(const float *a, size_t n);    // max |a_i| (0 for n == 0)

// clip_grad_norm_(params, max_norm) of torch.nn.utils, norm type 2: total = |grad|_2 (in
// double); when scale = max_norm / (total + 1e-6) < 1 the gradient (n) is multiplied by scale
// in place. Returns total. On a CUDA context grad is device memory; total is summed on the device
// and copied back (the call waits for the stream). optim_dot/asum/amax are host
// loops (L-BFGS on the CPU; kernels/lbfgs.cu has its CUDA reductions).
double clip_grad_norm(Ctx *ctx, float *grad, size_t n, double max_norm);
