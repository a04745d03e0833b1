// test_optim.c: gradient clipping, SGD and Adam against PyTorch (fixtures from fx_optim.py),
// step by step on a least-squares problem whose gradient the test evaluates itself; closed
// forms for one step of each; padding, checkpoint-style state copies and thread independence;
// resuming through sgd_save/sgd_load and adam_save/adam_load bit for bit, and their refusals.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "optim/optim.h"
#include "optim_problem.h"
#include "testlib.h"

static Ctx ctx;

static float *rd(Fixture *fx, const char *grp, const char *name) {
  char k[128];
  snprintf(k, sizeof k, "%s/%s", grp, name);
  return fx_read(fx, k, NULL, NULL, NULL);
}

// Compares the packed view of flat (P.total) with want (N).
// K (testlib.c): the optimizers are element-wise, but errors add up over the steps taken.
static double cmp_flat(LsqProblem *q, const char *what, const float *flat, const float *want,
                       double K) {
  float *x = malloc(sizeof(float) * q->N);
  lsq_gather(q, x, flat);
  size_t wi;
  double e = close_err(x, want, (size_t)q->N, K, &wi);
  if (!(e <= RTOL_F32)) check_close(what, x, want, (size_t)q->N, K, RTOL_F32);  // the failure
  free(x);
  return e;
}

static void test_clip(Fixture *fx, LsqProblem *q, const char *grp) {
  double max_norm = fx_attr_double(fx, grp, "max_norm");
  float *g0 = rd(fx, grp, "grad"), *want = rd(fx, grp, "clipped"), *norm = rd(fx, grp, "norm");
  lsq_reset(q);
  lsq_scatter(q, q->P.grad, g0);
  double got = clip_grad_norm(&ctx, q->P.grad, q->P.total, max_norm);
  float gotf = (float)got;
  char what[96];
  snprintf(what, sizeof what, "%s: returned total norm", grp);
  check_close(what, &gotf, norm, 1, q->N, RTOL_F32);  // K: a sum of N squares
  snprintf(what, sizeof what, "%s: clipped gradient", grp);
  float *x = malloc(sizeof(float) * q->N);
  lsq_gather(q, x, q->P.grad);
  check_close(what, x, want, (size_t)q->N, q->N, RTOL_F32);  // g max_norm / norm
  free(x);
  test_check(lsq_padding_zero(q, q->P.grad), "%s: padding of grad stays zero", grp);
  free(g0); free(want); free(norm);
}

static void test_sgd(Fixture *fx, LsqProblem *q, const char *grp, int clip) {
  int steps = (int)fx_attr_int(fx, grp, "steps");
  SgdConfig cfg = {.lr = fx_attr_double(fx, grp, "lr")};
  double max_norm = 0;
  if (clip) {
    max_norm = fx_attr_double(fx, grp, "max_norm");
  } else {
    cfg.momentum = fx_attr_double(fx, grp, "momentum");
    cfg.dampening = fx_attr_double(fx, grp, "dampening");
    cfg.weight_decay = fx_attr_double(fx, grp, "weight_decay");
    cfg.nesterov = (int)fx_attr_int(fx, grp, "nesterov");
  }
  float *xs = rd(fx, grp, "x");
  float *bufs = cfg.momentum != 0 ? rd(fx, grp, "momentum_buffer") : NULL;
  float *norms = clip ? rd(fx, grp, "norm") : NULL;
  SgdState st;
  sgd_init(&st, q->P.total, &cfg);
  lsq_reset(q);
  double ex = 0, eb = 0, en = 0;
  for (int s = 0; s < steps; s++) {
    lsq_eval(q);
    if (clip) {
      float nrm = (float)clip_grad_norm(&ctx, q->P.grad, q->P.total, max_norm);
      en = fmax(en, close_err(&nrm, &norms[s], 1, q->N, NULL));
    }
    sgd_step(&ctx, &st, q->P.data, q->P.grad, &cfg);
    ex = fmax(ex, cmp_flat(q, grp, q->P.data, xs + (size_t)s * q->N, steps));
    if (bufs) eb = fmax(eb, cmp_flat(q, grp, st.momentum_buf, bufs + (size_t)s * q->N, steps));
  }
  test_check(ex <= RTOL_F32, "%-44s params after each of %d steps: worst err %.2e (K %d, bound %.1e)",
             grp, steps, ex, steps, RTOL_F32);
  if (bufs)
    test_check(eb <= RTOL_F32, "%-44s momentum buffer: worst err %.2e (K %d, bound %.1e)", grp, eb,
               steps, RTOL_F32);
  if (clip)
    test_check(en <= RTOL_F32, "%-44s clip norms: worst err %.2e (K %d, bound %.1e)", grp, en,
               q->N, RTOL_F32);
  test_check(lsq_padding_zero(q, q->P.data) && (!bufs || lsq_padding_zero(q, st.momentum_buf)),
             "%s: padding stays zero", grp);
  sgd_free(&st);
  free(xs); free(bufs); free(norms);
}

