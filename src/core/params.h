// params.h: a model's parameters in one flat buffer and its gradients in another of the same
// layout (llm.c's malloc_and_point_parameters). Layers register their tensors by PyTorch
// state_dict name while the model is built, then keep offsets; after params_alloc the
// optimizer, gradient clipping, all-reduce and checkpoints each run over one buffer.
#pragma once
#include <stddef.h>

#include "core/ctx.h"

#define PARAM_NAME_LEN 64
#define PARAM_MAX_DIMS 4

typedef struct {
  char name[PARAM_NAME_LEN];  // state_dict key, e.g. "rnn.weight_ih_l0"
  int ndim;
  int shape[PARAM_MAX_DIMS];
  size_t offset;              // in floats, into data and grad
  size_t numel;
} ParamInfo;

typedef struct {
  ParamInfo *info;
  int n, cap;
  size_t total;   // floats in data and in grad, padding included
  Device dev;
  const Ctx *ctx; // where data and grad live (params_alloc_on); NULL: the CPU
  float *data;    // (total) parameters
  float *grad;    // (total) gradients, same layout; backward accumulates (+=) into it
} Params;

void params_init(Params *p);
// Registers a tensor; returns its offset. Dies on a duplicate name or after params_alloc.
size_t params_add(Params *p, const char *name, int ndim, const int *shape);
// Allocates data and grad (zeroed) on the CPU; each tensor starts 64-byte aligned.
void params_alloc(Params *p);
// The same on ctx's device (the CPU when ctx is NULL or a CPU context).
void params_alloc_on(Params *p, const Ctx *ctx);
// Host floats to fill the parameters from (weight init): p->data itself on the CPU, a host
// buffer on a GPU; params_staged uploads it there (and frees it). Padding must stay zero.
float *params_staging(Params *p);
void params_staged(Params *p, float *host);
const ParamInfo *params_find(const Params *p, const char *name);
void params_zero_grad(Params *p);
void params_free(Params *p);
// The name of the first tensor holding a NaN or inf (NULL: all finite); a GPU's parameters go
// through a host copy. O(total): for checkpoints, not for every step.
const char *params_nonfinite(const Params *p);

// Backward announces "gradients [offset, offset + n) are final" through this, so that their
// all-reduce can start while the lower layers still run (the trainer binds it to comm/ddp.h's
// GradSync). Models and ops know nothing of MPI. A NULL GradReady (or fn) listens to nothing.
typedef struct {
  void (*fn)(void *arg, size_t offset, size_t n);
  void *arg;
} GradReady;
void grad_ready(const GradReady *r, size_t offset, size_t n);
// The same for the whole tensor `name` of p; dies on an unknown name (typos show at once).
void grad_ready_param(const GradReady *r, const Params *p, const char *name);
