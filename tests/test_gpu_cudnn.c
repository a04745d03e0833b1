// test_gpu_cudnn.c (label gpu): the CUDA convolution, transposed convolution, BatchNorm and max
// pooling against the CPU ops on the same random inputs, forward and backward, by testlib's
// rule with K the length of the sums behind an element: a convolution output Cin k k, its dx
// Cout k k, its dw and db N Ho Wo; BatchNorm's y and dx N H W, its per-channel results 1 (sums
// in double on both sides); pooling's dx sums up to k k gradients.
// fp32 at 1e-5; the convolutions again with TF32 allowed at 2e-3.
//
// What would catch a wrong op: outputs that the op writes (y, dx, save_mean, save_var) start
// as NaN on the device, so an element it skips fails; what it accumulates (conv dw and db,
// BatchNorm dweight and dbias) starts at the same non-zero values on both sides, so a
// written-instead-of-added gradient fails; shapes are odd, non-square and strided, with and
// without bias, with dx or dw not asked for; pooling inputs are coarsely quantized so windows
// hold ties (the first maximum must win, as on the CPU) and 2x2/2 on odd sizes leaves a row and
// a column that no window reads (their dx must be 0). A second call on the cached plans must
// give the same bits (the algorithms are chosen deterministic), and an fp32 plan must still be
// fp32 after TF32 plans of the same shape were made.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpulib.h"
#include "ops/batchnorm.h"
#include "ops/conv.h"
#include "ops/conv_transpose.h"
#include "ops/pool.h"
#include "testlib.h"

static Ctx gpu, cpu;
static uint64_t seed = 100;

static float *rnd(size_t n, float lo, float hi) { return uniform_floats(n, lo, hi, seed++); }

// Downloads dev and compares it with want; NULL dev (not computed) is skipped.
static void cmp(const char *tag, const char *name, const float *dev, const float *want, size_t n,
                double K, double rtol) {
  if (!dev) return;
  char what[160];  // tags stay under 128 characters, names under 16
  snprintf(what, sizeof what, "%.127s %.15s", tag, name);
  gpu_check_close(&gpu, what, dev, want, n, K, rtol);
}

// ---- Conv2d and ConvTranspose2d: one case runs forward and backward on both devices.

typedef struct {
  int transpose, N, Cin, H, W, Cout, K, stride, pad;
  int bias;  // b and db
  int want_dx, want_dw;
} ConvCase;

static void conv_fwd(Ctx *c, const ConvCase *k, float *y, const float *x, const float *w,
                     const float *b) {
  if (k->transpose)
    conv_transpose2d_forward(c, y, x, w, b, k->N, k->Cin, k->H, k->W, k->Cout, k->K, k->stride,
                             k->pad);
  else
    conv2d_forward(c, y, x, w, b, k->N, k->Cin, k->H, k->W, k->Cout, k->K, k->stride, k->pad);
}

static void conv_bwd(Ctx *c, const ConvCase *k, float *dx, float *dw, float *db, const float *dy,
                     const float *x, const float *w) {
  if (k->transpose)
    conv_transpose2d_backward(c, dx, dw, db, dy, x, w, k->N, k->Cin, k->H, k->W, k->Cout, k->K,
                              k->stride, k->pad);
  else
    conv2d_backward(c, dx, dw, db, dy, x, w, k->N, k->Cin, k->H, k->W, k->Cout, k->K, k->stride,
                    k->pad);
}

// Runs the case on the GPU at the context's current precision; returns the device y, dx, dw,
// db (NULL where not computed); dw and db start from dw0 and db0.
typedef struct {
  float *y, *dx, *dw, *db;
} ConvOut;