static void adam_cfg(Fixture *fx, const char *grp, AdamConfig *cfg) {
  adam_config_default(cfg);
  cfg->lr = fx_attr_double(fx, grp, "lr");
  cfg->beta1 = fx_attr_double(fx, grp, "beta1");
  cfg->beta2 = fx_attr_double(fx, grp, "beta2");
  cfg->eps = fx_attr_double(fx, grp, "eps");
  cfg->weight_decay = fx_attr_double(fx, grp, "weight_decay");
}

// Runs all steps; after `restart_at` steps the state is copied field by field into a fresh
// AdamState (what a checkpoint save + load does) and the run goes on from the copy.
static void test_adam(Fixture *fx, LsqProblem *q, const char *grp, int restart_at) {
  int steps = (int)fx_attr_int(fx, grp, "steps");
  AdamConfig cfg;
  adam_cfg(fx, grp, &cfg);
  float *xs = rd(fx, grp, "x"), *ms = rd(fx, grp, "exp_avg"), *vs = rd(fx, grp, "exp_avg_sq");
  AdamState st;
  adam_init(&st, q->P.total);
  lsq_reset(q);
  double ex = 0, em = 0, ev = 0;
  for (int s = 0; s < steps; s++) {
    if (s == restart_at) {
      AdamState st2;
      adam_init(&st2, st.n);
      st2.step = st.step;
      memcpy(st2.exp_avg, st.exp_avg, sizeof(float) * st.n);
      memcpy(st2.exp_avg_sq, st.exp_avg_sq, sizeof(float) * st.n);
      adam_free(&st);
      st = st2;
    }
    lsq_eval(q);
    adam_step(&ctx, &st, q->P.data, q->P.grad, &cfg);
    ex = fmax(ex, cmp_flat(q, grp, q->P.data, xs + (size_t)s * q->N, steps));
    em = fmax(em, cmp_flat(q, grp, st.exp_avg, ms + (size_t)s * q->N, steps));
    ev = fmax(ev, cmp_flat(q, grp, st.exp_avg_sq, vs + (size_t)s * q->N, steps));
  }
  test_check(st.step == steps, "%s: step count %lld", grp, (long long)st.step);
  test_check(ex <= RTOL_F32, "%-44s params after each of %d steps: worst err %.2e (K %d, bound %.1e)",
             grp, steps, ex, steps, RTOL_F32);
  test_check(em <= RTOL_F32, "%-44s exp_avg: worst err %.2e (K %d, bound %.1e)", grp, em, steps,
             RTOL_F32);
  test_check(ev <= RTOL_F32, "%-44s exp_avg_sq: worst err %.2e (K %d, bound %.1e)", grp, ev, steps,
             RTOL_F32);
  test_check(lsq_padding_zero(q, q->P.data) && lsq_padding_zero(q, st.exp_avg) &&
                 lsq_padding_zero(q, st.exp_avg_sq),
             "%s: padding stays zero (restart from copied state after step %d)", grp, restart_at);
  adam_free(&st);
  free(xs); free(ms); free(vs);
}

