// lbfgs.c: torch.optim.LBFGS.step() without line search, line for line (see lbfgs.h). The host
// logic (scalars, stopping tests, the history ring) is written once; its vector operations are
// dispatched (CPU loops here, kernels/lbfgs.cu on CUDA); vectors live where o->ctx says.
#include "optim/lbfgs.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/util.h"
#include "ops/scale.h"
#include "optim/reduce.h"

void lbfgs_config_default(LbfgsConfig *c) {
  c->lr = 1.0;
  c->tolerance_grad = 1e-7;
  c->tolerance_change = 1e-9;
  c->history_size = 100;
  lbfgs_config_set_max_iter(c, 20);
}

void lbfgs_config_set_max_iter(LbfgsConfig *c, int max_iter) {
  c->max_iter = max_iter;
  c->max_eval = max_iter * 5 / 4;
}

// History slots, d and prev_flat_grad live on o->ctx's device (NULL: the host).
static void lbfgs_init_on(Lbfgs *o, const LbfgsConfig *cfg, size_t n, const Ctx *where) {
  GENET_ASSERT(cfg->max_iter >= 1 && cfg->max_eval >= 1 && cfg->history_size >= 1);
  memset(o, 0, sizeof *o);
  o->cfg = *cfg;
  o->n = n;
  o->ctx = where;
  o->hist = xcalloc((size_t)cfg->history_size, sizeof(float *));
  o->ro = xcalloc((size_t)cfg->history_size, sizeof(double));
  o->al = xcalloc((size_t)cfg->history_size, sizeof(double));
}

void lbfgs_init(Lbfgs *o, const LbfgsConfig *cfg, size_t n) { lbfgs_init_on(o, cfg, n, NULL); }

static void lbfgs_init_for_any(Ctx *ctx, Lbfgs *o, const LbfgsConfig *cfg, size_t n) {
  lbfgs_init_on(o, cfg, n, ctx);
}

void lbfgs_init_for(Ctx *ctx, Lbfgs *o, const LbfgsConfig *cfg, size_t n) {
  DISPATCH_ANY(ctx, lbfgs_init_for_any(ctx, o, cfg, n));
}

void lbfgs_free(Lbfgs *o) {
  for (int k = 0; k < o->cfg.history_size; k++) ctx_release(o->ctx, o->hist[k]);
  free(o->hist);
  free(o->ro);
  free(o->al);
  ctx_release(o->ctx, o->d);
  ctx_release(o->ctx, o->prev_flat_grad);
  memset(o, 0, sizeof *o);
}

static float *lbfgs_vec(const Lbfgs *o, size_t floats) {
  return ctx_alloc(o->ctx, sizeof(float) * floats);
}

// ---- the vector operations, dispatched: CPU loops here (reduce.c's blocked double sums), the
// CUDA ones in kernels/lbfgs.cu

// x += a * y
static void axpy_cpu(Ctx *ctx, float *x, float af, const float *y, size_t n) {
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) x[i] = x[i] + af * y[i];
}

static void axpy(Ctx *ctx, float *x, double a, const float *y, size_t n) {
  DISPATCH(ctx, axpy_cpu(ctx, x, (float)a, y, n), lbfgs_axpy_cuda(ctx->cuda, x, (float)a, y, n));
}

// d = -g
static void neg_cpu(Ctx *ctx, float *d, const float *g, size_t n) {
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) d[i] = -g[i];
}

static void neg(Ctx *ctx, float *d, const float *g, size_t n) {
  DISPATCH(ctx, neg_cpu(ctx, d, g, n), lbfgs_neg_cuda(ctx->cuda, d, g, n));
}

// y = g - pg, s = d * t
static void pair_cpu(Ctx *ctx, float *y, float *s, const float *g, const float *pg,
                     const float *d, float t, size_t n) {
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) {
    y[i] = g[i] - pg[i];
    s[i] = d[i] * t;
  }
}

static void pair(Ctx *ctx, float *y, float *s, const float *g, const float *pg, const float *d,
                 float t, size_t n) {
  DISPATCH(ctx, pair_cpu(ctx, y, s, g, pg, d, t, n),
           lbfgs_pair_cuda(ctx->cuda, y, s, g, pg, d, t, n));
}

static double dot_cpu(Ctx *ctx, const float *a, const float *b, size_t n) {
  return optim_dot(a, b, n);
}