static ConvOut conv_gpu(const ConvCase *k, const float *x, const float *w, const float *b,
                        const float *dy, const float *dw0, const float *db0, size_t nx, size_t nw,
                        size_t ny) {
  ConvOut o = {gpu_nan(&gpu, ny), k->want_dx ? gpu_nan(&gpu, nx) : NULL,
               k->want_dw ? gpu_upload(&gpu, dw0, nw) : NULL,
               k->want_dw && k->bias ? gpu_upload(&gpu, db0, (size_t)k->Cout) : NULL};
  float *dX = gpu_upload(&gpu, x, nx), *dW = gpu_upload(&gpu, w, nw);
  float *dB = k->bias ? gpu_upload(&gpu, b, (size_t)k->Cout) : NULL;
  float *dDY = gpu_upload(&gpu, dy, ny);
  conv_fwd(&gpu, k, o.y, dX, dW, dB);
  conv_bwd(&gpu, k, o.dx, o.dw, o.db, dDY, dX, dW);
  gpu_free(dX), gpu_free(dW), gpu_free(dB), gpu_free(dDY);
  return o;
}

static void conv_out_free(ConvOut *o) {
  gpu_free(o->y), gpu_free(o->dx), gpu_free(o->dw), gpu_free(o->db);
}

static void test_conv_case(const ConvCase *k) {
  int Ho, Wo;
  if (k->transpose) {
    Ho = conv_transpose2d_out_size(k->H, k->K, k->stride, k->pad);
    Wo = conv_transpose2d_out_size(k->W, k->K, k->stride, k->pad);
  } else {
    Ho = conv2d_out_size(k->H, k->K, k->stride, k->pad);
    Wo = conv2d_out_size(k->W, k->K, k->stride, k->pad);
  }
  size_t nx = (size_t)k->N * k->Cin * k->H * k->W, ny = (size_t)k->N * k->Cout * Ho * Wo;
  size_t nw = (size_t)k->Cout * k->Cin * k->K * k->K;  // either layout holds Cout Cin K K
  float *x = rnd(nx, -1, 1), *w = rnd(nw, -0.5f, 0.5f), *b = rnd((size_t)k->Cout, -1, 1);
  float *dy = rnd(ny, -1, 1), *dw0 = rnd(nw, -1, 1), *db0 = rnd((size_t)k->Cout, -1, 1);

  // The CPU reference: y, dx written; dw, db accumulated onto dw0, db0.
  float *y = malloc(ny * 4), *dx = malloc(nx * 4), *dw = copy_floats(dw0, nw);
  float *db = copy_floats(db0, (size_t)k->Cout);
  conv_fwd(&cpu, k, y, x, w, k->bias ? b : NULL);
  conv_bwd(&cpu, k, k->want_dx ? dx : NULL, k->want_dw ? dw : NULL,
           k->want_dw && k->bias ? db : NULL, dy, x, w);

  char tag[128];
  // Sum lengths: an output element takes at most Cin k k products, a dx element Cout k k; a dw
  // element sums over the positions of the convolution's output (the transposed one's input),
  // a db element over dy's.
  double Ky = (double)k->Cin * k->K * k->K, Kx = (double)k->Cout * k->K * k->K;
  double Kw = k->transpose ? (double)k->N * k->H * k->W : (double)k->N * Ho * Wo;
  double Kb = (double)k->N * Ho * Wo;
  ConvOut first = {0};
  for (int pass = 0; pass < 3; pass++) {  // fp32, TF32, fp32 again
    int tf32 = pass == 1;
    double rtol = tf32 ? 2e-3 : 1e-5;
    gpu_set_tf32(&gpu, tf32);
    snprintf(tag, sizeof tag, "%s N%d Cin%d %dx%d Cout%d k%d s%d p%d%s %s",
             k->transpose ? "convT" : "conv", k->N, k->Cin, k->H, k->W, k->Cout, k->K, k->stride,
             k->pad, k->bias ? " bias" : "", tf32 ? "tf32" : "fp32");
    ConvOut o = conv_gpu(k, x, w, b, dy, dw0, db0, nx, nw, ny);
    if (pass == 2) {  // the cached fp32 plans again, after TF32 ones: the same bits
      int same = gpu_same_bits(&gpu, o.y, first.y, ny) && (!o.dx || gpu_same_bits(&gpu, o.dx, first.dx, nx)) &&
                 (!o.dw || gpu_same_bits(&gpu, o.dw, first.dw, nw)) &&
                 (!o.db || gpu_same_bits(&gpu, o.db, first.db, (size_t)k->Cout));
      test_check(same, "%-44s second fp32 call identical", tag);
      conv_out_free(&o);
      conv_out_free(&first);
      break;
    }
    cmp(tag, "y", o.y, y, ny, Ky, rtol);
    cmp(tag, "dx", o.dx, dx, nx, Kx, rtol);
    cmp(tag, "dw (+=)", o.dw, dw, nw, Kw, rtol);
    cmp(tag, "db (+=)", o.db, db, (size_t)k->Cout, Kb, rtol);
    if (pass == 0) first = o;
    else conv_out_free(&o);
  }
  gpu_set_tf32(&gpu, 0);
  free(x), free(w), free(b), free(dy), free(dw0), free(db0), free(y), free(dx), free(dw), free(db);
}