// Closed forms of one step, evaluated in double from the same float inputs:
// SGD p1 = p0 - lr g; Adam p1 = p0 - lr g / (|g| + eps), i.e. about lr * sign(g).
static void test_closed_forms(LsqProblem *q) {
  size_t T = q->P.total;
  float *p0 = malloc(sizeof(float) * T), *g = malloc(sizeof(float) * T);
  lsq_reset(q);
  lsq_eval(q);
  memcpy(p0, q->P.data, sizeof(float) * T);
  memcpy(g, q->P.grad, sizeof(float) * T);
  SgdConfig sc = {.lr = 0.3};
  SgdState ss;
  sgd_init(&ss, T, &sc);
  sgd_step(&ctx, &ss, q->P.data, q->P.grad, &sc);
  double e = 0;
  for (size_t i = 0; i < T; i++)
    e = fmax(e, fabs(q->P.data[i] - ((double)p0[i] - 0.3 * g[i])) /
                    (fabs(p0[i]) + fabs(0.3 * g[i]) + 1e-30));
  // two float roundings (lr g, then the difference), each half an ulp of |p| + |lr g|
  test_check(e <= 2e-7, "SGD one step = p - lr g (closed form): worst err %.2e of |p|+|lr g| (bound 2e-07)", e);
  sgd_free(&ss);

  memcpy(q->P.data, p0, sizeof(float) * T);
  AdamConfig ac;
  adam_config_default(&ac);
  ac.lr = 0.01;
  AdamState as;
  adam_init(&as, T);
  adam_step(&ctx, &as, q->P.data, q->P.grad, &ac);
  double ec = 0, es = 0;
  for (size_t i = 0; i < T; i++) {
    double move = (double)q->P.data[i] - p0[i];
    double want = -ac.lr * g[i] / (fabs(g[i]) + ac.eps);
    ec = fmax(ec, fabs(move - want) / ac.lr);
    if (g[i] != 0.0f) es = fmax(es, fabs(move + ac.lr * (g[i] > 0 ? 1 : -1)) / ac.lr);
  }
  // the move is a difference of two floats near |p| <= 1: its error is ulp(1) / lr ~ 1e-5
  test_check(ec <= 2e-5, "Adam first step = -lr g/(|g|+eps) (closed form): worst err %.2e lr (bound 2e-05)", ec);
  test_check(es <= 2e-5, "Adam first step ~ -lr sign(g): worst err %.2e lr (bound 2e-05)", es);
  adam_free(&as);
  free(p0); free(g);
}

// Reductions split a vector into fixed blocks: 1 and 2 threads give bit-identical results.
static void test_reductions(void) {
  size_t n = 100003;
  float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
  fill_uniform(a, n, -1, 1, 5);
  fill_uniform(b, n, -1, 1, 6);
  int nt = omp_get_max_threads();
  omp_set_num_threads(1);
  double d1 = optim_dot(a, b, n), s1 = optim_asum(a, n);
  float m1 = optim_amax(a, n);
  omp_set_num_threads(2);
  double d2 = optim_dot(a, b, n), s2 = optim_asum(a, n);
  float m2 = optim_amax(a, n);
  omp_set_num_threads(nt);
  double ref = dot_d(a, b, n), sref = 0;
  float mref = 0;
  for (size_t i = 0; i < n; i++) {
    sref += fabs((double)a[i]);
    mref = fmaxf(mref, fabsf(a[i]));
  }
  test_check(d1 == d2 && s1 == s2 && m1 == m2, "reductions identical with 1 and 2 threads");
  test_check(fabs(d1 - ref) <= 1e-12 * sref && fabs(s1 - sref) <= 1e-12 * sref && m1 == mref,
             "reductions match a sequential double sum (dot err %.1e, asum err %.1e)",
             fabs(d1 - ref), fabs(s1 - sref));
  a[77777] = NAN;
  test_check(isnan(optim_amax(a, n)), "amax propagates NaN (a NaN gradient is never optimal)");
  free(a); free(b);
}

// ---- Resuming: k steps, the state saved to HDF5 (sgd_save / adam_save) and loaded into a
// fresh one, m more steps must end bit for bit where k + m straight steps end. SGD's lr is
// annealed (divided by 4, as the LM's lr_decay) before the save, so the resumed run must take
// it from the file, not from its job.
typedef enum { OPT_SGD, OPT_ADAM } OptKind;

typedef struct {
  OptKind kind;
  SgdConfig sc;  // OPT_SGD
  AdamConfig ac; // OPT_ADAM
  SgdState s;
  AdamState a;
} Opt;