static double dot(Ctx *ctx, const float *a, const float *b, size_t n) {
  return DISPATCH(ctx, dot_cpu(ctx, a, b, n), lbfgs_dot_cuda(ctx->cuda, a, b, n));
}

static double asum_cpu(Ctx *ctx, const float *a, size_t n) { return optim_asum(a, n); }

static double asum(Ctx *ctx, const float *a, size_t n) {
  return DISPATCH(ctx, asum_cpu(ctx, a, n), lbfgs_asum_cuda(ctx->cuda, a, n));
}

static float amax_cpu(Ctx *ctx, const float *a, size_t n) { return optim_amax(a, n); }

static float amax(Ctx *ctx, const float *a, size_t n) {
  return DISPATCH(ctx, amax_cpu(ctx, a, n), lbfgs_amax_cuda(ctx->cuda, a, n));
}

// y.s and y.y of y = g - pg and s = d * t, each rounded to float as PyTorch stores them.
// Block sums in the fixed order of optim_dot, so the result is thread-count independent.
static double ys_yy_cpu(Ctx *ctx, const float *g, const float *pg, const float *d, float t,
                        size_t n, double *yy) {
  double pys[OPTIM_BLOCKS], pyy[OPTIM_BLOCKS];
  size_t chunk = (n + OPTIM_BLOCKS - 1) / OPTIM_BLOCKS;
#pragma omp parallel for schedule(static) if (n > OPTIM_PAR_MIN)
  for (int k = 0; k < OPTIM_BLOCKS; k++) {
    size_t lo = (size_t)k * chunk, hi = lo + chunk < n ? lo + chunk : n;
    double a = 0, b = 0;
    for (size_t i = lo; i < hi; i++) {
      float y = g[i] - pg[i], s = d[i] * t;
      a += (double)y * s;
      b += (double)y * y;
    }
    pys[k] = a;
    pyy[k] = b;
  }
  double ys = 0;
  *yy = 0;
  for (int k = 0; k < OPTIM_BLOCKS; k++) {
    ys += pys[k];
    *yy += pyy[k];
  }
  return ys;
}

// Returns y.s; *yy = y.y (two reductions on CUDA).
static double ys_yy(Ctx *ctx, const float *g, const float *pg, const float *d, float t, size_t n,
                    double *yy) {
  return DISPATCH(ctx, ys_yy_cpu(ctx, g, pg, d, t, n, yy),
                  (*yy = lbfgs_ys_yy_cuda(ctx->cuda, g, pg, d, t, n, 1),
                   lbfgs_ys_yy_cuda(ctx->cuda, g, pg, d, t, n, 0)));
}

// ---- the host logic, written once for both devices

// Stores (y, s) of the last move as the newest history pair, dropping the oldest when full.
static void lbfgs_push(Ctx *ctx, Lbfgs *o, const float *g, double ys) {
  const int H = o->cfg.history_size;
  int k;
  if (o->hist_len == H) {  // PyTorch pops old_dirs[0]: the oldest slot becomes the newest
    k = o->hist_head;
    o->hist_head = (o->hist_head + 1) % H;
  } else {
    k = (o->hist_head + o->hist_len) % H;
    o->hist_len++;
  }
  if (!o->hist[k]) o->hist[k] = lbfgs_vec(o, 2 * o->n);
  pair(ctx, o->hist[k], o->hist[k] + o->n, g, o->prev_flat_grad, o->d, (float)o->t, o->n);
  o->ro[k] = 1.0 / ys;
}

// d = H g by the two-loop recursion over the history, starting from q = -g (PyTorch's
// "collapsed to one buffer" form: d is q, then r).
static void lbfgs_direction(Ctx *ctx, Lbfgs *o, const float *g) {
  const int H = o->cfg.history_size, len = o->hist_len;
  const size_t n = o->n;
  float *q = o->d;
  neg(ctx, q, g, n);
  for (int j = len - 1; j >= 0; j--) {
    int k = (o->hist_head + j) % H;
    const float *y = o->hist[k], *s = o->hist[k] + n;
    o->al[k] = dot(ctx, s, q, n) * o->ro[k];
    axpy(ctx, q, -o->al[k], y, n);
  }
  scale_inplace(ctx, q, n, (float)o->H_diag);
  for (int j = 0; j < len; j++) {
    int k = (o->hist_head + j) % H;
    const float *y = o->hist[k], *s = o->hist[k] + n;
    double be = dot(ctx, y, q, n) * o->ro[k];
    axpy(ctx, q, o->al[k] - be, s, n);
  }
}

