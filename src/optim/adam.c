// adam.c: Adam over a flat buffer (the CPU loop here, OpenMP; the CUDA one in kernels/optim.cu)
// and its checkpoint state (adam.h).
#include "optim/adam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "data/params_io.h"
#include "optim/reduce.h"

void adam_config_default(AdamConfig *c) {
  c->lr = 1e-3;
  c->beta1 = 0.9;
  c->beta2 = 0.999;
  c->eps = 1e-8;
  c->weight_decay = 0.0;
}

// n floats each on ctx's device (ctx NULL: the host).
static void adam_init_on(AdamState *s, size_t n, const Ctx *ctx) {
  s->n = n;
  s->step = 0;
  s->ctx = ctx;
  s->exp_avg = ctx_alloc(ctx, sizeof(float) * n);  // zeroed
  s->exp_avg_sq = ctx_alloc(ctx, sizeof(float) * n);
}

void adam_init(AdamState *s, size_t n) { adam_init_on(s, n, NULL); }

void adam_init_for(AdamState *s, const Params *p) { adam_init_on(s, p->total, p->ctx); }

// Every element once (optim_elem.h's adam_elem); the scalars as adam_step computed them.
static void adam_update_cpu(Ctx *ctx, float *param, float *m, float *v, const float *grad,
                            size_t n, float b1, float omb1, float b2, float omb2, float eps,
                            float wd, float step_size, float bc2_sqrt) {
  long long nn = (long long)n;
  // GCC keeps this loop scalar: sqrtf may set errno (the build has no -fno-math-errno).
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++)
    adam_elem(&param[i], &m[i], &v[i], grad[i], b1, omb1, b2, omb2, eps, wd, step_size, bc2_sqrt);
}

static void adam_update(Ctx *ctx, float *param, float *m, float *v, const float *grad, size_t n,
                        float b1, float omb1, float b2, float omb2, float eps, float wd,
                        float step_size, float bc2_sqrt) {
  DISPATCH(ctx,
           adam_update_cpu(ctx, param, m, v, grad, n, b1, omb1, b2, omb2, eps, wd, step_size,
                           bc2_sqrt),
           adam_update_cuda(ctx->cuda, param, m, v, grad, n, b1, omb1, b2, omb2, eps, wd,
                            step_size, bc2_sqrt));
}

// The host half, written once for both devices: the step count and the scalars.
static void adam_step_any(Ctx *ctx, AdamState *s, float *param, const float *grad,
                          const AdamConfig *cfg) {
  s->step++;
  // As PyTorch's Python floats: beta ** step, then one rounding to float per scalar.
  const double bc1 = 1.0 - pow(cfg->beta1, (double)s->step);
  const double bc2 = 1.0 - pow(cfg->beta2, (double)s->step);
  const float step_size = (float)(cfg->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
  const float b1 = (float)cfg->beta1, omb1 = (float)(1.0 - cfg->beta1);
  const float b2 = (float)cfg->beta2, omb2 = (float)(1.0 - cfg->beta2);
  const float eps = (float)cfg->eps, wd = (float)cfg->weight_decay;
  adam_update(ctx, param, s->exp_avg, s->exp_avg_sq, grad, s->n, b1, omb1, b2, omb2, eps, wd,
              step_size, bc2_sqrt);
}

void adam_step(Ctx *ctx, AdamState *s, float *param, const float *grad, const AdamConfig *cfg) {
  DISPATCH_ANY(ctx, adam_step_any(ctx, s, param, grad, cfg));
}

void adam_free(AdamState *s) {
  ctx_release(s->ctx, s->exp_avg);
  ctx_release(s->ctx, s->exp_avg_sq);
  memset(s, 0, sizeof *s);
}

int adam_save(H5File *f, const AdamState *s, const Params *layout, const char *group) {
  GENET_ASSERT(layout->total == s->n);
  char name[256];
  int rc = 0;
  snprintf(name, sizeof name, "%s/exp_avg", group);
  rc |= params_write(f, layout, s->exp_avg, name);
  snprintf(name, sizeof name, "%s/exp_avg_sq", group);
  rc |= params_write(f, layout, s->exp_avg_sq, name);
  snprintf(name, sizeof name, "%s/step", group);
  rc |= h5_write_scalar_i64(f, name, s->step);
  return rc ? -1 : 0;
}

int adam_load(H5File *f, AdamState *s, const Params *layout, const char *group, char *err,
              size_t errlen) {
  GENET_ASSERT(layout->total == s->n);
  char name[256];
  int rc;
  snprintf(name, sizeof name, "%s/exp_avg", group);
  if ((rc = params_read(f, layout, s->exp_avg, name, err, errlen))) return rc;
  snprintf(name, sizeof name, "%s/exp_avg_sq", group);
  if ((rc = params_read(f, layout, s->exp_avg_sq, name, err, errlen))) return rc;
  snprintf(name, sizeof name, "%s/step", group);
  if (h5_read_scalar_i64(f, name, &s->step, err, errlen)) return -1;
  if (s->step < 0) {
    snprintf(err, errlen, "%s: %s is %lld", f->path, name, (long long)s->step);
    return -1;
  }
  return 0;
}