// A load that forgets part of the state, planted to show the comparison catches it.
typedef enum { PLANT_NONE, PLANT_STEP, PLANT_BUFFERS, PLANT_LR } Plant;
static const char *plant_name[] = {"", "the step count", "the moments/momentum buffer", "the lr"};

static void opt_init(Opt *o, size_t n) {
  if (o->kind == OPT_SGD) sgd_init(&o->s, n, &o->sc);
  else adam_init(&o->a, n);
}

static void opt_step(Opt *o, LsqProblem *q) {
  lsq_eval(q);
  if (o->kind == OPT_SGD) sgd_step(&ctx, &o->s, q->P.data, q->P.grad, &o->sc);
  else adam_step(&ctx, &o->a, q->P.data, q->P.grad, &o->ac);
}

static void opt_free(Opt *o) {
  if (o->kind == OPT_SGD) sgd_free(&o->s);
  else adam_free(&o->a);
}

// SGD into "optim" (the LM's group), Adam into "optim/netG" (the DCGAN's).
static const char *opt_group(const Opt *o) { return o->kind == OPT_SGD ? "optim" : "optim/netG"; }

static void opt_save(const Opt *o, const Params *layout, const char *path) {
  H5File f;
  char err[GENET_ERR_MAX];
  GENET_ASSERT(h5_create(&f, path, err, sizeof err) == 0);
  int rc = o->kind == OPT_SGD ? sgd_save(&f, &o->s, o->sc.lr, layout, opt_group(o))
                              : adam_save(&f, &o->a, layout, opt_group(o));
  GENET_ASSERT(rc == 0 && h5_close(&f, err, sizeof err) == 0);
}

static int opt_load(Opt *o, const Params *layout, const char *path, char *err, size_t errlen) {
  H5File f;
  if (h5_open_read(&f, path, err, errlen)) return -1;
  int rc = o->kind == OPT_SGD ? sgd_load(&f, &o->s, &o->sc.lr, layout, opt_group(o), err, errlen)
                              : adam_load(&f, &o->a, layout, opt_group(o), err, errlen);
  char e2[GENET_ERR_MAX];
  GENET_ASSERT(h5_close(&f, e2, sizeof e2) == 0);
  return rc;
}

static void opt_plant(Opt *o, Plant p, const Opt *job) {
  size_t n = o->kind == OPT_SGD ? o->s.n : o->a.n;
  if (p == PLANT_STEP) o->s.step = o->a.step = 0;
  if (p == PLANT_BUFFERS && o->s.momentum_buf) memset(o->s.momentum_buf, 0, sizeof(float) * n);
  if (p == PLANT_BUFFERS && o->a.exp_avg) {
    memset(o->a.exp_avg, 0, sizeof(float) * n);
    memset(o->a.exp_avg_sq, 0, sizeof(float) * n);
  }
  if (p == PLANT_LR) o->sc.lr = job->sc.lr;
}

// 1 when both states are the same bit for bit.
static int opt_same(const Opt *x, const Opt *y) {
  if (x->kind == OPT_SGD) {
    size_t n = x->s.n;
    return x->s.step == y->s.step && memcmp(&x->sc.lr, &y->sc.lr, sizeof(double)) == 0 &&
           (!x->s.momentum_buf || memcmp(x->s.momentum_buf, y->s.momentum_buf, sizeof(float) * n) == 0);
  }
  size_t n = x->a.n;
  return x->a.step == y->a.step && memcmp(x->a.exp_avg, y->a.exp_avg, sizeof(float) * n) == 0 &&
         memcmp(x->a.exp_avg_sq, y->a.exp_avg_sq, sizeof(float) * n) == 0;
}

// k steps from x0, the anneal, m steps; with path, the state goes through the file after the
// k steps into a fresh Opt configured as job, then `plant` spoils what was loaded. o ends
// holding the final state (caller frees).
static void run_resumable(LsqProblem *q, Opt *o, const Opt *job, int k, int m, const char *path,
                          Plant plant) {
  *o = *job;
  opt_init(o, q->P.total);
  lsq_reset(q);
  for (int i = 0; i < k; i++) opt_step(o, q);
  if (o->kind == OPT_SGD) o->sc.lr *= 0.25;
  if (path) {
    opt_save(o, &q->P, path);
    opt_free(o);
    *o = *job;
    opt_init(o, q->P.total);
    char err[GENET_ERR_MAX];
    int rc = opt_load(o, &q->P, path, err, sizeof err);
    if (rc) genet_die("load: %s", err);
    opt_plant(o, plant, job);
  }
  for (int i = 0; i < m; i++) opt_step(o, q);
}

