// test_dropout.c: the keep rate, the scale, independence of the thread count, and backward.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "ops/dropout.h"
#include "testlib.h"

int main(void) {
  Ctx ctx;
  ctx_init(&ctx, DEV_CPU, 0);
  const size_t n = 400000;
  const float p = 0.2f;
  float *x = malloc(n * 4), *y = malloc(n * 4), *m = malloc(n * 4), *m1 = malloc(n * 4);
  fill_uniform(x, n, 0.5f, 1.5f, 1);
  Rng r;
  rng_init(&r, 5, 0);
  dropout_forward(&ctx, y, m, x, n, p, &r);
  size_t kept = 0;
  int scale_ok = 1, y_ok = 1;
  for (size_t i = 0; i < n; i++) {
    kept += m[i] != 0.0f;
    scale_ok &= m[i] == 0.0f || m[i] == 1.0f / (1.0f - p);
    y_ok &= y[i] == x[i] * m[i];
  }
  double rate = (double)kept / n, se = sqrt(0.8 * 0.2 / n);
  test_check(fabs(rate - 0.8) < 5 * se, "keep rate %.4f for p = 0.2 (within 5 standard errors %.4f)", rate, 5 * se);
  test_check(scale_ok && y_ok, "kept elements scaled by 1/(1-p), dropped ones zero");

  // One thread gives the same mask as two.
  Rng r1;
  rng_init(&r1, 5, 0);
  int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  dropout_forward(&ctx, y, m1, x, n, p, &r1);
  omp_set_num_threads(saved);
  test_check(memcmp(m, m1, n * 4) == 0, "mask independent of the thread count");
  test_check(r.counter == r1.counter, "stream advanced by the same amount");
  // The next mask differs (the stream moved on).
  dropout_forward(&ctx, y, m1, x, n, p, &r1);
  test_check(memcmp(m, m1, n * 4) != 0, "consecutive masks differ");

  // Backward is the same mask: check against dy * mask computed here.
  float *dy = malloc(n * 4), *dx = malloc(n * 4);
  fill_uniform(dy, n, -1, 1, 2);
  dropout_backward(&ctx, dx, dy, m, n);
  int bw = 1;
  for (size_t i = 0; i < n; i++) bw &= dx[i] == dy[i] * m[i];
  test_check(bw, "backward multiplies by the saved mask");

  // Columns split among "ranks": (T, Bg, D) = (7, 10, 33) cut at columns 0, 3, 4, 10; each part
  // drawn with dropout_forward_cols from the same stream state gives the whole tensor's mask.
  {
    enum { T = 7, BG = 10, D = 33 };
    const int cut[4] = {0, 3, 4, 10};
    size_t nt = (size_t)T * BG * D;
    float *whole = malloc(nt * 4), *part = malloc(nt * 4), *yp = malloc(nt * 4);
    Rng a, b;
    rng_init(&a, 9, 3);
    dropout_forward(&ctx, yp, whole, x, nt, 0.3f, &a);
    int same = 1;
    uint64_t after = 0;
    for (int k = 0; k < 3; k++) {
      int b0 = cut[k], B = cut[k + 1] - cut[k];
      rng_init(&b, 9, 3);
      dropout_forward_cols(&ctx, yp, part, x, T, B, BG, b0, D, 0.3f, &b);
      after = b.counter;
      for (int t = 0; t < T; t++)
        same &= memcmp(part + (size_t)t * B * D, whole + ((size_t)t * BG + b0) * D, sizeof(float) * B * D) == 0;
    }
    test_check(same && after == a.counter,
               "column slices [0,3) [3,4) [4,10) of a (7, 10, 33) tensor get the whole tensor's masks; "
               "the stream moves as for the whole");
    free(whole); free(part); free(yp);
  }
  free(x); free(y); free(m); free(m1); free(dy); free(dx);
  ctx_free(&ctx);
  return test_finish("dropout");
}
