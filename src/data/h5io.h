// h5io.h: the HDF5 reads and writes genet needs (checkpoints, datasets), with every shape and
// type of a file treated as untrusted: a read states the shape it expects, and a mismatch is
// a one-line error naming the file and the dataset, returned, not fatal.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

typedef struct {
  int64_t id;      // hid_t of the open file, < 0 when closed
  char path[GENET_PATH_MAX + 64];
  // The first failed write, "PATH: cannot write NAME: why" ("" while none): the writers return
  // only -1, so that a caller writing many datasets can still report which one failed and why.
  char write_err[GENET_PATH_MAX + 512];
} H5File;

// All return 0 on success, -1 with a one-line message in err.
// Called first thing by the `genet` command: libhdf5 then registers no exit handler. genet closes
// (and checks) every file itself; at exit, libhdf5's own teardown would flush again a file whose
// close failed (disk full) and crash inside H5F__close_cb instead of exiting with the error.
void h5_no_atexit(void);
int h5_create(H5File *f, const char *path, char *err, size_t errlen);  // replaces, never through a link
// Any file: first read in a child process under a memory and time budget (h5probe.h), since
// libhdf5 can exhaust memory or hang on some corrupt files.
int h5_open_read(H5File *f, const char *path, char *err, size_t errlen);
// Flushes and closes; a failed close is an error (the file may be incomplete).
int h5_close(H5File *f, char *err, size_t errlen);

// Writers create intermediate groups ("opt/adam/exp_avg"). Datasets are contiguous. They return
// 0, or -1 with the first failure kept in the file (h5_write_error); a NULL or closed file is
// refused.
int h5_write_f32(H5File *f, const char *name, const float *x, int ndim, const int64_t *dims);
int h5_write_i32(H5File *f, const char *name, const int32_t *x, int ndim, const int64_t *dims);
int h5_write_u8(H5File *f, const char *name, const uint8_t *x, int ndim, const int64_t *dims);
int h5_write_f64(H5File *f, const char *name, const double *x, int64_t n);
int h5_write_str(H5File *f, const char *name, const char *s);  // fixed-length string dataset
int h5_write_scalar_f64(H5File *f, const char *name, double v);
int h5_write_scalar_i64(H5File *f, const char *name, int64_t v);
// The first failed write's line, naming the file, the dataset and HDF5's reason; NULL while no
// write has failed (since h5_create).
const char *h5_write_error(const H5File *f);

int h5_exists(H5File *f, const char *name);
// Shape of a dataset; returns its rank (<= maxdims) or -1 with err.
int h5_shape(H5File *f, const char *name, int64_t *dims, int maxdims, char *err, size_t errlen);
// Reads a dataset that must have exactly the given shape and a matching class (float for
// f32, integer for the others); converts to the native type. f32 and f64 arrays must hold
// finite values (a NaN or inf is refused, naming the dataset).
int h5_read_f32(H5File *f, const char *name, float *out, int ndim, const int64_t *dims, char *err, size_t errlen);
int h5_read_i32(H5File *f, const char *name, int32_t *out, int ndim, const int64_t *dims, char *err, size_t errlen);
int h5_read_u8(H5File *f, const char *name, uint8_t *out, int ndim, const int64_t *dims, char *err, size_t errlen);
int h5_read_f64(H5File *f, const char *name, double *out, int64_t n, char *err, size_t errlen);
// Reads a string dataset into a malloc'd buffer (at most maxlen bytes).
int h5_read_str(H5File *f, const char *name, char **out, size_t maxlen, char *err, size_t errlen);
int h5_read_scalar_f64(H5File *f, const char *name, double *v, char *err, size_t errlen);
int h5_read_scalar_i64(H5File *f, const char *name, int64_t *v, char *err, size_t errlen);
// The same, refusing a value outside [lo, hi] (NaN included; an infinite bound admits inf) or
// below lo: state read back from a file must be state a run could have written.
int h5_read_scalar_f64_in(H5File *f, const char *name, double *v, double lo, double hi, char *err, size_t errlen);
int h5_read_scalar_i64_min(H5File *f, const char *name, int64_t *v, int64_t lo, char *err, size_t errlen);
// Reads rows [row0, row0 + nrows) of a dataset whose first dimension is the row index and
// whose remaining dims must equal rest_dims (a rank's slice of a large dataset).
int h5_read_rows_u8(H5File *f, const char *name, uint8_t *out, int64_t row0, int64_t nrows,
                    int nrest, const int64_t *rest_dims, char *err, size_t errlen);
int h5_read_rows_i32(H5File *f, const char *name, int32_t *out, int64_t row0, int64_t nrows,
                     int nrest, const int64_t *rest_dims, char *err, size_t errlen);
