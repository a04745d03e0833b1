// testlib.h: what the tests share: PyTorch fixtures (HDF5), comparisons that print the worst
// error against its bound (one rule, below), and central finite-difference gradient checks.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"
#include "core/params.h"

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
// Copies every tensor of p from fixture group `grp` (datasets named GRP/<state_dict name>, each
// of the tensor's size); returns how many tensors were read.
int fx_read_params(Fixture *fx, const char *grp, Params *p);
long long fx_attr_int(Fixture *fx, const char *obj, const char *attr);
double fx_attr_double(Fixture *fx, const char *obj, const char *attr);

// ---- The comparison rule, written once (derivation in testlib.c). Element i passes when
//     |got_i - want_i| <= rtol * (|want_i| + sqrt(K) * max_j |want_j|),
// PyTorch's assert_close rule atol + rtol |want| with atol = rtol sqrt(K) max|want|: K is the
// length of the longest sum of products that feeds one element (1 for element-wise results;
// for a chain of layers the sum of the layers' lengths). rtol 0 demands exact equality.
#define RTOL_F32 1.3e-6  // PyTorch's float32 default rtol, about 22 float32 ulps
// The worst of |got_i - want_i| / (|want_i| + sqrt(K) max|want|) (NaN counts as infinite):
// a check passes when this is <= rtol.
double close_err(const float *got, const float *want, size_t n, double K, size_t *where);
// Prints one line (worst error, where, the values there, K and the bound); returns 1 on a pass.
int check_close(const char *what, const float *got, const float *want, size_t n, double K,
                double rtol);
// A scalar computed in double by the caller (a loss, a norm), by the same rule.
int check_scalar(const char *what, double got, double want, double K, double rtol);

// ---- finite differences.
// loss(x) for the current contents of x (the function may read other state through ctx_arg).
typedef double (*LossFn)(void *arg);
// Checks analytic[i] == dL/dx[i] at up to `samples` coordinates (all if n <= samples) by
// central differences with step h (in double, on float x). The error of a coordinate is
// judged against the gradient's scale, not its own value: the worst of
//     |fd_i - analytic_i| / max_j |analytic_j|   (j over the whole tensor)
// must stay <= tol (why, and how to pick h: testlib.c). Returns that worst error.
double gradcheck(const char *what, LossFn loss, void *arg, float *x, const float *analytic,
                 size_t n, double h, int samples, double tol);
// The same measurement without printing or counting (for tests that expect a failure).
double gradcheck_worst(LossFn loss, void *arg, float *x, const float *analytic, size_t n,
                       double h, int samples, size_t *where, double *fd_at_where);
// A planted bug (a deliberately wrong result) must fail its check: passes when worst > bound
// and prints by how much (the margin between a real bug and the bound).
int check_planted(const char *what, double worst, double bound);

// A dot product in double, used to turn an output into a scalar loss: sum(y * r).
double dot_d(const float *a, const float *b, size_t n);
// Fills with uniform(lo, hi) from a fixed test stream.
void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed);
// The same into a new buffer (free it), and a new copy of x (n floats).
float *uniform_floats(size_t n, float lo, float hi, uint64_t seed);
float *copy_floats(const float *x, size_t n);
