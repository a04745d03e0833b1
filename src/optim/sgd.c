// sgd.c: SGD over a flat buffer (the CPU loop here, OpenMP; the CUDA one in kernels/optim.cu)
// and its checkpoint state (sgd.h).
#include "optim/sgd.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "data/params_io.h"
#include "base/optim_elem.h"
#include "optim/reduce.h"

// n floats on ctx's device (ctx NULL: the host).
static void sgd_init_on(SgdState *s, size_t n, const SgdConfig *cfg, const Ctx *ctx) {
  memset(s, 0, sizeof *s);
  s->n = n;
  s->ctx = ctx;
  if (cfg->momentum != 0.0) s->momentum_buf = ctx_alloc(ctx, sizeof(float) * n);  // zeroed
}

void sgd_init(SgdState *s, size_t n, const SgdConfig *cfg) { sgd_init_on(s, n, cfg, NULL); }

void sgd_init_for(SgdState *s, const Params *p, const SgdConfig *cfg) {
  sgd_init_on(s, p->total, cfg, p->ctx);
}

// Every element once (optim_elem.h's sgd_elem); the scalars as sgd_step computed them.
static void sgd_update_cpu(Ctx *ctx, float *param, float *buf, const float *grad, size_t n,
                           float lr, float mom, float omd, float wd, int use_mom, int first,
                           int nest) {
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++)
    sgd_elem(&param[i], use_mom ? &buf[i] : NULL, grad[i], lr, mom, omd, wd, use_mom, first, nest);
}

static void sgd_update(Ctx *ctx, float *param, float *buf, const float *grad, size_t n, float lr,
                       float mom, float omd, float wd, int use_mom, int first, int nest) {
  DISPATCH(ctx, sgd_update_cpu(ctx, param, buf, grad, n, lr, mom, omd, wd, use_mom, first, nest),
           sgd_update_cuda(ctx->cuda, param, buf, grad, n, lr, mom, omd, wd, use_mom, first, nest));
}

// The host half, written once for both devices: the checks, the scalars and the step count.
static void sgd_step_any(Ctx *ctx, SgdState *s, float *param, const float *grad,
                         const SgdConfig *cfg) {
  GENET_ASSERT(!cfg->nesterov || (cfg->momentum > 0.0 && cfg->dampening == 0.0));
  const float lr = (float)cfg->lr, mom = (float)cfg->momentum, wd = (float)cfg->weight_decay;
  const float omd = (float)(1.0 - cfg->dampening);
  const int use_mom = cfg->momentum != 0.0, first = s->step == 0, nest = cfg->nesterov;
  GENET_ASSERT(!use_mom || s->momentum_buf);
  sgd_update(ctx, param, s->momentum_buf, grad, s->n, lr, mom, omd, wd, use_mom, first, nest);
  s->step++;
}

void sgd_step(Ctx *ctx, SgdState *s, float *param, const float *grad, const SgdConfig *cfg) {
  DISPATCH_ANY(ctx, sgd_step_any(ctx, s, param, grad, cfg));
}

void sgd_free(SgdState *s) {
  ctx_release(s->ctx, s->momentum_buf);
  memset(s, 0, sizeof *s);
}

int sgd_save(H5File *f, const SgdState *s, double lr, const Params *layout, const char *group) {
  char name[256];
  int rc = 0;
  snprintf(name, sizeof name, "%s/name", group);
  rc |= h5_write_str(f, name, "sgd");
  snprintf(name, sizeof name, "%s/lr", group);
  rc |= h5_write_scalar_f64(f, name, lr);
  snprintf(name, sizeof name, "%s/step", group);
  rc |= h5_write_scalar_i64(f, name, s->step);
  if (s->momentum_buf) {
    GENET_ASSERT(layout && layout->total == s->n);
    snprintf(name, sizeof name, "%s/momentum_buffer", group);
    rc |= params_write(f, layout, s->momentum_buf, name);
  }
  return rc ? -1 : 0;
}

int sgd_load(H5File *f, SgdState *s, double *lr, const Params *layout, const char *group,
             char *err, size_t errlen) {
  char name[256];
  snprintf(name, sizeof name, "%s/name", group);
  if (h5_exists(f, name)) {
    char *kind = NULL;
    if (h5_read_str(f, name, &kind, 64, err, errlen)) return -1;
    int other = strcmp(kind, "sgd") != 0;
    if (other) snprintf(err, errlen, "%s: %s is '%s', this job trains with sgd", f->path, name, kind);
    free(kind);
    if (other) return -2;
  }
  snprintf(name, sizeof name, "%s/lr", group);
  if (h5_read_scalar_f64_in(f, name, lr, 0, DBL_MAX, err, errlen)) return -1;  // NaN would train silently
  if (s->momentum_buf) {
    GENET_ASSERT(layout && layout->total == s->n);
    snprintf(name, sizeof name, "%s/momentum_buffer", group);
    int rc = params_read(f, layout, s->momentum_buf, name, err, errlen);
    if (rc) return rc;
  }
  // Without momentum the step changes nothing, and files from before it was saved lack it.
  s->step = 0;
  snprintf(name, sizeof name, "%s/step", group);
  if ((s->momentum_buf || h5_exists(f, name)) && h5_read_scalar_i64(f, name, &s->step, err, errlen))
    return -1;
  if (s->step < 0) {
    snprintf(err, errlen, "%s: %s is %lld", f->path, name, (long long)s->step);
    return -1;
  }
  return 0;
}
