// lbfgs.c: torch.optim.LBFGS.step() without line search, line for line (see lbfgs.h).
#include "optim/lbfgs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/util.h"
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

void lbfgs_init(Lbfgs *o, const LbfgsConfig *cfg, size_t n) {
  GENET_ASSERT(cfg->max_iter >= 1 && cfg->max_eval >= 1 && cfg->history_size >= 1);
  memset(o, 0, sizeof *o);
  o->cfg = *cfg;
  o->n = n;
  o->hist = xcalloc((size_t)cfg->history_size, sizeof(float *));
  o->ro = xcalloc((size_t)cfg->history_size, sizeof(double));
  o->al = xcalloc((size_t)cfg->history_size, sizeof(double));
}

void lbfgs_free(Lbfgs *o) {
  for (int k = 0; k < o->cfg.history_size; k++) free(o->hist[k]);
  free(o->hist);
  free(o->ro);
  free(o->al);
  free(o->d);
  free(o->prev_flat_grad);
  memset(o, 0, sizeof *o);
}

// x += a * y
static void axpy(float *x, double a, const float *y, size_t n) {
  const float af = (float)a;
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) x[i] = x[i] + af * y[i];
}

// y.s and y.y of y = g - pg and s = d * t, each rounded to float as PyTorch stores them.
// Block sums in the fixed order of optim_dot, so the result is thread-count independent.
static void lbfgs_ys_yy(const float *g, const float *pg, const float *d, float t, size_t n,
                        double *ys, double *yy) {
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
  *ys = *yy = 0;
  for (int k = 0; k < OPTIM_BLOCKS; k++) {
    *ys += pys[k];
    *yy += pyy[k];
  }
}

// Stores (y, s) of the last move as the newest history pair, dropping the oldest when full.
static void lbfgs_push(Lbfgs *o, const float *g, double ys) {
  const int H = o->cfg.history_size;
  int k;
  if (o->hist_len == H) {  // PyTorch pops old_dirs[0]: the oldest slot becomes the newest
    k = o->hist_head;
    o->hist_head = (o->hist_head + 1) % H;
  } else {
    k = (o->hist_head + o->hist_len) % H;
    o->hist_len++;
  }
  if (!o->hist[k]) o->hist[k] = xmalloc_floats(2 * o->n);
  float *y = o->hist[k], *s = o->hist[k] + o->n;
  const float *pg = o->prev_flat_grad, *d = o->d;
  const float t = (float)o->t;
  long long nn = (long long)o->n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) {
    y[i] = g[i] - pg[i];
    s[i] = d[i] * t;
  }
  o->ro[k] = 1.0 / ys;
}

// d = H g by the two-loop recursion over the history, starting from q = -g (PyTorch's
// "collapsed to one buffer" form: d is q, then r).
static void lbfgs_direction(Lbfgs *o, const float *g) {
  const int H = o->cfg.history_size, len = o->hist_len;
  const size_t n = o->n;
  float *q = o->d;
  long long nn = (long long)n;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) q[i] = -g[i];
  for (int j = len - 1; j >= 0; j--) {
    int k = (o->hist_head + j) % H;
    const float *y = o->hist[k], *s = o->hist[k] + n;
    o->al[k] = optim_dot(s, q, n) * o->ro[k];
    axpy(q, -o->al[k], y, n);
  }
  const float h = (float)o->H_diag;
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
  for (long long i = 0; i < nn; i++) q[i] *= h;
  for (int j = 0; j < len; j++) {
    int k = (o->hist_head + j) % H;
    const float *y = o->hist[k], *s = o->hist[k] + n;
    double be = optim_dot(y, q, n) * o->ro[k];
    axpy(q, o->al[k] - be, s, n);
  }
}