static float lbfgs_step_any(Ctx *ctx, Lbfgs *o, float *param, float *grad, LbfgsClosure closure,
                            void *arg) {
  const LbfgsConfig *c = &o->cfg;
  const size_t n = o->n;

  // evaluate initial f(x) and df/dx
  const float orig_loss = closure(arg);
  double loss = orig_loss;
  int current_evals = 1;
  o->func_evals++;
  int opt_cond = amax(ctx, grad, n) <= c->tolerance_grad;
  if (opt_cond) return orig_loss;

  int n_iter = 0;
  while (n_iter < c->max_iter) {
    n_iter++;
    o->n_iter++;

    // compute the descent direction
    if (o->n_iter == 1) {
      if (!o->d) o->d = lbfgs_vec(o, n);
      if (!o->prev_flat_grad) o->prev_flat_grad = lbfgs_vec(o, n);
      neg(ctx, o->d, grad, n);
      o->hist_len = o->hist_head = 0;
      o->H_diag = 1.0;
    } else {
      double yy, ys = ys_yy(ctx, grad, o->prev_flat_grad, o->d, (float)o->t, n, &yy);
      if (ys > 1e-10) {  // update the memory only with curvature information
        lbfgs_push(ctx, o, grad, ys);
        o->H_diag = ys / yy;
      }
      lbfgs_direction(ctx, o, grad);
    }
    ctx_copy(ctx, o->prev_flat_grad, grad, sizeof(float) * n);
    o->prev_loss = loss;

    // step length: the very first iteration is scaled by the gradient's 1-norm
    if (o->n_iter == 1) {
      double inv = 1.0 / asum(ctx, grad, n);
      o->t = (inv < 1.0 ? inv : 1.0) * c->lr;
    } else {
      o->t = c->lr;
    }

    // directional derivative below tolerance: no move
    double gtd = dot(ctx, grad, o->d, n);
    if (gtd > -c->tolerance_change) break;

    // no line search: a fixed step, then re-evaluate unless this is the last iteration
    axpy(ctx, param, o->t, o->d, n);
    int ls_func_evals = 0;
    if (n_iter != c->max_iter) {
      loss = closure(arg);
      opt_cond = amax(ctx, grad, n) <= c->tolerance_grad;
      ls_func_evals = 1;
    }
    current_evals += ls_func_evals;
    o->func_evals += ls_func_evals;

    // stopping tests, in PyTorch's order
    if (n_iter == c->max_iter) break;
    if (current_evals >= c->max_eval) break;
    if (opt_cond) break;
    if ((double)amax(ctx, o->d, n) * fabs(o->t) <= c->tolerance_change) break;  // no progress
    if (fabs(loss - o->prev_loss) < c->tolerance_change) break;
  }
  return orig_loss;
}

// ---- entry (core/dispatch.h): the host logic above runs wherever its vector operations run.

float lbfgs_step(Ctx *ctx, Lbfgs *o, float *param, float *grad, LbfgsClosure closure, void *arg) {
  return DISPATCH_ANY(ctx, lbfgs_step_any(ctx, o, param, grad, closure, arg));
}

int lbfgs_save(H5File *f, const Lbfgs *o, const char *group) {
  char name[256];
  int rc = 0;
#define NAME(x) (snprintf(name, sizeof name, "%s/%s", group, x), name)
  rc |= h5_write_scalar_i64(f, NAME("n_iter"), o->n_iter);
  rc |= h5_write_scalar_i64(f, NAME("func_evals"), o->func_evals);
  rc |= h5_write_scalar_f64(f, NAME("t"), o->t);
  rc |= h5_write_scalar_f64(f, NAME("H_diag"), o->H_diag);
  rc |= h5_write_scalar_f64(f, NAME("prev_loss"), o->prev_loss);
  rc |= h5_write_scalar_i64(f, NAME("history_size"), o->cfg.history_size);
  int64_t n = (int64_t)o->n;
  if (o->d) {  // absent before the first iteration
    float *h = xmalloc_floats(o->n);
    ctx_download(o->ctx, h, o->d, sizeof(float) * o->n);
    rc |= h5_write_f32(f, NAME("d"), h, 1, &n);
    ctx_download(o->ctx, h, o->prev_flat_grad, sizeof(float) * o->n);
    rc |= h5_write_f32(f, NAME("prev_flat_grad"), h, 1, &n);
    free(h);
  }
  int64_t len = o->hist_len;
  rc |= h5_write_scalar_i64(f, NAME("hist_len"), len);
  if (len > 0) {
    // Oldest first, as PyTorch's old_dirs/old_stps lists; the ring is unrolled.
    float *h = xmalloc_floats((size_t)len * 2 * o->n);
    double *ro = xmalloc(sizeof(double) * (size_t)len);
    for (int j = 0; j < len; j++) {
      int k = (o->hist_head + j) % o->cfg.history_size;
      ctx_download(o->ctx, h + (size_t)j * 2 * o->n, o->hist[k], sizeof(float) * 2 * o->n);
      ro[j] = o->ro[k];
    }
    int64_t dims[3] = {len, 2, n};
    rc |= h5_write_f32(f, NAME("history"), h, 3, dims);
    rc |= h5_write_f64(f, NAME("ro"), ro, len);
    free(h);
    free(ro);
  }
#undef NAME
  return rc ? -1 : 0;
}

