// testlib.c: fixtures, comparisons and finite differences for the tests.
#include "testlib.h"

#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"

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

int fx_read_params(Fixture *fx, const char *grp, Params *p) {
  for (int i = 0; i < p->n; i++) {
    char k[160];
    size_t n;
    snprintf(k, sizeof k, "%s/%s", grp, p->info[i].name);
    float *x = fx_read(fx, k, NULL, NULL, &n);
    if (n != p->info[i].numel) genet_die("%s: %s holds %zu floats, the tensor %zu", fx->path, k, n, p->info[i].numel);
    memcpy(p->data + p->info[i].offset, x, n * sizeof(float));
    free(x);
  }
  return p->n;
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

// ---- Why the comparison rule holds on any x86-64 (or other IEEE) machine.
// Float32 rounds each operation with a relative error of at most u = 2^-24 = 6e-8. What
// changes from one machine to the next (oneDNN's ISA, OpenBLAS's kernel, the thread count)
// is the ORDER of the additions in every sum, not their number: so a bound may depend on
// the length of a sum but never on the order. An element-wise result is off by a few u |want|:
// the rtol |want| term. A sum of K products, s = sum_k a_k b_k, in any order, is off by at most
// K u sum_k |a_k b_k| (the classic worst case); with rounding errors of either sign, as they
// are, the error is a random walk of K steps, each at most u times a partial sum: about
// u sqrt(K) max_k |partial sum_k|. The partial sums are of the size of the results, bounded
// by max_j |want_j| over the tensor: the atol = rtol sqrt(K) max|want| term. For a chain of
// layers the errors of the layers are independent and add in quadrature, so K is the sum of
// the layers' lengths along the path (a network that amplifies errors more than it shrinks
// them would need more; the models' measured worst, printed, shows where each stands).
// genet and the reference (PyTorch, float32) each carry such an error, and over thousands of
// elements the tail reaches several standard deviations: rtol = 1.3e-6, about 22 u (PyTorch's
// own float32 default), leaves room for both. A real bug (a wrong index, a missing term, a
// transposed weight) moves an element by O(max|want|), an error of O(1 / sqrt(K)) in these
// units: four to five orders above the bound for K up to 10^4.
double close_err(const float *got, const float *want, size_t n, double K, size_t *where) {
  double scale = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)want[i]));
  double floor = sqrt(K) * scale, worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    double e = d == 0 ? 0 : d / (fabs((double)want[i]) + floor);  // equal (zeros too): 0
    if (!(e <= worst)) {  // NaN counts as worst
      worst = isnan(e) ? INFINITY : e;
      wi = i;
    }
  }
  if (where) *where = wi;
  return worst;
}

int check_close(const char *what, const float *got, const float *want, size_t n, double K,
                double rtol) {
  size_t wi = 0;
  double e = close_err(got, want, n, K, &wi);
  int ok = e <= rtol;
  test_check(ok, "%-44s worst err %.2e at [%zu] (got %.7g, want %.7g; K %.0f, bound %.1e)", what,
             e, wi, n ? got[wi] : 0.0, n ? want[wi] : 0.0, K, rtol);
  return ok;
}

int check_scalar(const char *what, double got, double want, double K, double rtol) {
  double d = fabs(got - want), e = d == 0 ? 0 : d / ((1 + sqrt(K)) * fabs(want));
  if (isnan(e)) e = INFINITY;
  test_check(e <= rtol, "%-44s worst err %.2e (got %.9g, want %.9g; K %.0f, bound %.1e)", what, e,
             got, want, K, rtol);
  return e <= rtol;
}

// ---- Finite differences: fd_i = (L(x + h e_i) - L(x - h e_i)) / 2h, L in double from a
// float32 forward. fd_i - g_i = h^2 L'''/6 (truncation: zero when L is linear or quadratic in
// x_i, so such tests take a large h) + dL / h (rounding: dL, the float32 error of the forward
// in L, is about u sqrt(K) sum|terms of L| and changes with the machine like any sum above).
// Neither term scales with g_i, so a coordinate whose gradient happens to be 1e-6 has no
// tighter error than one of 1e-2: each is judged against the gradient's scale S = max|g| over
// the tensor, err = |fd_i - g_i| / S. A test picks h to keep both terms well below its bound
// (the worst over ISAs and thread counts is printed), while a wrong gradient (a sign, a
// transposed weight, a missing term) moves coordinates by a fraction of S and fails by a wide
// margin (the planted-bug checks print how wide).
double gradcheck_worst(LossFn loss, void *arg, float *x, const float *analytic, size_t n,
                       double h, int samples, size_t *where, double *fd_at_where) {
  size_t count = n <= (size_t)samples ? n : (size_t)samples;
  size_t *idx = xmalloc(sizeof(size_t) * count);
  Rng r;
  rng_init(&r, 12345, n);
  for (size_t k = 0; k < count; k++) idx[k] = n <= (size_t)samples ? k : rng_u32(&r) % n;
  double S = 0;
  for (size_t i = 0; i < n; i++) S = fmax(S, fabs((double)analytic[i]));
  double worst = 0;
  size_t wi = 0;
  double wfd = 0;
  for (size_t k = 0; k < count; k++) {
    size_t i = idx[k];
    float x0 = x[i];
    x[i] = (float)(x0 + h);
    double hi = (double)x[i];
    double lp = loss(arg);
    x[i] = (float)(x0 - h);
    double lo = (double)x[i];
    double lm = loss(arg);
    x[i] = x0;
    double fd = (lp - lm) / (hi - lo);  // the step actually taken after rounding to float
    double d = fabs(fd - analytic[i]), e = d == 0 ? 0 : d / S;
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
                 size_t n, double h, int samples, double tol) {
  size_t wi;
  double wfd;
  double worst = gradcheck_worst(loss, arg, x, analytic, n, h, samples, &wi, &wfd);
  size_t count = n <= (size_t)samples ? n : (size_t)samples;
  double S = 0;
  for (size_t i = 0; i < n; i++) S = fmax(S, fabs((double)analytic[i]));
  test_check(worst <= tol,
             "%-44s finite-diff worst err %.2e at [%zu] (fd %.6g, analytic %.6g; max|g| %.3g, "
             "%zu coords, h %.0e, bound %.0e)",
             what, worst, wi, wfd, (double)analytic[wi], S, count, h, tol);
  return worst;
}

int check_planted(const char *what, double worst, double bound) {
  int ok = worst > bound;
  test_check(ok, "%-44s planted bug caught: worst err %.2e = %.3gx the bound %.1e", what, worst,
             worst / bound, bound);
  return ok;
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

float *uniform_floats(size_t n, float lo, float hi, uint64_t seed) {
  float *x = xmalloc(n * sizeof(float) + 4);
  fill_uniform(x, n, lo, hi, seed);
  return x;
}

float *copy_floats(const float *x, size_t n) {
  float *y = xmalloc(n * sizeof(float) + 4);
  memcpy(y, x, n * sizeof(float));
  return y;
}
