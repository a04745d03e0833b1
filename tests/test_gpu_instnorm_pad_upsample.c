// test_gpu_instnorm_pad_upsample.c (label gpu): fast neural style's ops (issue 23), the CUDA
// InstanceNorm2d, ReflectionPad2d and nearest upsampling against the CPU ops on the same random
// inputs, forward and backward. Bounds (testlib's rule):
//   instance norm y and dx: 1e-5 with K = H W, the values behind each; save_mean, save_var,
//     dweight and dbias: 1e-5 with K = 1 (sums in double on both devices, rounded to float once,
//     then added to a float for the gradients), so a value left out of a plane's sums fails;
//   padding and upsampling, y and dx: exact (rtol 0): copies, and the same float sums of the
//     same terms in the same order on both devices.
// Device outputs start as NaN (an element a kernel never writes fails); the parameter gradients
// start at the same non-zero values on both sides (a written-instead-of-added gradient fails);
// planes are larger than one block's pass, and odd; in place and a second call must give the
// same bits.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpulib.h"
#include "ops/instancenorm.h"
#include "ops/reflection_pad.h"
#include "ops/upsample.h"
#include "testlib.h"

static Ctx gpu, cpu;
static uint64_t seed = 300;

static float *rnd(size_t n, float lo, float hi) { return uniform_floats(n, lo, hi, seed++); }

static void cmp(const char *tag, const char *name, const float *dev, const float *want, size_t n,
                double K, double rtol) {
  char what[160];
  snprintf(what, sizeof what, "%.127s %.15s", tag, name);
  gpu_check_close(&gpu, what, dev, want, n, K, rtol);
}

// ---- InstanceNorm2d

static void test_in_case(int N, int C, int H, int W, int affine, float offset) {
  const float eps = 1e-5f;
  size_t hw = (size_t)H * W, n = (size_t)N * C * hw, P = (size_t)N * C;
  float *x = rnd(n, -2, 2), *dy = rnd(n, -1, 1), *w = rnd(C, 0.5f, 1.5f), *b = rnd(C, -1, 1);
  float *dw0 = rnd(C, -1, 1), *db0 = rnd(C, -1, 1);
  for (size_t i = 0; i < n; i++) x[i] += offset * (float)((i / hw) % 3);  // offsets per plane
  const float *wp = affine ? w : NULL, *bp = affine ? b : NULL;
  float *y = malloc(n * 4), *dx = malloc(n * 4), *sm = malloc(P * 4), *sv = malloc(P * 4);
  float *dw = copy_floats(dw0, C), *db = copy_floats(db0, C);
  instancenorm_forward(&cpu, y, sm, sv, x, wp, bp, N, C, H, W, eps);
  instancenorm_backward(&cpu, dx, affine ? dw : NULL, affine ? db : NULL, dy, x, sm, sv, wp, N, C,
                        H, W, eps);

  float *dX = gpu_upload(&gpu, x, n), *dDY = gpu_upload(&gpu, dy, n);
  float *dW = gpu_upload(&gpu, w, C), *dB = gpu_upload(&gpu, b, C);
  float *dY = gpu_nan(&gpu, n), *dDX = gpu_nan(&gpu, n), *dSM = gpu_nan(&gpu, P);
  float *dSV = gpu_nan(&gpu, P), *dDW = gpu_upload(&gpu, dw0, C), *dDB = gpu_upload(&gpu, db0, C);
  instancenorm_forward(&gpu, dY, dSM, dSV, dX, affine ? dW : NULL, affine ? dB : NULL, N, C, H, W,
                       eps);
  instancenorm_backward(&gpu, dDX, affine ? dDW : NULL, affine ? dDB : NULL, dDY, dX, dSM, dSV,
                        affine ? dW : NULL, N, C, H, W, eps);
  char tag[128];
  snprintf(tag, sizeof tag, "instnorm (%d,%d,%d,%d)%s offset %g", N, C, H, W,
           affine ? " affine" : "", (double)offset);
  cmp(tag, "y", dY, y, n, (double)hw, 1e-5);
  cmp(tag, "save_mean", dSM, sm, P, 1, 1e-5);
  cmp(tag, "save_var", dSV, sv, P, 1, 1e-5);
  cmp(tag, "dx", dDX, dx, n, (double)hw, 1e-5);
  if (affine) {
    cmp(tag, "dweight (+=)", dDW, dw, C, 1, 1e-5);
    cmp(tag, "dbias (+=)", dDB, db, C, 1, 1e-5);
  }
  // Again in place (y = x): the same bits; backward again: the same dx.
  float *dY2 = gpu_upload(&gpu, x, n), *dDX2 = gpu_nan(&gpu, n);
  instancenorm_forward(&gpu, dY2, dSM, dSV, dY2, affine ? dW : NULL, affine ? dB : NULL, N, C, H,
                       W, eps);
  instancenorm_backward(&gpu, dDX2, NULL, NULL, dDY, dX, dSM, dSV, affine ? dW : NULL, N, C, H, W,
                        eps);
  test_check(gpu_same_bits(&gpu, dY, dY2, n) && gpu_same_bits(&gpu, dDX, dDX2, n),
             "%-44s in place, second call identical", tag);
  gpu_free(dX), gpu_free(dDY), gpu_free(dW), gpu_free(dB), gpu_free(dY), gpu_free(dDX);
  gpu_free(dSM), gpu_free(dSV), gpu_free(dDW), gpu_free(dDB), gpu_free(dY2), gpu_free(dDX2);
  free(x), free(dy), free(w), free(b), free(dw0), free(db0);
  free(y), free(dx), free(sm), free(sv), free(dw), free(db);
}

