// test_gpu_syncbn.c (label gpu): synchronized BatchNorm (batchnorm_forward_sync and
// batchnorm_backward_sync) on CUDA against the same op on the CPU, on the same random inputs.
//
// One rank (ctx->reduce unbound): the sync op is the plain op, so on the GPU it must give the
// non-synchronized CUDA op's bits and agree with the CPU sync op by testlib's rule (K = N H W
// for y and dx, 1 for the per-channel results, which are sums in double rounded once).
// Several ranks, faked: both contexts get a reduce that multiplies every sum by k, as if k
// ranks held this same slice (the global statistics are then this slice's, but the count, the
// unbiased variance and dx's global sums are k times larger). The GPU's per-channel sums stay
// on the device and go through ctx_sum_double_device, faked two ways: the host fake alone (the
// fallback of GPU ranks over MPI: ctx stages them through the host), and a device fake (as
// NCCL is bound: it must be given the context's stream; it downloads, records, multiplies and
// uploads on that stream). The count is a host sum (one double) either way. The GPU must call
// the reduction as the CPU does: the same number of calls, the same lengths, and the same
// quantities within the rounding of a sum of cnt terms in double (|error| <= cnt * u * sum
// |term|, taken as 4 cnt^2 u T with T bounding a term); then every output is compared as at one
// rank. Backward reads the CPU's save_mean and save_var on both devices, so its sums are about
// the same mean. Device outputs start as NaN; accumulated gradients start at the same non-zero
// values.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpulib.h"
#include "ops/batchnorm.h"
#include "testlib.h"

static Ctx gpu, cpu;
static uint64_t seed = 300;

static float *rnd(size_t n, float lo, float hi) { return uniform_floats(n, lo, hi, seed++); }

static void cmp(const char *tag, const char *name, const float *dev, const float *want, size_t n,
                double K) {
  char what[160];
  snprintf(what, sizeof what, "%.127s %.15s", tag, name);
  gpu_check_close(&gpu, what, dev, want, n, K, 1e-5);
}

// ---- the fake reduction: records what it is given, then multiplies it by k. Calls, in order:
// forward's count (host), sums and squared deviations (C each), backward's count (host) and
// sums (3 C). dev[i]: whether call i came through the device fake.
enum { MAX_CALLS = 8, CALLS = 5 };
typedef struct {
  int k, calls, device_calls, wrong_stream;
  Ctx *ctx;  // the device fake's context
  size_t n[MAX_CALLS];
  int dev[MAX_CALLS];
  double *buf[MAX_CALLS];  // copies of the buffers as passed in
} FakeReduce;

static void fake_sum(void *arg, double *buf, size_t n) {
  FakeReduce *f = arg;
  if (f->calls < MAX_CALLS) {
    f->n[f->calls] = n;
    f->buf[f->calls] = malloc(n * sizeof(double) + 1);
    memcpy(f->buf[f->calls], buf, n * sizeof(double));
  }
  f->calls++;
  for (size_t i = 0; i < n; i++) buf[i] *= f->k;
}

// The device variant: ctx_download waits for the stream (the writers of dev_buf), ctx_upload
// is ordered before its next kernels, as NCCL's events order its all-reduce.
static void fake_sum_device(void *arg, double *dev_buf, size_t n, void *stream) {
  FakeReduce *f = arg;
  if (stream != ctx_stream(f->ctx)) f->wrong_stream++;
  if (f->calls < MAX_CALLS) f->dev[f->calls] = 1;
  f->device_calls++;
  double *h = malloc(n * sizeof(double) + 1);
  ctx_download(f->ctx, h, dev_buf, n * sizeof(double));
  fake_sum(f, h, n);
  ctx_upload(f->ctx, dev_buf, h, n * sizeof(double));
  free(h);
}

static void bind(Ctx *ctx, FakeReduce *f, int k, int device) {
  memset(f, 0, sizeof *f);
  f->k = k;
  f->ctx = ctx;
  ctx->reduce.sum_double = k > 1 ? fake_sum : NULL;
  ctx->reduce.sum_double_device = k > 1 && device ? fake_sum_device : NULL;
  ctx->reduce.arg = k > 1 ? f : NULL;
  ctx->reduce.ranks = k;
}

static void unbind(Ctx *ctx, FakeReduce *f) {
  for (int i = 0; i < f->calls && i < MAX_CALLS; i++) free(f->buf[i]);
  ctx->reduce.sum_double = NULL;
  ctx->reduce.sum_double_device = NULL;
  ctx->reduce.arg = NULL;
  ctx->reduce.ranks = 1;
}

