// h5cmp A.h5 B.h5 TOL NAME...: compares float datasets of two HDF5 files (checkpoints of two
// runs). TOL 0 demands bitwise equality; otherwise testlib's relative bound (errors relative
// to max(|want|, 1e-2 * max|want|)). Prints the worst error of each and exits 1 on a mismatch.
// Used by the shell tests that compare runs (resume, world sizes).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"
#include "testlib.h"
#include "util.h"

static float *read_all(H5File *f, const char *name, int64_t *dims, int *nd, size_t *n) {
  char err[600];
  *nd = h5_shape(f, name, dims, 8, err, sizeof err);
  if (*nd < 0) {
    fprintf(stderr, "h5cmp: %s\n", err);
    exit(1);
  }
  *n = 1;
  for (int i = 0; i < *nd; i++) *n *= (size_t)dims[i];
  float *x = xmalloc_floats(*n ? *n : 1);
  if (h5_read_f32(f, name, x, *nd, dims, err, sizeof err)) {
    fprintf(stderr, "h5cmp: %s\n", err);
    exit(1);
  }
  return x;
}

// A scalar dataset (integer or float) as a double; 0 when the dataset is not a scalar.
static int read_scalar(H5File *f, const char *name, double *v) {
  char err[600];
  int64_t dims[8], i;
  if (h5_shape(f, name, dims, 8, err, sizeof err) != 0) return 0;
  if (h5_read_scalar_f64(f, name, v, err, sizeof err) == 0) return 1;
  if (h5_read_scalar_i64(f, name, &i, err, sizeof err) == 0) {
    *v = (double)i;
    return 1;
  }
  fprintf(stderr, "h5cmp: %s\n", err);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: h5cmp A.h5 B.h5 TOL NAME...\n");
    return 2;
  }
  H5File a, b;
  char err[600];
  if (h5_open_read(&a, argv[1], err, sizeof err) || h5_open_read(&b, argv[2], err, sizeof err)) {
    fprintf(stderr, "h5cmp: %s\n", err);
    return 1;
  }
  double tol = atof(argv[3]);
  int bad = 0;
  for (int i = 4; i < argc; i++) {
    double sa, sb;
    if (read_scalar(&a, argv[i], &sa) && read_scalar(&b, argv[i], &sb)) {  // loop state
      int same = memcmp(&sa, &sb, sizeof sa) == 0;
      printf("%s: %s (%.17g, %.17g)\n", argv[i], same ? "equal" : "DIFFERS", sa, sb);
      bad |= !same;
      continue;
    }
    int64_t da[8], db[8];
    int na, nb;
    size_t n, m;
    float *x = read_all(&a, argv[i], da, &na, &n), *y = read_all(&b, argv[i], db, &nb, &m);
    if (na != nb || n != m) {
      printf("%s: shapes differ\n", argv[i]);
      bad = 1;
    } else if (tol == 0) {
      int same = memcmp(x, y, sizeof(float) * n) == 0;
      printf("%s: %s\n", argv[i], same ? "bitwise equal" : "DIFFERS");
      bad |= !same;
    } else {
      bad |= !check_close(argv[i], x, y, n, tol);
    }
    free(x);
    free(y);
  }
  h5_close(&a, err, sizeof err);
  h5_close(&b, err, sizeof err);
  return bad;
}
