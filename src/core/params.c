// params.c: the flat parameter and gradient buffers.
#include "core/params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void params_init(Params *p) { memset(p, 0, sizeof *p); }

size_t params_add(Params *p, const char *name, int ndim, const int *shape) {
  GENET_ASSERT(!p->data);
  GENET_ASSERT(ndim >= 1 && ndim <= PARAM_MAX_DIMS);
  GENET_ASSERT(strlen(name) < PARAM_NAME_LEN);
  if (params_find(p, name)) genet_die("parameter %s registered twice", name);
  if (p->n == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 16;
    p->info = xrealloc(p->info, sizeof(ParamInfo) * (size_t)p->cap);
  }
  ParamInfo *pi = &p->info[p->n++];
  memset(pi, 0, sizeof *pi);
  strcpy(pi->name, name);
  pi->ndim = ndim;
  pi->numel = 1;
  for (int i = 0; i < ndim; i++) {
    GENET_ASSERT(shape[i] > 0);
    pi->shape[i] = shape[i];
    pi->numel *= (size_t)shape[i];
  }
  pi->offset = p->total;
  p->total += (pi->numel + 15) / 16 * 16;  // 16 floats = 64 bytes
  return pi->offset;
}

void params_alloc(Params *p) { params_alloc_on(p, NULL); }

void params_alloc_on(Params *p, const Ctx *ctx) {
  GENET_ASSERT(!p->data);
  p->ctx = ctx && ctx->dev != DEV_CPU ? ctx : NULL;
  p->dev = p->ctx ? p->ctx->dev : DEV_CPU;
  p->data = ctx_alloc(p->ctx, sizeof(float) * p->total);
  p->grad = ctx_alloc(p->ctx, sizeof(float) * p->total);
}

float *params_staging(Params *p) {
  if (!p->ctx) return p->data;
  float *h = xmalloc_floats(p->total);
  memset(h, 0, sizeof(float) * p->total);
  return h;
}

void params_staged(Params *p, float *host) {
  if (!p->ctx) return;
  ctx_upload(p->ctx, p->data, host, sizeof(float) * p->total);
  free(host);
}

const ParamInfo *params_find(const Params *p, const char *name) {
  for (int i = 0; i < p->n; i++)
    if (strcmp(p->info[i].name, name) == 0) return &p->info[i];
  return NULL;
}

void params_zero_grad(Params *p) { ctx_zero(p->ctx, p->grad, sizeof(float) * p->total); }

void params_free(Params *p) {
  free(p->info);
  ctx_release(p->ctx, p->data);
  ctx_release(p->ctx, p->grad);
  memset(p, 0, sizeof *p);
}

void grad_ready(const GradReady *r, size_t offset, size_t n) {
  if (r && r->fn) r->fn(r->arg, offset, n);
}

void grad_ready_param(const GradReady *r, const Params *p, const char *name) {
  const ParamInfo *pi = params_find(p, name);
  if (!pi) genet_die("grad_ready_param: no parameter named \"%s\"", name);
  grad_ready(r, pi->offset, pi->numel);
}

const char *params_nonfinite(const Params *p) {
  float *host = p->data;
  if (p->ctx && p->ctx->dev != DEV_CPU) {
    host = xmalloc_floats(p->total);
    ctx_download(p->ctx, host, p->data, sizeof(float) * p->total);
  }
  const char *bad = NULL;
  for (int i = 0; i < p->n && !bad; i++)
    for (size_t j = 0; j < p->info[i].numel; j++)
      if (!isfinite(host[p->info[i].offset + j])) {
        bad = p->info[i].name;
        break;
      }
  if (host != p->data) free(host);
  return bad;
}