// keys: what the file must hold (the on-disk format tasks and docs/CHECKPOINTS.md rely on).
static void test_resume(LsqProblem *q, const char *what, const Opt *job, const char *const *keys,
                        const Plant *plants, int nplants) {
  const int k = 4, m = 5;
  const size_t T = q->P.total;
  char path[] = "/tmp/genet-optim-XXXXXX";
  int fd = mkstemp(path);
  GENET_ASSERT(fd >= 0);
  close(fd);
  Opt straight, resumed;
  float *want = malloc(sizeof(float) * T), *x = malloc(sizeof(float) * q->N);
  float *xw = malloc(sizeof(float) * q->N);
  run_resumable(q, &straight, job, k, m, NULL, PLANT_NONE);
  memcpy(want, q->P.data, sizeof(float) * T);
  run_resumable(q, &resumed, job, k, m, path, PLANT_NONE);
  test_check(memcmp(q->P.data, want, sizeof(float) * T) == 0 && opt_same(&resumed, &straight),
             "%-44s saved after %d steps, loaded fresh, %d more: params and state bit-identical "
             "to %d straight steps", what, k, m, k + m);
  opt_free(&resumed);

  H5File f;
  char err[GENET_ERR_MAX], missing[128] = "";
  GENET_ASSERT(h5_open_read(&f, path, err, sizeof err) == 0);
  for (int i = 0; keys[i] && !missing[0]; i++)
    if (!h5_exists(&f, keys[i])) snprintf(missing, sizeof missing, "%s", keys[i]);
  GENET_ASSERT(h5_close(&f, err, sizeof err) == 0);
  test_check(!missing[0], "%-44s file holds %s, %s, ... (missing: %s)", what, keys[0], keys[1],
             missing[0] ? missing : "none");

  lsq_gather(q, xw, want);
  for (int i = 0; i < nplants; i++) {
    run_resumable(q, &resumed, job, k, m, path, plants[i]);
    lsq_gather(q, x, q->P.data);
    char w[128];
    snprintf(w, sizeof w, "%s: load without %s", what, plant_name[plants[i]]);
    check_planted(w, close_err(x, xw, (size_t)q->N, 1, NULL), RTOL_F32);
    opt_free(&resumed);
  }

  // A state for another model (w of 3 x 8, not 3 x 7) does not fit the file.
  if (straight.s.momentum_buf || straight.a.exp_avg) {
    Params other;
    params_init(&other);
    params_add(&other, "w", 2, (int[]){3, 8});
    params_add(&other, "v", 1, (int[]){5});
    params_alloc(&other);
    Opt o = *job;
    opt_init(&o, other.total);
    int rc = opt_load(&o, &other, path, err, sizeof err);
    test_check(rc == -2 && strstr(err, path), "%-44s load for another model: -2 naming the file (%d: %s)",
               what, rc, err);
    opt_free(&o);
    params_free(&other);
  }
  opt_free(&straight);
  unlink(path);
  free(want); free(x); free(xw);
}