// The GPU's calls against the CPU's: count, lengths and values; with the device fake, the
// per-channel sums (calls 1, 2 and 4) and only they come through it, on the context's stream.
static void cmp_reduce(const char *tag, const FakeReduce *g, const FakeReduce *c, double tol,
                       int device) {
  int ok = g->calls == c->calls && c->calls == CALLS && c->device_calls == 0;
  int route = g->wrong_stream == 0 && g->device_calls == (device ? 3 : 0);
  for (int i = 0; i < CALLS && i < g->calls; i++)
    route &= g->dev[i] == (device && (i == 1 || i == 2 || i == 4));
  double worst = 0.0;
  for (int i = 0; ok && i < c->calls; i++) {
    ok = g->n[i] == c->n[i];
    for (size_t j = 0; ok && j < c->n[i]; j++) {
      double e = fabs(g->buf[i][j] - c->buf[i][j]);
      if (e > worst) worst = e;
      if (!(e <= tol)) ok = 0;
    }
  }
  test_check(ok, "%-52s reduce: %d calls (cpu %d), worst |diff| %.3g <= %.3g", tag, g->calls,
             c->calls, worst, tol);
  test_check(route, "%-52s reduce: %d of them on the device (%s), %d on another stream", tag,
             g->device_calls, device ? "the sums" : "none: staged through the host",
             g->wrong_stream);
}

typedef struct {
  int N, C, H, W, affine;
  float offset;
} Case;