static float lbfgs_step_cpu(Ctx *ctx, Lbfgs *o, float *param, float *grad, LbfgsClosure closure,
                            void *arg) {
  const LbfgsConfig *c = &o->cfg;
  const size_t n = o->n;
  const long long nn = (long long)n;

  // evaluate initial f(x) and df/dx
  const float orig_loss = closure(arg);
  double loss = orig_loss;
  int current_evals = 1;
  o->func_evals++;
  int opt_cond = optim_amax(grad, n) <= c->tolerance_grad;
  if (opt_cond) return orig_loss;

  int n_iter = 0;
  while (n_iter < c->max_iter) {
    n_iter++;
    o->n_iter++;

    // compute the descent direction
    if (o->n_iter == 1) {
      if (!o->d) o->d = xmalloc_floats(n);
      if (!o->prev_flat_grad) o->prev_flat_grad = xmalloc_floats(n);
#pragma omp parallel for schedule(static) if (nn > OPTIM_PAR_MIN)
      for (long long i = 0; i < nn; i++) o->d[i] = -grad[i];
      o->hist_len = o->hist_head = 0;
      o->H_diag = 1.0;
    } else {
      double ys, yy;
      lbfgs_ys_yy(grad, o->prev_flat_grad, o->d, (float)o->t, n, &ys, &yy);
      if (ys > 1e-10) {  // update the memory only with curvature information
        lbfgs_push(o, grad, ys);
        o->H_diag = ys / yy;
      }
      lbfgs_direction(o, grad);
    }
    memcpy(o->prev_flat_grad, grad, sizeof(float) * n);
    o->prev_loss = loss;

    // step length: the very first iteration is scaled by the gradient's 1-norm
    if (o->n_iter == 1) {
      double inv = 1.0 / optim_asum(grad, n);
      o->t = (inv < 1.0 ? inv : 1.0) * c->lr;
    } else {
      o->t = c->lr;
    }

    // directional derivative below tolerance: no move
    double gtd = optim_dot(grad, o->d, n);
    if (gtd > -c->tolerance_change) break;

    // no line search: a fixed step, then re-evaluate unless this is the last iteration
    axpy(param, o->t, o->d, n);
    int ls_func_evals = 0;
    if (n_iter != c->max_iter) {
      loss = closure(arg);
      opt_cond = optim_amax(grad, n) <= c->tolerance_grad;
      ls_func_evals = 1;
    }
    current_evals += ls_func_evals;
    o->func_evals += ls_func_evals;

    // stopping tests, in PyTorch's order
    if (n_iter == c->max_iter) break;
    if (current_evals >= c->max_eval) break;
    if (opt_cond) break;
    if ((double)optim_amax(o->d, n) * fabs(o->t) <= c->tolerance_change) break;  // lack of progress
    if (fabs(loss - o->prev_loss) < c->tolerance_change) break;
  }
  return orig_loss;
}

// ---- entry (core/dispatch.h): the history and its two-loop recursion are host loops for now.

float lbfgs_step(Ctx *ctx, Lbfgs *o, float *param, float *grad, LbfgsClosure closure, void *arg) {
  return DISPATCH_CPU(ctx, lbfgs_step_cpu(ctx, o, param, grad, closure, arg));
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
    rc |= h5_write_f32(f, NAME("d"), o->d, 1, &n);
    rc |= h5_write_f32(f, NAME("prev_flat_grad"), o->prev_flat_grad, 1, &n);
  }
  int64_t len = o->hist_len;
  rc |= h5_write_scalar_i64(f, NAME("hist_len"), len);
  if (len > 0) {
    // Oldest first, as PyTorch's old_dirs/old_stps lists; the ring is unrolled.
    float *h = xmalloc_floats((size_t)len * 2 * o->n);
    double *ro = xmalloc(sizeof(double) * (size_t)len);
    for (int j = 0; j < len; j++) {
      int k = (o->hist_head + j) % o->cfg.history_size;
      memcpy(h + (size_t)j * 2 * o->n, o->hist[k], sizeof(float) * 2 * o->n);
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
  if (h5_read_scalar_i64(f, NAME("n_iter"), &o->n_iter, err, errlen) ||
      h5_read_scalar_i64(f, NAME("func_evals"), &o->func_evals, err, errlen) ||
      h5_read_scalar_f64(f, NAME("t"), &o->t, err, errlen) ||
      h5_read_scalar_f64(f, NAME("H_diag"), &o->H_diag, err, errlen) ||
      h5_read_scalar_f64(f, NAME("prev_loss"), &o->prev_loss, err, errlen))
    return -1;
  int64_t n = (int64_t)o->n, have = 0;
  if (h5_exists(f, NAME("d"))) {
    if (h5_shape(f, name, &have, 1, err, errlen) != 1 || have != n) {
      snprintf(err, errlen, "%s: %s/d has %lld values, this job's image %lld", f->path, group,
               (long long)have, (long long)n);
      return -2;
    }
    if (!o->d) o->d = xmalloc_floats(o->n);
    if (!o->prev_flat_grad) o->prev_flat_grad = xmalloc_floats(o->n);
    if (h5_read_f32(f, NAME("d"), o->d, 1, &n, err, errlen) ||
        h5_read_f32(f, NAME("prev_flat_grad"), o->prev_flat_grad, 1, &n, err, errlen))
      return -1;
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
      if (!o->hist[j]) o->hist[j] = xmalloc_floats(2 * o->n);
      memcpy(o->hist[j], h + (size_t)j * 2 * o->n, sizeof(float) * 2 * o->n);
      o->ro[j] = ro[j];
    }
    free(h);
    free(ro);
    if (rc) return -1;
  }
#undef NAME
  return 0;
}
