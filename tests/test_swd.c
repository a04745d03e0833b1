// test_swd.c: the sliced Wasserstein distance (src/metrics/swd.c) against an independent NumPy
// implementation (scripts/fixtures/fx_swd.py -> tests/fixtures/swd.h5) on the same inputs,
// neighbourhood centres and directions; then its properties: SWD(a, a) == 0, a different
// distribution farther than a second sample of the same one, invariance to the images' scale,
// reproducible draws, the sizes it refuses; and a planted bug (no normalization) must fail.
//
// The bound: both sides compute in double from the same float32 inputs; only the order of
// sums differs (the pyramid's 25 terms, the projections' 147, the normalization's mean and
// std over m * 49 = 100,352 values, the final mean over m * 512). Sorting is exact. The
// longest sum bounds the relative error by about K eps_double = 1.1e-11 at K = 100,352;
// check_scalar allows rtol (1 + sqrt(K)) = 3.2e-11 with rtol = 1e-13 and that K.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/swd.h"
#include "testlib.h"

#define RTOL_SWD 1e-13
#define K_SWD 100352.0

static int levels_fx;

// The fixture's images as the C test maps them: (float)(u / 127.5 - 1).
static float *fx_images(Fixture *fx, const char *name, int *n, int *h, int *w) {
  int shape[8], nd;
  size_t numel;
  float *x = fx_read(fx, name, &nd, shape, &numel);
  for (size_t i = 0; i < numel; i++) x[i] = (float)(x[i] / 127.5 - 1.0);
  *n = shape[0];
  *h = shape[2];
  *w = shape[3];
  return x;
}

static void against_numpy(void) {
  Fixture fx;
  fx_open(&fx, "swd.h5");
  int n, h, w, n2, h2, w2;
  float *real = fx_images(&fx, "swd/real", &n, &h, &w);
  float *fake = fx_images(&fx, "swd/fake", &n2, &h2, &w2);
  levels_fx = (int)fx_attr_int(&fx, "swd", "levels");
  int *patches[SWD_MAX_LEVELS] = {0};
  float *dirs[SWD_MAX_LEVELS] = {0};
  for (int l = 0; l < levels_fx; l++) {
    char name[64];
    size_t np;
    snprintf(name, sizeof name, "swd/patches%d", l);
    float *p = fx_read(&fx, name, NULL, NULL, &np);
    patches[l] = malloc(np * sizeof(int));
    for (size_t i = 0; i < np; i++) patches[l][i] = (int)p[i];
    free(p);
    snprintf(name, sizeof name, "swd/dirs%d", l);
    dirs[l] = fx_read(&fx, name, NULL, NULL, NULL);
  }
  double got[SWD_MAX_LEVELS], mean, bad[SWD_MAX_LEVELS], bad_mean;
  char err[256];
  int L = swd_compute_with(got, &mean, real, fake, n, h, w, (const int *const *)patches,
                           (const float *const *)dirs, 0, err, sizeof err);
  test_check(L == levels_fx, "levels of %dx%d: %d (NumPy %d)", h, w, L, levels_fx);
  double worst_bad = 0;
  int Lb = swd_compute_with(bad, &bad_mean, real, fake, n, h, w, (const int *const *)patches,
                            (const float *const *)dirs, SWD_PLANT_NO_NORMALIZE, err, sizeof err);
  for (int l = 0; l <= L && L == levels_fx && Lb == L; l++) {
    char what[80], key[32];
    snprintf(key, sizeof key, "want%d", l);
    double want = fx_attr_double(&fx, "swd", key), g = l < L ? got[l] : mean;
    snprintf(what, sizeof what, l < L ? "swd x1e3 level %d (%d px) vs NumPy" : "swd x1e3 mean vs NumPy",
             l, h >> l);
    check_scalar(what, g, want, K_SWD, RTOL_SWD);
    // The planted bug: without step 3 the values move far outside the bound ...
    double gb = l < L ? bad[l] : bad_mean;
    double e = fabs(gb - want) / ((1 + sqrt(K_SWD)) * fabs(want));
    if (e > worst_bad) worst_bad = e;
    // ... and are what NumPy computes without it (the fixture's model of the bug is right).
    snprintf(key, sizeof key, "want_nonorm%d", l);
    snprintf(what, sizeof what, l < L ? "  without normalization, level %d, vs NumPy" : "  without normalization, mean, vs NumPy", l);
    check_scalar(what, gb, fx_attr_double(&fx, "swd", key), K_SWD, RTOL_SWD);
  }
  check_planted("swd without the per-channel normalization", worst_bad, RTOL_SWD);
  for (int l = 0; l < levels_fx; l++) {
    free(patches[l]);
    free(dirs[l]);
  }
  free(real);
  free(fake);
  fx_close(&fx);
}

