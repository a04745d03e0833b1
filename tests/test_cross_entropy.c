// test_cross_entropy.c: nn.CrossEntropyLoss parity (large logits, batch 1, many rows, a long
// row, ties, an upstream gradient), in-place backward, finite differences on the logits, the
// fatal error for a target outside the vocabulary, and fastmath_expf against double exp.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops/cross_entropy.h"
#include "base/fastmath.h"
#include "testlib.h"

static Ctx ctx;
// Finite differences: smooth, h = 1e-2; measured worst 3.1e-6 of max|g| over ISAs and threads.
#define GC_H 1e-2
#define GC_TOL 5e-5

typedef struct {
  float *x, *lse;
  int32_t *t;
  int N, V;
} CeArg;

static double ce_loss(void *p) {
  CeArg *a = p;
  return cross_entropy_forward(&ctx, a->lse, a->x, a->t, a->N, a->V);
}

static void fixture_case(Fixture *fx, int c) {
  char g[64], k[96], what[128];
  snprintf(g, sizeof g, "ce/case%d", c);
  int N = (int)fx_attr_int(fx, g, "N"), V = (int)fx_attr_int(fx, g, "V");
  float dloss = (float)fx_attr_double(fx, g, "dloss");
#define RD(name) (snprintf(k, sizeof k, "%s/%s", g, name), fx_read(fx, k, NULL, NULL, NULL))
  float *x = RD("logits"), *tf = RD("targets"), *loss = RD("loss"), *lse = RD("lse"),
        *dx = RD("dlogits");
#undef RD
  size_t NV = (size_t)N * V;
  int32_t *t = malloc(N * sizeof(int32_t));
  for (int n = 0; n < N; n++) t[n] = (int32_t)tf[n];
  float *glse = malloc(N * 4), *gdx = malloc(NV * 4), *inplace = malloc(NV * 4);
  float gl = (float)cross_entropy_forward(&ctx, glse, x, t, N, V);
  cross_entropy_backward(&ctx, gdx, x, glse, t, dloss, N, V);
  snprintf(what, sizeof what, "ce N%d V%d loss", N, V);
  check_close(what, &gl, loss, 1, (double)NV, RTOL_F32);  // K: N rows of V
  snprintf(what, sizeof what, "ce N%d V%d log-sum-exp", N, V);
  check_close(what, glse, lse, N, V, RTOL_F32);
  snprintf(what, sizeof what, "ce N%d V%d dlogits (dloss %g)", N, V, dloss);
  // softmax(x) = exp(x - lse): the argument carries an absolute error of about u max|x|, which
  // exp turns into a relative one; it adds to the sum's sqrt(V) (testlib.c): sqrt(K) = sqrt(V) +
  // max|x|. (The first case has logits near 50.)
  double xmax = 0;
  for (size_t i = 0; i < NV; i++) xmax = fmax(xmax, fabs(x[i]));
  check_close(what, gdx, dx, NV, (sqrt(V) + xmax) * (sqrt(V) + xmax), RTOL_F32);
  memcpy(inplace, x, NV * 4);
  cross_entropy_backward(&ctx, inplace, inplace, glse, t, dloss, N, V);
  test_check(memcmp(inplace, gdx, NV * 4) == 0, "ce N%d V%d backward in place equals out of place",
             N, V);
  // Finite differences of the mean loss (dloss = 1) at 60 sampled logits.
  cross_entropy_backward(&ctx, gdx, x, glse, t, 1.0f, N, V);
  CeArg a = {x, glse, t, N, V};
  snprintf(what, sizeof what, "ce N%d V%d dL/dlogits", N, V);
  gradcheck(what, ce_loss, &a, x, gdx, NV, GC_H, 60, GC_TOL);
  free(x); free(tf); free(loss); free(lse); free(dx); free(t); free(glse); free(gdx); free(inplace);
}

// Every entry of a small case (the sampled checks above may miss the target and the top logits).
static void dense_gradcheck(void) {
  enum { N = 3, V = 17 };
  float x[N * V], lse[N], d[N * V];
  int32_t t[N] = {0, 16, 5};
  fill_uniform(x, N * V, -4, 4, 9);
  cross_entropy_forward(&ctx, lse, x, t, N, V);
  cross_entropy_backward(&ctx, d, x, lse, t, 1.0f, N, V);
  CeArg a = {x, lse, t, N, V};
  gradcheck("ce N3 V17 dL/dlogits (all entries)", ce_loss, &a, x, d, N * V, GC_H, N * V, GC_TOL);
}

// A target outside [0, V) is a caller bug: the process dies with a message and non-zero status.
static void bad_target(void) {
  float x[2 * 4] = {0};
  float lse[2];
  int32_t t[2] = {1, 4};
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    cross_entropy_forward(&ctx, lse, x, t, 2, 4);
    _exit(0);  // reached only if the bad target went unnoticed
  }
  int status = 0;
  waitpid(pid, &status, 0);
  test_check(WIFEXITED(status) && WEXITSTATUS(status) != 0,
             "target 4 with vocabulary 4 dies (exit status %d; message above)",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

// fastmath_expf over its whole range against double exp: relative error in float ulps.
static void expf_sweep(void) {
  double worst = 0, at = 0;
  for (double v = -86.9; v <= 88.7; v += 1.37e-4) {
    float x = (float)v;
    double want = exp((double)x), got = fastmath_expf(x);
    double e = fabs(got - want) / want;
    if (e > worst) { worst = e; at = x; }
  }
  test_check(worst < 3e-7,
             "fastmath_expf on [-86.9, 88.7]: worst rel err %.2e at %.4f (bound 3e-7)",
             worst, at);
  int edges = fastmath_expf(-87.0f) == 0.0f && fastmath_expf(-86.9f) > 0.0f &&
              fastmath_expf(-100.0f) == 0.0f && fastmath_expf(-INFINITY) == 0.0f;
  edges &= !isinf(fastmath_expf(88.7f)) && isinf(fastmath_expf(88.75f)) &&
           isinf(fastmath_expf(100.0f)) && isinf(fastmath_expf(INFINITY));
  edges &= isnan(fastmath_expf(NAN)) && fastmath_expf(0.0f) == 1.0f;
  test_check(edges,
             "fastmath_expf: 0 below -86.99, inf above 88.72 and at inf, NaN kept, exp(0) = 1");
}

int main(void) {
  ctx_init(&ctx, DEV_CPU, 0);
  Fixture fx;
  fx_open(&fx, "cross_entropy.h5");
  for (int c = 0; c < 5; c++) fixture_case(&fx, c);
  fx_close(&fx);
  dense_gradcheck();
  bad_target();
  expf_sweep();
  ctx_free(&ctx);
  return test_finish("cross_entropy");
}
