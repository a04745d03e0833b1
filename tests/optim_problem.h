// optim_problem.h: the least-squares problem of scripts/fixtures/fx_optim.py, shared by
// test_optim.c and test_lbfgs.c. Two tensors w (3, 7) and v (5,) live in a Params buffer with
// padding between them; x = cat(w, v) is the packed vector of N floats, and
// loss = 0.5 |A x - b|^2, grad = A^T (A x - b), evaluated here in double (a closed form
// independent of the optimizers under test).
#pragma once
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/params.h"
#include "testlib.h"

typedef struct {
  int M, N;
  float *A, *b, *x0;          // (M, N), (M), (N)
  Params P;
  int evals;                  // closure calls
} LsqProblem;

static void lsq_open(LsqProblem *q, Fixture *fx) {
  memset(q, 0, sizeof *q);
  q->M = (int)fx_attr_int(fx, "problem", "M");
  q->N = (int)fx_attr_int(fx, "problem", "N");
  q->A = fx_read(fx, "problem/A", NULL, NULL, NULL);
  q->b = fx_read(fx, "problem/b", NULL, NULL, NULL);
  q->x0 = fx_read(fx, "problem/x0", NULL, NULL, NULL);
  params_init(&q->P);
  params_add(&q->P, "w", 2, (int[]){3, 7});
  params_add(&q->P, "v", 1, (int[]){5});
  params_alloc(&q->P);
  if (q->P.total == (size_t)q->N) abort();  // the layout must have padding to test
}

static void lsq_close(LsqProblem *q) {
  free(q->A); free(q->b); free(q->x0);
  params_free(&q->P);
}

// packed (N) <-> flat buffer (P.total); scatter leaves the padding alone
static void lsq_gather(const LsqProblem *q, float *packed, const float *flat) {
  size_t o = 0;
  for (int t = 0; t < q->P.n; t++) {
    memcpy(packed + o, flat + q->P.info[t].offset, sizeof(float) * q->P.info[t].numel);
    o += q->P.info[t].numel;
  }
}

static void lsq_scatter(const LsqProblem *q, float *flat, const float *packed) {
  size_t o = 0;
  for (int t = 0; t < q->P.n; t++) {
    memcpy(flat + q->P.info[t].offset, packed + o, sizeof(float) * q->P.info[t].numel);
    o += q->P.info[t].numel;
  }
}

// Resets the parameters to x0 and the gradient to zero.
static void lsq_reset(LsqProblem *q) {
  memset(q->P.data, 0, sizeof(float) * q->P.total);
  memset(q->P.grad, 0, sizeof(float) * q->P.total);
  lsq_scatter(q, q->P.data, q->x0);
  q->evals = 0;
}

// Writes (overwrites) P.grad at the parameters' places and returns the loss.
static float lsq_eval(LsqProblem *q) {
  int M = q->M, N = q->N;
  float *x = malloc(sizeof(float) * N), *g = malloc(sizeof(float) * N);
  double *r = malloc(sizeof(double) * M), loss = 0;
  lsq_gather(q, x, q->P.data);
  for (int i = 0; i < M; i++) {
    double s = -(double)q->b[i];
    for (int j = 0; j < N; j++) s += (double)q->A[(size_t)i * N + j] * x[j];
    r[i] = s;
    loss += 0.5 * s * s;
  }
  for (int j = 0; j < N; j++) {
    double s = 0;
    for (int i = 0; i < M; i++) s += (double)q->A[(size_t)i * N + j] * r[i];
    g[j] = (float)s;
  }
  lsq_scatter(q, q->P.grad, g);
  q->evals++;
  free(x); free(g); free(r);
  return (float)loss;
}

// 1 when every padding float of buf (P.total) is exactly zero
static int lsq_padding_zero(const LsqProblem *q, const float *buf) {
  size_t o = 0;
  for (int t = 0; t < q->P.n; t++) {
    for (; o < q->P.info[t].offset; o++)
      if (buf[o] != 0.0f) return 0;
    o += q->P.info[t].numel;
  }
  for (; o < q->P.total; o++)
    if (buf[o] != 0.0f) return 0;
  return 1;
}