static void test_resumes(LsqProblem *q) {
  Opt sgd = {.kind = OPT_SGD, .sc = {.lr = 0.1}};
  const char *sgd_keys[] = {"optim/name", "optim/lr", "optim/step", NULL};
  test_resume(q, "resume sgd plain", &sgd, sgd_keys, (Plant[]){PLANT_LR}, 1);

  const char *mom_keys[] = {"optim/name", "optim/lr", "optim/step", "optim/momentum_buffer/w",
                            "optim/momentum_buffer/v", NULL};
  const Plant all[] = {PLANT_STEP, PLANT_BUFFERS, PLANT_LR};
  Opt mom = {.kind = OPT_SGD, .sc = {.lr = 0.05, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.01}};
  test_resume(q, "resume sgd momentum, dampening, weight decay", &mom, mom_keys, all, 3);
  Opt nest = {.kind = OPT_SGD, .sc = {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.02, .nesterov = 1}};
  test_resume(q, "resume sgd nesterov, weight decay", &nest, mom_keys, all, 3);

  Opt adam = {.kind = OPT_ADAM};
  adam_config_default(&adam.ac);
  adam.ac.lr = 0.05;
  adam.ac.beta1 = 0.5;
  adam.ac.weight_decay = 0.1;
  const char *adam_keys[] = {"optim/netG/exp_avg/w", "optim/netG/exp_avg_sq/v", "optim/netG/step", NULL};
  test_resume(q, "resume adam", &adam, adam_keys, (Plant[]){PLANT_STEP, PLANT_BUFFERS}, 2);
}

// Files written before sgd_save (the LM's: optim/name and optim/lr only) still load, as step 0;
// a job with momentum finds no buffer there (-2), another optimizer's group does not fit (-2),
// a group without lr is damaged (-1).
static void test_sgd_files(LsqProblem *q) {
  char path[] = "/tmp/genet-optim-XXXXXX", err[GENET_ERR_MAX];
  int fd = mkstemp(path);
  GENET_ASSERT(fd >= 0);
  close(fd);
  H5File f;
  GENET_ASSERT(h5_create(&f, path, err, sizeof err) == 0);
  int wrc = h5_write_str(&f, "optim/name", "sgd") | h5_write_scalar_f64(&f, "optim/lr", 0.5) |
            h5_write_str(&f, "adam/name", "adam") | h5_write_scalar_f64(&f, "adam/lr", 0.5) |
            h5_write_str(&f, "nolr/name", "sgd");
  GENET_ASSERT(wrc == 0 && h5_close(&f, err, sizeof err) == 0);
  GENET_ASSERT(h5_open_read(&f, path, err, sizeof err) == 0);

  SgdConfig plain = {.lr = 0.1}, mom = {.lr = 0.1, .momentum = 0.9};
  SgdState s;
  sgd_init(&s, q->P.total, &plain);
  s.step = 7;
  double lr = 0;
  int rc = sgd_load(&f, &s, &lr, NULL, "optim", err, sizeof err);
  test_check(rc == 0 && s.step == 0 && lr == 0.5,
             "sgd_load of a file without optim/step: rc %d, step %lld, lr %g", rc, (long long)s.step, lr);
  rc = sgd_load(&f, &s, &lr, NULL, "adam", err, sizeof err);
  test_check(rc == -2 && strstr(err, path), "sgd_load of another optimizer's group: -2 (%s)", err);
  rc = sgd_load(&f, &s, &lr, NULL, "nolr", err, sizeof err);
  test_check(rc == -1 && strstr(err, path), "sgd_load of a group without lr: -1 (%s)", err);
  sgd_free(&s);

  sgd_init(&s, q->P.total, &mom);
  rc = sgd_load(&f, &s, &lr, &q->P, "optim", err, sizeof err);
  test_check(rc == -2 && strstr(err, path) && strstr(err, "momentum_buffer"),
             "sgd_load with momentum of a file without a buffer: -2 (%s)", err);
  sgd_free(&s);
  GENET_ASSERT(h5_close(&f, err, sizeof err) == 0);
  unlink(path);
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "optim.h5");
  LsqProblem q;
  lsq_open(&q, &fx);
  test_clip(&fx, &q, "clip/small");
  test_clip(&fx, &q, "clip/large");
  test_sgd(&fx, &q, "sgd/plain", 0);
  test_sgd(&fx, &q, "sgd/momentum", 0);
  test_sgd(&fx, &q, "sgd/dampening", 0);
  test_sgd(&fx, &q, "sgd/nesterov", 0);
  test_sgd(&fx, &q, "sgd/clip", 1);
  test_adam(&fx, &q, "adam/default", -1);
  test_adam(&fx, &q, "adam/dcgan", 3);
  test_closed_forms(&q);
  test_resumes(&q);
  test_sgd_files(&q);
  test_reductions();
  lsq_close(&q);
  fx_close(&fx);
  ctx_free(&ctx);
  return test_finish("optim");
}
