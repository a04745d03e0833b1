// sgd.c: SGD over a flat buffer on the CPU, OpenMP (sgd.h).
#include "optim/sgd.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "optim/reduce.h"

void sgd_init(SgdState *s, size_t n, const SgdConfig *cfg) {
  memset(s, 0, sizeof *s);
  s->n = n;
  if (cfg->momentum != 0.0) {
    s->momentum_buf = xmalloc_floats(n);
    memset(s->momentum_buf, 0, sizeof(float) * n);
  }
}

void sgd_step(Ctx *ctx, SgdState *s, float *param, const float *grad, const SgdConfig *cfg) {
  GENET_ASSERT(ctx->dev == DEV_CPU);
  GENET_ASSERT(!cfg->nesterov || (cfg->momentum > 0.0 && cfg->dampening == 0.0));
  const float lr = (float)cfg->lr, mom = (float)cfg->momentum, wd = (float)cfg->weight_decay;
  const float omd = (float)(1.0 - cfg->dampening);
  const int use_mom = cfg->momentum != 0.0, first = s->step == 0, nest = cfg->nesterov;
  GENET_ASSERT(!use_mom || s->momentum_buf);
  float *buf = s->momentum_buf;
  long long nn = (long long)s->n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) {
    float d = grad[i];
    if (wd != 0.0f) d = d + wd * param[i];
    if (use_mom) {
      float b = first ? d : buf[i] * mom + omd * d;
      buf[i] = b;
      d = nest ? d + mom * b : b;
    }
    param[i] = param[i] - lr * d;
  }
  s->step++;
}

void sgd_free(SgdState *s) {
  free(s->momentum_buf);
  memset(s, 0, sizeof *s);
}