// device: the GPU's faked reduce has a device variant (else the host one alone).
static void test_case(const Case *k, int ranks, int device) {
  const size_t n = (size_t)k->N * k->C * k->H * k->W, C = (size_t)k->C;
  const size_t cnt = (size_t)k->N * k->H * k->W;
  const float mom = 0.1f, eps = 1e-5f;
  float *x = rnd(n, -1, 1), *dy = rnd(n, -1, 1);
  for (size_t i = 0; i < n; i++) x[i] += k->offset;
  float *w = rnd(C, 0.5f, 1.5f), *b = rnd(C, -0.5f, 0.5f);
  float *rm0 = rnd(C, -0.2f, 0.2f), *rv0 = rnd(C, 0.5f, 1.5f);
  float *dw0 = rnd(C, -1, 1), *db0 = rnd(C, -1, 1);
  const float *wp = k->affine ? w : NULL, *bp = k->affine ? b : NULL;

  // CPU reference
  FakeReduce fc, fg;
  bind(&cpu, &fc, ranks, 0);
  float *y = malloc(n * 4), *dx = malloc(n * 4), *sm = malloc(C * 4), *sv = malloc(C * 4);
  float *rm = copy_floats(rm0, C), *rv = copy_floats(rv0, C), *dw = copy_floats(dw0, C), *db = copy_floats(db0, C);
  batchnorm_forward_sync(&cpu, y, sm, sv, rm, rv, x, wp, bp, k->N, k->C, k->H, k->W, 1, mom, eps);
  batchnorm_backward_sync(&cpu, dx, k->affine ? dw : NULL, k->affine ? db : NULL, dy, x, sm, sv,
                          wp, k->N, k->C, k->H, k->W, 1, eps);

  // GPU
  bind(&gpu, &fg, ranks, device);
  float *dX = gpu_upload(&gpu, x, n), *dDY = gpu_upload(&gpu, dy, n);
  float *dW = k->affine ? gpu_upload(&gpu, w, C) : NULL;
  float *dB = k->affine ? gpu_upload(&gpu, b, C) : NULL;
  float *dRM = gpu_upload(&gpu, rm0, C), *dRV = gpu_upload(&gpu, rv0, C);
  float *dY = gpu_nan(&gpu, n), *dDX = gpu_nan(&gpu, n);
  float *dSM = gpu_nan(&gpu, C), *dSV = gpu_nan(&gpu, C);
  float *cSM = gpu_upload(&gpu, sm, C), *cSV = gpu_upload(&gpu, sv, C);  // the CPU's, for backward
  float *dDW = gpu_upload(&gpu, dw0, C), *dDB = gpu_upload(&gpu, db0, C);
  batchnorm_forward_sync(&gpu, dY, dSM, dSV, dRM, dRV, dX, dW, dB, k->N, k->C, k->H, k->W, 1, mom,
                         eps);
  batchnorm_backward_sync(&gpu, dDX, k->affine ? dDW : NULL, k->affine ? dDB : NULL, dDY, dX, cSM,
                          cSV, dW, k->N, k->C, k->H, k->W, 1, eps);

  char tag[128];
  snprintf(tag, sizeof tag, "sync bn, %d rank%s (%d,%d,%d,%d)%s offset %g", ranks,
           ranks == 1 ? "" : device ? "s (fake, dev)" : "s (fake, host)", k->N, k->C, k->H, k->W,
           k->affine ? " affine" : "", (double)k->offset);
  const double K = (double)cnt;
  cmp(tag, "y", dY, y, n, K);
  cmp(tag, "save_mean", dSM, sm, C, 1);
  cmp(tag, "save_var", dSV, sv, C, 1);
  cmp(tag, "running_mean", dRM, rm, C, 1);
  cmp(tag, "running_var", dRV, rv, C, 1);
  cmp(tag, "dx", dDX, dx, n, K);
  if (k->affine) {
    cmp(tag, "dweight (+=)", dDW, dw, C, 1);
    cmp(tag, "dbias (+=)", dDB, db, C, 1);
  }
  if (ranks > 1) {
    double T = fmax(1.0 + fabs((double)k->offset), 4.0);
    cmp_reduce(tag, &fg, &fc, 4.0 * (double)cnt * (double)cnt * 1.12e-16 * T, device);
  } else {
    // One rank: the non-synchronized CUDA op, bit for bit.
    float *pY = gpu_nan(&gpu, n), *pDX = gpu_nan(&gpu, n), *pSM = gpu_nan(&gpu, C);
    float *pSV = gpu_nan(&gpu, C), *pRM = gpu_upload(&gpu, rm0, C), *pRV = gpu_upload(&gpu, rv0, C);
    float *pDW = gpu_upload(&gpu, dw0, C), *pDB = gpu_upload(&gpu, db0, C);
    batchnorm_forward(&gpu, pY, pSM, pSV, pRM, pRV, dX, dW, dB, k->N, k->C, k->H, k->W, 1, mom,
                      eps);
    batchnorm_backward(&gpu, pDX, k->affine ? pDW : NULL, k->affine ? pDB : NULL, dDY, dX, cSM,
                       cSV, dW, k->N, k->C, k->H, k->W, 1, eps);
    test_check(gpu_same_bits(&gpu, dY, pY, n) && gpu_same_bits(&gpu, dSM, pSM, C) && gpu_same_bits(&gpu, dSV, pSV, C) &&
                   gpu_same_bits(&gpu, dRM, pRM, C) && gpu_same_bits(&gpu, dRV, pRV, C) &&
                   gpu_same_bits(&gpu, dDX, pDX, n) && gpu_same_bits(&gpu, dDW, pDW, C) && gpu_same_bits(&gpu, dDB, pDB, C),
               "%-52s the non-sync CUDA op's bits", tag);
    test_check(fg.calls == 0 && fc.calls == 0, "%-52s no reduction called", tag);
    gpu_free(pY), gpu_free(pDX), gpu_free(pSM), gpu_free(pSV), gpu_free(pRM), gpu_free(pRV);
    gpu_free(pDW), gpu_free(pDB);
  }
  unbind(&cpu, &fc);
  unbind(&gpu, &fg);

  gpu_free(dX), gpu_free(dDY), gpu_free(dRM), gpu_free(dRV), gpu_free(dY), gpu_free(dDX);
  gpu_free(dSM), gpu_free(dSV), gpu_free(cSM), gpu_free(cSV), gpu_free(dDW), gpu_free(dDB);
  if (dW) gpu_free(dW), gpu_free(dB);
  free(x), free(dy), free(w), free(b), free(rm0), free(rv0), free(dw0), free(db0);
  free(y), free(dx), free(sm), free(sv), free(rm), free(rv), free(dw), free(db);
}

int main(void) {
  gpu_test_begin("gpu_syncbn", &gpu, &cpu);
  const Case cases[] = {
      {4, 5, 7, 3, 1, 0.0f},     // DCGAN-like
      {3, 4, 5, 6, 1, 1000.0f},  // a large offset: the sums about the global mean in double
      {16, 2, 64, 64, 1, 0.5f},  // 65536 values a channel (several slices a channel)
      {5, 3, 4, 4, 0, 0.0f},     // no weight, bias or parameter gradients
      {1, 3, 1, 2, 1, 0.0f},     // two values a channel on this rank
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int ranks = 1; ranks <= 3; ranks++)
      for (int device = 0; device <= (ranks > 1); device++) test_case(&cases[i], ranks, device);
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_syncbn");
}
