// testlib.h: what the tests share: PyTorch fixtures (HDF5), comparisons that print the worst
// error, and central finite-difference gradient checks.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

// ---- reporting: every check prints one line; tests end with test_finish() as exit code.
extern int test_failures;
void test_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int test_finish(const char *suite);  // prints "N passed, M failed" and returns the exit code

// ---- fixtures written by scripts/make_fixtures.py into tests/fixtures/*.h5
typedef struct {
  long long fid;   // hid_t
  char path[512];
} Fixture;
void fx_open(Fixture *fx, const char *file);  // file relative to tests/fixtures
void fx_close(Fixture *fx);
int fx_exists(Fixture *fx, const char *name);
// Reads a float32 dataset; returns malloc'd data; shape/ndim out (shape may be NULL).
float *fx_read(Fixture *fx, const char *name, int *ndim, int shape[8], size_t *numel);
long long fx_attr_int(Fixture *fx, const char *obj, const char *attr);
double fx_attr_double(Fixture *fx, const char *obj, const char *attr);

// ---- comparison: rel_i = |got_i - want_i| / (|want_i| + 1e-2 * max_j |want_j|).
// Prints the worst rel and index; returns 1 when worst <= tol.
int check_close(const char *what, const float *got, const float *want, size_t n, double tol);
double max_rel_err(const float *got, const float *want, size_t n, size_t *where);

// ---- finite differences.
// loss(x) for the current contents of x (the function may read other state through ctx_arg).
typedef double (*LossFn)(void *arg);
// Checks analytic[i] == dL/dx[i] at up to `samples` coordinates (all if n <= samples) by
// central differences with step eps (in double, on float x). Returns the worst relative error
// |fd - an| / (|fd| + |an| + floor), floor = 1e-2 * max|analytic| over the checked set (float32 forward passes leave
// noise of about ulp(loss)/eps in every difference).
double gradcheck(const char *what, LossFn loss, void *arg, float *x, const float *analytic,
                 size_t n, double eps, int samples, double tol);
// The same measurement without printing or counting (for tests that expect a failure).
double gradcheck_worst(LossFn loss, void *arg, float *x, const float *analytic, size_t n,
                       double eps, int samples, size_t *where, double *fd_at_where);

// A dot product in double, used to turn an output into a scalar loss: sum(y * r).
double dot_d(const float *a, const float *b, size_t n);
// Fills with uniform(lo, hi) from a fixed test stream.
void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed);