static void test_in(void) {
  test_in_case(4, 5, 7, 3, 1, 0.0f);      // small odd planes (fewer values than threads)
  test_in_case(3, 4, 5, 6, 1, 1000.0f);   // large offsets: the two-pass statistics in double
  test_in_case(4, 32, 67, 61, 1, 0.5f);   // fast style's first block at a small image
  test_in_case(2, 3, 1, 2, 1, 0.0f);      // two values a plane
  test_in_case(3, 2, 9, 8, 0, 0.0f);      // no weight or bias
}

// ---- ReflectionPad2d and nearest upsampling: exact.

static void test_pad_case(int N, int C, int H, int W, int pad) {
  size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * (H + 2 * pad) * (W + 2 * pad);
  float *x = rnd(nx, -1, 1), *dy = rnd(ny, -1, 1), *y = malloc(ny * 4), *dx = malloc(nx * 4);
  reflection_pad2d_forward(&cpu, y, x, N, C, H, W, pad);
  reflection_pad2d_backward(&cpu, dx, dy, N, C, H, W, pad);
  float *dX = gpu_upload(&gpu, x, nx), *dDY = gpu_upload(&gpu, dy, ny);
  float *dY = gpu_nan(&gpu, ny), *dDX = gpu_nan(&gpu, nx);
  reflection_pad2d_forward(&gpu, dY, dX, N, C, H, W, pad);
  reflection_pad2d_backward(&gpu, dDX, dDY, N, C, H, W, pad);
  char tag[96];
  snprintf(tag, sizeof tag, "reflpad %dx%dx%dx%d pad %d", N, C, H, W, pad);
  cmp(tag, "y", dY, y, ny, 1, 0.0);
  cmp(tag, "dx", dDX, dx, nx, 9, 0.0);
  gpu_free(dX), gpu_free(dDY), gpu_free(dY), gpu_free(dDX);
  free(x), free(dy), free(y), free(dx);
}

static void test_up_case(int N, int C, int H, int W, int s) {
  size_t nx = (size_t)N * C * H * W, ny = nx * s * s;
  float *x = rnd(nx, -1, 1), *dy = rnd(ny, -1, 1), *y = malloc(ny * 4), *dx = malloc(nx * 4);
  upsample_nearest2d_forward(&cpu, y, x, N, C, H, W, s);
  upsample_nearest2d_backward(&cpu, dx, dy, N, C, H, W, s);
  float *dX = gpu_upload(&gpu, x, nx), *dDY = gpu_upload(&gpu, dy, ny);
  float *dY = gpu_nan(&gpu, ny), *dDX = gpu_nan(&gpu, nx);
  upsample_nearest2d_forward(&gpu, dY, dX, N, C, H, W, s);
  upsample_nearest2d_backward(&gpu, dDX, dDY, N, C, H, W, s);
  char tag[96];
  snprintf(tag, sizeof tag, "upsample %dx%dx%dx%d scale %d", N, C, H, W, s);
  cmp(tag, "y", dY, y, ny, 1, 0.0);
  cmp(tag, "dx", dDX, dx, nx, (double)s * s, 0.0);
  gpu_free(dX), gpu_free(dDY), gpu_free(dY), gpu_free(dDX);
  free(x), free(dy), free(y), free(dx);
}

int main(void) {
  gpu_test_begin("gpu_instnorm_pad_upsample", &gpu, &cpu);
  test_in();
  test_pad_case(2, 3, 7, 9, 1);
  test_pad_case(1, 2, 3, 3, 2);      // pad = size - 1: up to 9 outputs per input
  test_pad_case(4, 3, 67, 61, 4);    // fast style's 9x9 convolutions' padding
  test_pad_case(2, 2, 5, 4, 0);
  test_up_case(2, 3, 5, 7, 2);
  test_up_case(1, 2, 4, 3, 3);
  test_up_case(4, 64, 33, 31, 2);    // fast style's first upsampling at a small image
  gpu_test_end(&gpu, &cpu);
  return test_finish("gpu_instnorm_pad_upsample");
}
