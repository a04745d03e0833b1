// optim.h: the optimizers with PyTorch's semantics, one header each, included together. Each
// runs one loop over a flat buffer (Params.data / Params.grad / Params.total) and keeps its
// state in plain fields with _save/_load next to its _step:
//   reduce.h  reductions in double (thread-count independent) and clip_grad_norm
//   sgd.h     torch.optim.SGD
//   adam.h    torch.optim.Adam
//   lbfgs.h   torch.optim.LBFGS without line search
// The padding floats between tensors have zero gradient, so every update leaves them at zero.
#pragma once

#include "optim/adam.h"
#include "optim/lbfgs.h"
#include "optim/reduce.h"
#include "optim/sgd.h"