static void test_conv(void) {
  // transpose, N, Cin, H, W, Cout, K, stride, pad, bias, want_dx, want_dw
  const ConvCase cases[] = {
      {0, 2, 3, 11, 11, 5, 3, 1, 1, 1, 1, 1},   // VGG-like 3x3/1 pad 1
      {0, 3, 4, 9, 13, 6, 4, 2, 1, 0, 1, 1},    // DCGAN discriminator-like 4x4/2, non-square
      {0, 2, 5, 7, 8, 3, 5, 3, 2, 1, 0, 1},     // no dx (the first layer)
      {0, 2, 3, 6, 5, 4, 3, 2, 0, 0, 1, 0},     // frozen weights: dx only
      {1, 2, 6, 4, 4, 3, 4, 2, 1, 1, 1, 1},     // DCGAN generator 4x4/2 pad 1
      {1, 3, 7, 1, 1, 5, 4, 1, 0, 0, 1, 1},     // the generator's first layer: 1x1 -> 4x4
      {1, 2, 3, 5, 3, 4, 3, 2, 1, 1, 0, 1},     // odd, non-square, no dx
      {1, 2, 4, 3, 4, 2, 3, 1, 1, 0, 1, 0},     // frozen weights: dx only
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_conv_case(&cases[i]);
}

// ---- BatchNorm2d

typedef struct {
  int N, C, H, W;
  int affine, track;  // weight and bias; running statistics (training)
  float offset;       // added to x: large offsets test the two-pass statistics
} BnCase;

static void test_bn_case(const BnCase *k, int training) {
  const float eps = 1e-5f, mom = 0.1f;
  size_t n = (size_t)k->N * k->C * k->H * k->W, C = (size_t)k->C;
  float *x = rnd(n, -2, 2), *dy = rnd(n, -1, 1), *w = rnd(C, 0.5f, 1.5f), *b = rnd(C, -1, 1);
  float *rm0 = rnd(C, -1, 1), *rv0 = rnd(C, 0.5f, 2.0f), *dw0 = rnd(C, -1, 1), *db0 = rnd(C, -1, 1);
  for (size_t i = 0; i < n; i++) x[i] += k->offset;
  if (!training) for (size_t c = 0; c < C; c++) rm0[c] += k->offset;
  int track = training ? k->track : 1;
  const float *wp = k->affine ? w : NULL, *bp = k->affine ? b : NULL;

  float *y = malloc(n * 4), *dx = malloc(n * 4), *sm = malloc(C * 4), *sv = malloc(C * 4);
  float *rm = copy_floats(rm0, C), *rv = copy_floats(rv0, C), *dw = copy_floats(dw0, C), *db = copy_floats(db0, C);
  batchnorm_forward(&cpu, y, sm, sv, track ? rm : NULL, track ? rv : NULL, x, wp, bp, k->N, k->C,
                    k->H, k->W, training, mom, eps);
  batchnorm_backward(&cpu, dx, k->affine ? dw : NULL, k->affine ? db : NULL, dy, x, sm, sv, wp,
                     k->N, k->C, k->H, k->W, training, eps);

  float *dX = gpu_upload(&gpu, x, n), *dDY = gpu_upload(&gpu, dy, n);
  float *dW = gpu_upload(&gpu, w, C), *dB = gpu_upload(&gpu, b, C);
  float *dRM = gpu_upload(&gpu, rm0, C), *dRV = gpu_upload(&gpu, rv0, C);
  float *dY = gpu_nan(&gpu, n), *dDX = gpu_nan(&gpu, n);
  float *dSM = gpu_nan(&gpu, C), *dSV = gpu_nan(&gpu, C);
  float *dDW = gpu_upload(&gpu, dw0, C), *dDB = gpu_upload(&gpu, db0, C);
  batchnorm_forward(&gpu, dY, dSM, dSV, track ? dRM : NULL, track ? dRV : NULL, dX,
                    k->affine ? dW : NULL, k->affine ? dB : NULL, k->N, k->C, k->H, k->W,
                    training, mom, eps);
  batchnorm_backward(&gpu, dDX, k->affine ? dDW : NULL, k->affine ? dDB : NULL, dDY, dX, dSM, dSV,
                     k->affine ? dW : NULL, k->N, k->C, k->H, k->W, training, eps);

  char tag[128];
  snprintf(tag, sizeof tag, "bn %s (%d,%d,%d,%d)%s%s offset %g", training ? "train" : "eval",
           k->N, k->C, k->H, k->W, k->affine ? " affine" : "", track ? " running" : "",
           (double)k->offset);
  // y and dx: K = N H W, the values behind each. The per-channel results are sums in double on
  // both devices, each rounded to float once (then added to a float, for the gradients): K = 1,
  // so that a value left out of a channel's sums fails even among 65536.
  double K = (double)k->N * k->H * k->W;
  cmp(tag, "y", dY, y, n, K, 1e-5);
  cmp(tag, "save_mean", dSM, sm, C, 1, 1e-5);
  cmp(tag, "save_var", dSV, sv, C, 1, 1e-5);
  if (training && track) {
    cmp(tag, "running_mean", dRM, rm, C, 1, 1e-5);
    cmp(tag, "running_var", dRV, rv, C, 1, 1e-5);
  }
  cmp(tag, "dx", dDX, dx, n, K, 1e-5);
  if (k->affine) {
    cmp(tag, "dweight (+=)", dDW, dw, C, 1, 1e-5);
    cmp(tag, "dbias (+=)", dDB, db, C, 1, 1e-5);
  }

  // Again, in place (y = x) and without running statistics: the same y, bit for bit.
  float *dY2 = gpu_upload(&gpu, x, n), *dSM2 = gpu_nan(&gpu, C), *dSV2 = gpu_nan(&gpu, C);
  batchnorm_forward(&gpu, dY2, dSM2, dSV2, training ? NULL : dRM, training ? NULL : dRV, dY2,
                    k->affine ? dW : NULL, k->affine ? dB : NULL, k->N, k->C, k->H, k->W,
                    training, mom, eps);
  test_check(gpu_same_bits(&gpu, dY, dY2, n) && gpu_same_bits(&gpu, dSM, dSM2, C) && gpu_same_bits(&gpu, dSV, dSV2, C),
             "%-44s in place, second call identical", tag);

  gpu_free(dX), gpu_free(dDY), gpu_free(dW), gpu_free(dB), gpu_free(dRM), gpu_free(dRV);
  gpu_free(dY), gpu_free(dDX), gpu_free(dSM), gpu_free(dSV), gpu_free(dDW), gpu_free(dDB);
  gpu_free(dY2), gpu_free(dSM2), gpu_free(dSV2);
  free(x), free(dy), free(w), free(b), free(rm0), free(rv0), free(dw0), free(db0);
  free(y), free(dx), free(sm), free(sv), free(rm), free(rv), free(dw), free(db);
}

static void test_bn(void) {
  const BnCase cases[] = {
      {4, 5, 7, 3, 1, 1, 0.0f},      // DCGAN-like, weight, bias, running statistics
      {3, 4, 5, 6, 1, 1, 1000.0f},   // a large offset: the two-pass statistics in double
      {16, 2, 64, 64, 1, 1, 0.5f},   // 65536 values a channel (several blocks a channel)
      {5, 3, 4, 4, 0, 0, 0.0f},      // no weight, bias or running statistics
      {2, 3, 1, 1, 1, 1, 0.0f},      // two values a channel
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    test_bn_case(&cases[i], 1);
    test_bn_case(&cases[i], 0);
  }
}

// ---- MaxPool2d

static void test_pool_case(int N, int C, int H, int W, int K, int S, int ties) {
  int Ho = maxpool2d_out_size(H, K, S), Wo = maxpool2d_out_size(W, K, S);
  size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * Ho * Wo;
  float *x = rnd(nx, -1, 1), *dy = rnd(ny, -1, 1);
  // Ties: values in {0, 1, 2}, so most windows hold several maxima (as after a ReLU).
  if (ties) for (size_t i = 0; i < nx; i++) x[i] = floorf((x[i] + 1.0f) * 1.5f);
  float *y = malloc(ny * 4), *dx = malloc(nx * 4);
  void *ws = malloc(maxpool2d_workspace_size(&cpu, N, C, H, W, K, S) + 1);
  maxpool2d_forward(&cpu, y, ws, x, N, C, H, W, K, S);
  maxpool2d_backward(&cpu, dx, dy, ws, N, C, H, W, K, S);

  size_t wsb = maxpool2d_workspace_size(&gpu, N, C, H, W, K, S);
  float *dWS = gpu_nan(&gpu, (wsb + 3) / 4), *dX = gpu_upload(&gpu, x, nx);
  float *dDY = gpu_upload(&gpu, dy, ny), *dY = gpu_nan(&gpu, ny), *dDX = gpu_nan(&gpu, nx);
  float *dY2 = gpu_nan(&gpu, ny), *dDX2 = gpu_nan(&gpu, nx);
  maxpool2d_forward(&gpu, dY, dWS, dX, N, C, H, W, K, S);
  maxpool2d_backward(&gpu, dDX, dDY, dWS, N, C, H, W, K, S);
  maxpool2d_backward(&gpu, dDX2, dDY, dWS, N, C, H, W, K, S);

  char tag[96];
  snprintf(tag, sizeof tag, "maxpool %dx%dx%dx%d k%d s%d%s", N, C, H, W, K, S, ties ? " ties" : "");
  cmp(tag, "y", dY, y, ny, 1, 0.0);  // a maximum is one of the inputs: exact
  cmp(tag, "dx", dDX, dx, nx, (double)K * K, 1e-5);
  test_check(gpu_same_bits(&gpu, dDX, dDX2, nx), "%-44s second backward identical", tag);
  maxpool2d_forward(&gpu, dY2, NULL, dX, N, C, H, W, K, S);  // inference: no workspace
  test_check(gpu_same_bits(&gpu, dY, dY2, ny), "%-44s inference y identical", tag);

  gpu_free(dWS), gpu_free(dX), gpu_free(dDY), gpu_free(dY), gpu_free(dDX);
  gpu_free(dY2), gpu_free(dDX2);
  free(x), free(dy), free(y), free(dx), free(ws);
}

static void test_pool(void) {
  for (int ties = 0; ties < 2; ties++) {
    test_pool_case(2, 3, 8, 10, 2, 2, ties);   // VGG's 2x2/2
    test_pool_case(2, 3, 7, 9, 2, 2, ties);    // odd sizes: the last row and column unread
    test_pool_case(1, 4, 9, 11, 3, 2, ties);   // overlapping 3x3/2
    test_pool_case(2, 2, 6, 5, 3, 1, ties);    // 3x3/1: up to 9 windows an input
  }
  test_pool_case(1, 16, 256, 256, 2, 2, 0);    // VGG at 256 px: a large plane
}

int main(void) {
  gpu_test_begin("gpu_cudnn", &gpu, &cpu);
  test_conv();
  test_bn();
  test_pool();
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_cudnn");
}