static void properties(void) {
  enum { N = 16, H = 64, W = 64 };
  size_t sz = (size_t)N * 3 * H * W;
  float *a = malloc(sz * sizeof(float)), *b = malloc(sz * sizeof(float));
  float *c = malloc(sz * sizeof(float)), *s = malloc(sz * sizeof(float));
  fill_uniform(a, sz, -1, 1, 1);
  fill_uniform(b, sz, -1, 1, 2);  // a second sample of the same distribution
    // Another distribution: the same values in 8x8 blocks (flat patches with edges).
  for (size_t i = 0; i < sz; i++) {
    size_t x = i % W, y = i / W % H, p = i / ((size_t)H * W);
    c[i] = b[(p * H + y / 8 * 8) * W + x / 8 * 8];
  }
  for (size_t i = 0; i < sz; i++) s[i] = (a[i] + 1) * 127.5f;   // a in [0, 255]
  double aa[SWD_MAX_LEVELS], ab[SWD_MAX_LEVELS], ac[SWD_MAX_LEVELS], sb[SWD_MAX_LEVELS],
      ab2[SWD_MAX_LEVELS], m_aa, m_ab, m_ac, m_sb, m_ab2;
  char err[256];
  int L = swd_compute(aa, &m_aa, a, a, N, H, W, 7, err, sizeof err);
  test_check(L == 3, "64x64: 3 levels (64, 32, 16): %d", L);
  int zero = m_aa == 0;
  for (int l = 0; l < L; l++) zero &= aa[l] == 0;
  test_check(zero, "SWD(a, a) == 0 exactly at every level (mean %g)", m_aa);
  swd_compute(ab, &m_ab, a, b, N, H, W, 7, err, sizeof err);
  swd_compute(ac, &m_ac, a, c, N, H, W, 7, err, sizeof err);
  for (int l = 0; l <= L; l++) {
    double x = l < L ? ab[l] : m_ab, y = l < L ? ac[l] : m_ac;
    test_check(y > x && x > 0, "%s %d: SWD(uniform, 8x8 blocks) %.2f > SWD(uniform, uniform') %.2f",
               l < L ? "level" : "mean over levels", l < L ? H >> l : L, y, x);
  }
  swd_compute(sb, &m_sb, s, b, N, H, W, 7, err, sizeof err);
  for (int l = 0; l < L; l++)
    // (a + 1) 127.5 rounds each pixel once in float: a relative change of 6e-8 at most.
    check_scalar("[0, 255] images give the [-1, 1] distance", sb[l], ab[l], K_SWD, 1e-6);
  swd_compute(ab2, &m_ab2, a, b, N, H, W, 7, err, sizeof err);
  test_check(memcmp(ab, ab2, sizeof(double) * L) == 0, "the same seed gives the same bits");
  swd_compute(ab2, &m_ab2, a, b, N, H, W, 8, err, sizeof err);
  test_check(m_ab2 != m_ab && fabs(m_ab2 - m_ab) < 0.2 * m_ab,
             "another seed: another, close estimate (%.3f vs %.3f)", m_ab2, m_ab);
  free(a);
  free(b);
  free(c);
  free(s);
}

static void sizes(void) {
  const int hw[][3] = {{64, 64, 3}, {32, 32, 2}, {16, 16, 1}, {48, 48, 2}, {40, 64, 2},
                       {50, 50, 2}, {15, 64, -1}, {64, 8, -1}, {33, 33, -1}, {96, 66, -1}};
  for (size_t i = 0; i < sizeof hw / sizeof *hw; i++) {
    char err[256] = "";
    int L = swd_levels(hw[i][0], hw[i][1], err, sizeof err);
    test_check(L == hw[i][2], "swd_levels(%d, %d) = %d (want %d) %s", hw[i][0], hw[i][1], L,
               hw[i][2], err);
  }
}

int main(void) {
  against_numpy();
  properties();
  sizes();
  return test_finish("swd");
}