int lbfgs_load(H5File *f, Lbfgs *o, const char *group, char *err, size_t errlen) {
  char name[256];
#define NAME(x) (snprintf(name, sizeof name, "%s/%s", group, x), name)
  int64_t hs, len;
  if (h5_read_scalar_i64(f, NAME("history_size"), &hs, err, errlen) ||
      h5_read_scalar_i64(f, NAME("hist_len"), &len, err, errlen))
    return -1;
  if (hs != o->cfg.history_size || len < 0 || len > hs) {
    snprintf(err, errlen, "%s: %s holds an L-BFGS history of %lld (size %lld), this job keeps %d",
             f->path, group, (long long)len, (long long)hs, o->cfg.history_size);
    return -2;
  }
  if (h5_read_scalar_i64_min(f, NAME("n_iter"), &o->n_iter, 0, err, errlen) ||
      h5_read_scalar_i64_min(f, NAME("func_evals"), &o->func_evals, 0, err, errlen) ||
      h5_read_scalar_f64_in(f, NAME("t"), &o->t, -DBL_MAX, DBL_MAX, err, errlen) ||
      h5_read_scalar_f64_in(f, NAME("H_diag"), &o->H_diag, -DBL_MAX, DBL_MAX, err, errlen) ||
      h5_read_scalar_f64_in(f, NAME("prev_loss"), &o->prev_loss, -DBL_MAX, DBL_MAX, err, errlen))
    return -1;
  int64_t n = (int64_t)o->n, have = 0;
  if (h5_exists(f, NAME("d"))) {
    if (h5_shape(f, name, &have, 1, err, errlen) != 1 || have != n) {
      snprintf(err, errlen, "%s: %s/d has %lld values, this job's image %lld", f->path, group,
               (long long)have, (long long)n);
      return -2;
    }
    if (!o->d) o->d = lbfgs_vec(o, o->n);
    if (!o->prev_flat_grad) o->prev_flat_grad = lbfgs_vec(o, o->n);
    float *h = xmalloc_floats(2 * o->n);
    int rc = h5_read_f32(f, NAME("d"), h, 1, &n, err, errlen) ||
             h5_read_f32(f, NAME("prev_flat_grad"), h + o->n, 1, &n, err, errlen);
    if (!rc) {
      ctx_upload(o->ctx, o->d, h, sizeof(float) * o->n);
      ctx_upload(o->ctx, o->prev_flat_grad, h + o->n, sizeof(float) * o->n);
    }
    free(h);
    if (rc) return -1;
  }
  o->hist_head = 0;
  o->hist_len = (int)len;
  if (len > 0) {
    int64_t dims[3] = {len, 2, n};
    float *h = xmalloc_floats((size_t)len * 2 * o->n);
    double *ro = xmalloc(sizeof(double) * (size_t)len);
    int rc = h5_read_f32(f, NAME("history"), h, 3, dims, err, errlen) ||
             h5_read_f64(f, NAME("ro"), ro, len, err, errlen);
    for (int j = 0; !rc && j < len; j++) {
      if (!o->hist[j]) o->hist[j] = lbfgs_vec(o, 2 * o->n);
      ctx_upload(o->ctx, o->hist[j], h + (size_t)j * 2 * o->n, sizeof(float) * 2 * o->n);
      o->ro[j] = ro[j];
    }
    free(h);
    free(ro);
    if (rc) return -1;
  }
#undef NAME
  return 0;
}
