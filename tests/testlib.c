// testlib.c: fixtures, comparisons and finite differences for the tests.
#include "testlib.h"

#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "util.h"

int test_failures = 0;
static int test_passes = 0;

void test_check(int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s ", ok ? "ok  " : "FAIL");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  if (ok) test_passes++;
  else test_failures++;
}

int test_finish(const char *suite) {
  printf("%s: %d passed, %d failed\n", suite, test_passes, test_failures);
  return test_failures ? 1 : 0;
}

void fx_open(Fixture *fx, const char *file) {
  snprintf(fx->path, sizeof fx->path, "%s/%s", GENET_FIXTURES, file);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  fx->fid = H5Fopen(fx->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (fx->fid < 0) genet_die("%s: cannot open fixture (run scripts/make_fixtures.py)", fx->path);
}

void fx_close(Fixture *fx) { H5Fclose((hid_t)fx->fid); }

int fx_exists(Fixture *fx, const char *name) {
  return H5Lexists((hid_t)fx->fid, name, H5P_DEFAULT) > 0;
}

float *fx_read(Fixture *fx, const char *name, int *ndim, int shape[8], size_t *numel) {
  hid_t d = H5Dopen2((hid_t)fx->fid, name, H5P_DEFAULT);
  if (d < 0) genet_die("%s: fixture has no dataset %s", fx->path, name);
  hid_t s = H5Dget_space(d);
  hsize_t dims[8];
  int nd = H5Sget_simple_extent_ndims(s);
  GENET_ASSERT(nd >= 0 && nd <= 8);
  H5Sget_simple_extent_dims(s, dims, NULL);
  size_t n = 1;
  for (int i = 0; i < nd; i++) {
    n *= (size_t)dims[i];
    if (shape) shape[i] = (int)dims[i];
  }
  float *x = xmalloc_floats(n);
  H5_CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x));
  H5Sclose(s);
  H5Dclose(d);
  if (ndim) *ndim = nd;
  if (numel) *numel = n;
  return x;
}

static hid_t open_attr(Fixture *fx, const char *obj, const char *attr) {
  hid_t a = H5Aopen_by_name((hid_t)fx->fid, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) genet_die("%s: fixture object %s has no attribute %s", fx->path, obj, attr);
  return a;
}

long long fx_attr_int(Fixture *fx, const char *obj, const char *attr) {
  hid_t a = open_attr(fx, obj, attr);
  long long v = 0;
  H5_CHECK(H5Aread(a, H5T_NATIVE_LLONG, &v));
  H5Aclose(a);
  return v;
}

double fx_attr_double(Fixture *fx, const char *obj, const char *attr) {
  hid_t a = open_attr(fx, obj, attr);
  double v = 0;
  H5_CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, &v));
  H5Aclose(a);
  return v;
}

double max_rel_err(const float *got, const float *want, size_t n, size_t *where) {
  double scale = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)want[i]));
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)got[i] - want[i]) / (fabs((double)want[i]) + 1e-2 * scale + 1e-30);
    if (!(e <= worst)) {  // NaN counts as worst
      worst = isnan(e) ? INFINITY : e;
      wi = i;
    }
  }
  if (where) *where = wi;
  return worst;
}

int check_close(const char *what, const float *got, const float *want, size_t n, double tol) {
  size_t wi = 0;
  double e = max_rel_err(got, want, n, &wi);
  int ok = e <= tol;
  test_check(ok, "%-44s worst rel err %.2e at [%zu] (got %.7g, want %.7g; bound %.0e)", what, e,
             wi, n ? got[wi] : 0.0, n ? want[wi] : 0.0, tol);
  return ok;
}

double gradcheck_worst(LossFn loss, void *arg, float *x, const float *analytic, size_t n,
                       double eps, int samples, size_t *where, double *fd_at_where) {
  size_t count = n <= (size_t)samples ? n : (size_t)samples;
  size_t *idx = xmalloc(sizeof(size_t) * count);
  Rng r;
  rng_init(&r, 12345, n);
  for (size_t k = 0; k < count; k++) idx[k] = n <= (size_t)samples ? k : rng_u32(&r) % n;
  double amax = 0;
  for (size_t k = 0; k < count; k++) amax = fmax(amax, fabs((double)analytic[idx[k]]));
  double floor = 1e-2 * amax + 1e-12, worst = 0;
  size_t wi = 0;
  double wfd = 0;
  for (size_t k = 0; k < count; k++) {
    size_t i = idx[k];
    float x0 = x[i];
    x[i] = (float)(x0 + eps);
    double hi = (double)x[i];
    double lp = loss(arg);
    x[i] = (float)(x0 - eps);
    double lo = (double)x[i];
    double lm = loss(arg);
    x[i] = x0;
    double fd = (lp - lm) / (hi - lo);  // the step actually taken after rounding to float
    double e = fabs(fd - analytic[i]) / (fabs(fd) + fabs((double)analytic[i]) + floor);
    if (!(e <= worst)) {
      worst = isnan(e) ? INFINITY : e;
      wi = i;
      wfd = fd;
    }
  }
  free(idx);
  *where = wi;
  *fd_at_where = wfd;
  return worst;
}

double gradcheck(const char *what, LossFn loss, void *arg, float *x, const float *analytic,
                 size_t n, double eps, int samples, double tol) {
  size_t wi;
  double wfd;
  double worst = gradcheck_worst(loss, arg, x, analytic, n, eps, samples, &wi, &wfd);
  size_t count = n <= (size_t)samples ? n : (size_t)samples;
  test_check(worst <= tol, "%-44s finite-diff worst rel err %.2e at [%zu] (fd %.6g, analytic %.6g; %zu coords, bound %.0e)",
             what, worst, wi, wfd, (double)analytic[wi], count, tol);
  return worst;
}

double dot_d(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed) {
  Rng r;
  rng_init(&r, seed, 777);
  rng_fill_uniform(&r, x, n, lo, hi);
}
