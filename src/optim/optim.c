// optim.c: reductions, gradient clipping, SGD and Adam over flat buffers (CPU, OpenMP).
#include "optim/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

// Reductions split n into a fixed number of blocks whatever the thread count; each block sums
// in double with four accumulators, then the block sums are added in order.
#define OPTIM_BLOCKS 64
#define OPTIM_PAR_MIN 32768  // below this a loop runs on one thread

static double block_dot(const float *a, const float *b, size_t lo, size_t hi) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = lo;
  for (; i + 4 <= hi; i += 4) {
    s0 += (double)a[i] * b[i];
    s1 += (double)a[i + 1] * b[i + 1];
    s2 += (double)a[i + 2] * b[i + 2];
    s3 += (double)a[i + 3] * b[i + 3];
  }
  for (; i < hi; i++) s0 += (double)a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

static double block_asum(const float *a, size_t lo, size_t hi) {
  double s0 = 0, s1 = 0;
  size_t i = lo;
  for (; i + 2 <= hi; i += 2) {
    s0 += fabs((double)a[i]);
    s1 += fabs((double)a[i + 1]);
  }
  for (; i < hi; i++) s0 += fabs((double)a[i]);
  return s0 + s1;
}

double optim_dot(const float *a, const float *b, size_t n) {
  double part[OPTIM_BLOCKS];
  size_t chunk = (n + OPTIM_BLOCKS - 1) / OPTIM_BLOCKS;
#pragma omp parallel for schedule(static) if (n > OPTIM_PAR_MIN)
  for (int k = 0; k < OPTIM_BLOCKS; k++) {
    size_t lo = (size_t)k * chunk, hi = lo + chunk < n ? lo + chunk : n;
    part[k] = lo < hi ? block_dot(a, b, lo, hi) : 0.0;
  }
  double s = 0;
  for (int k = 0; k < OPTIM_BLOCKS; k++) s += part[k];
  return s;
}

double optim_asum(const float *a, size_t n) {
  double part[OPTIM_BLOCKS];
  size_t chunk = (n + OPTIM_BLOCKS - 1) / OPTIM_BLOCKS;
#pragma omp parallel for schedule(static) if (n > OPTIM_PAR_MIN)
  for (int k = 0; k < OPTIM_BLOCKS; k++) {
    size_t lo = (size_t)k * chunk, hi = lo + chunk < n ? lo + chunk : n;
    part[k] = lo < hi ? block_asum(a, lo, hi) : 0.0;
  }
  double s = 0;
  for (int k = 0; k < OPTIM_BLOCKS; k++) s += part[k];
  return s;
}

float optim_amax(const float *a, size_t n) {
  float m = 0.0f;
  long long nn = (long long)n;
  int nan = 0;
#pragma omp parallel for schedule(static) reduction(max : m) reduction(| : nan) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) {
    float v = fabsf(a[i]);
    m = v > m ? v : m;
    nan |= isnan(v);
  }
  return nan ? NAN : m;  // torch's max propagates NaN; a NaN gradient must not look optimal
}

double clip_grad_norm(Ctx *ctx, float *grad, size_t n, double max_norm) {
  GENET_ASSERT(ctx->dev == DEV_CPU);
  double total = sqrt(optim_dot(grad, grad, n));
  double scale = max_norm / (total + 1e-6);
  if (scale < 1.0) {  // PyTorch multiplies by min(scale, 1); times 1 changes nothing
    const float s = (float)scale;
    long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
    for (long long i = 0; i < nn; i++) grad[i] *= s;
  }
  return total;
}

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

void adam_config_default(AdamConfig *c) {
  c->lr = 1e-3;
  c->beta1 = 0.9;
  c->beta2 = 0.999;
  c->eps = 1e-8;
  c->weight_decay = 0.0;
}

void adam_init(AdamState *s, size_t n) {
  s->n = n;
  s->step = 0;
  s->exp_avg = xmalloc_floats(n);
  s->exp_avg_sq = xmalloc_floats(n);
  memset(s->exp_avg, 0, sizeof(float) * n);
  memset(s->exp_avg_sq, 0, sizeof(float) * n);
}

void adam_step(Ctx *ctx, AdamState *s, float *param, const float *grad, const AdamConfig *cfg) {
  GENET_ASSERT(ctx->dev == DEV_CPU);
  s->step++;
  // As PyTorch's Python floats: beta ** step, then one rounding to float per scalar.
  const double bc1 = 1.0 - pow(cfg->beta1, (double)s->step);
  const double bc2 = 1.0 - pow(cfg->beta2, (double)s->step);
  const float step_size = (float)(cfg->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
  const float b1 = (float)cfg->beta1, omb1 = (float)(1.0 - cfg->beta1);
  const float b2 = (float)cfg->beta2, omb2 = (float)(1.0 - cfg->beta2);
  const float eps = (float)cfg->eps, wd = (float)cfg->weight_decay;
  float *m = s->exp_avg, *v = s->exp_avg_sq;
  long long nn = (long long)s->n;
  // GCC keeps this loop scalar: sqrtf may set errno (the build has no -fno-math-errno).
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++)
    adam_elem(&param[i], &m[i], &v[i], grad[i], b1, omb1, b2, omb2, eps, wd, step_size, bc2_sqrt);
}

void adam_free(AdamState *s) {
  free(s->exp_avg);
  free(s->exp_avg_sq);
  memset(s, 0, sizeof *s);
}
