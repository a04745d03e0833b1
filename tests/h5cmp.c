// h5cmp A.h5 B.h5 TOL NAME...: compares datasets of two HDF5 files (checkpoints of two runs);
// a NAME that is a group stands for every dataset under it (in A). TOL 0 demands bitwise
// equality; otherwise TOL is the rtol of testlib's rule with K = 1, |a - b| <= TOL (|b| +
// max|b|): the runs compared differ in the order of their sums, each script states how much
// that may move a weight. Prints the worst error of each and exits 1 on a mismatch.
// Used by the shell tests that compare runs (resume, world sizes).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "data/h5io.h"
#include "testlib.h"
#include "core/util.h"

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

// Every dataset under group `g` of f, as full paths, appended to names.
typedef struct {
  char **v;
  int n;
  const char *prefix;
} NameList;

static herr_t collect(hid_t obj, const char *name, const H5O_info_t *info, void *arg) {
  (void)obj;
  NameList *l = arg;
  if (info->type != H5O_TYPE_DATASET) return 0;
  l->v = xrealloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
  size_t len = strlen(l->prefix) + strlen(name) + 2;
  l->v[l->n] = xmalloc(len);
  snprintf(l->v[l->n++], len, "%s/%s", l->prefix, name);
  return 0;
}

static void expand(H5File *f, const char *name, NameList *out) {
  H5O_info_t info;
  if (H5Oget_info_by_name((hid_t)f->id, name, &info, H5P_DEFAULT) < 0) {
    fprintf(stderr, "h5cmp: %s: no object %s\n", f->path, name);
    exit(1);
  }
  if (info.type != H5O_TYPE_GROUP) {
    out->v = xrealloc(out->v, sizeof(char *) * (size_t)(out->n + 1));
    out->v[out->n++] = xstrdup(name);
    return;
  }
  hid_t g = H5Gopen2((hid_t)f->id, name, H5P_DEFAULT);
  out->prefix = name;
  H5Ovisit(g, H5_INDEX_NAME, H5_ITER_INC, collect, out);
  H5Gclose(g);
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
  NameList names = {0};
  for (int i = 4; i < argc; i++) expand(&a, argv[i], &names);
  for (int k = 0; k < names.n; k++) {
    char *name = names.v[k];
    double sa, sb;
    if (read_scalar(&a, name, &sa) && read_scalar(&b, name, &sb)) {  // loop state
      int same = memcmp(&sa, &sb, sizeof sa) == 0;
      printf("%s: %s (%.17g, %.17g)\n", name, same ? "equal" : "DIFFERS", sa, sb);
      bad |= !same;
      free(name);
      continue;
    }
    int64_t da[8], db[8];
    int na, nb;
    size_t n, m;
    float *x = read_all(&a, name, da, &na, &n), *y = read_all(&b, name, db, &nb, &m);
    if (na != nb || n != m) {
      printf("%s: shapes differ\n", name);
      bad = 1;
    } else if (tol == 0) {
      int same = memcmp(x, y, sizeof(float) * n) == 0;
      printf("%s: %s\n", name, same ? "bitwise equal" : "DIFFERS");
      bad |= !same;
    } else {
      bad |= !check_close(name, x, y, n, 1, tol);
    }
    free(x);
    free(y);
    free(name);
  }
  free(names.v);
  h5_close(&a, err, sizeof err);
  h5_close(&b, err, sizeof err);
  return bad;
}
