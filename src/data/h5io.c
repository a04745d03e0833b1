// h5io.c: checked HDF5 I/O. HDF5's own error stack printing is switched off: genet reports
// one line itself, naming the file and the dataset.
#include "data/h5io.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_open.h"
#include "data/h5probe.h"
#include "core/util.h"

static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

// What h5_reason keeps of HDF5's error stack: the API call's words and the innermost ones.
typedef struct {
  char api[128], inner[160];
} H5Reason;

static herr_t reason_cb(unsigned n, const H5E_error2_t *e, void *arg) {
  H5Reason *r = arg;
  const char *desc = e->desc ? e->desc : "";
  if (n == 0) {
    // The POSIX driver's failures hold the system's words ("File too large") amid the time, the
    // file name and byte counts: keep the words.
    const char *sys = strstr(desc, "error message = '");
    const char *words = sys ? strchr(sys, '\'') + 1 : desc;
    int len = sys ? (int)strcspn(words, "'") : (int)strlen(desc);
    snprintf(r->inner, sizeof r->inner, "%.*s", len, words);
  }
  snprintf(r->api, sizeof r->api, "%s", desc);  // walking upward, the API call comes last
  return 0;
}

// HDF5's reason for the call that has just failed, from its error stack (kept even with
// printing off): the API call's words, then in parentheses the innermost, most specific ones
// ("unable to create dataset (no write intent on file)"). Must run before any other HDF5 call,
// which clears the stack; `step` stands in when the stack is empty.
static void h5_reason(char *why, size_t len, const char *step) {
  H5Reason r = {"", ""};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, reason_cb, &r);
  if (!r.api[0])
    snprintf(why, len, "cannot %s", step);
  else if (r.inner[0] && strcmp(r.inner, r.api) != 0)
    snprintf(why, len, "%s (%s)", r.api, r.inner);
  else
    snprintf(why, len, "%s", r.api);
  for (char *c = why; *c; c++)  // one line, whatever HDF5 wrote
    if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
}

void h5_no_atexit(void) { H5dont_atexit(); }

int h5_create(H5File *f, const char *path, char *err, size_t errlen) {
  quiet();
  snprintf(f->path, sizeof f->path, "%s", path);
  f->write_err[0] = 0;
  f->id = -1;
  // H5F_ACC_TRUNC would follow a link put at the name: the name is cleared and created
  // exclusively (O_EXCL fails on any link), so only a file genet made is written.
  if (file_clear_tmp(path, err, errlen)) return -1;
  f->id = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
  return f->id < 0 ? genet_err(err, errlen, "%s: cannot create HDF5 file", path) : 0;
}

int h5_open_read(H5File *f, const char *path, char *err, size_t errlen) {
  quiet();
  snprintf(f->path, sizeof f->path, "%s", path);
  f->write_err[0] = 0;
  f->id = -1;
  char why[GENET_ERR_MAX];
  int probe = file_open_read(path, 0, why, sizeof why);  // a FIFO or device must not hang libhdf5
  if (probe < 0 && (errno == ENOENT || errno == EACCES)) return genet_err(err, errlen, "%s: cannot open (no such file or not readable)", path);
  if (probe < 0) return genet_err(err, errlen, "%s", why);
  close(probe);
  if (H5Fis_hdf5(path) <= 0)
    return genet_err(err, errlen, "%s: not an HDF5 file (or truncated / corrupt)", path);
  if (h5probe_file(path, H5PROBE_MAX_MB, H5PROBE_MAX_S, err, errlen)) return -1;
  f->id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  return f->id < 0 ? genet_err(err, errlen, "%s: HDF5 file cannot be opened (truncated or corrupt)", path) : 0;
}


int h5_close(H5File *f, char *err, size_t errlen) {
  if (f->id < 0) return 0;
  char why[320] = "";
  if (H5Fflush((hid_t)f->id, H5F_SCOPE_GLOBAL) < 0) h5_reason(why, sizeof why, "flush the file");
  if (H5Fclose((hid_t)f->id) < 0 && !why[0]) h5_reason(why, sizeof why, "close the file");
  f->id = -1;
  return why[0] ? genet_err(err, errlen, "%s: flush/close failed: %s", f->path, why) : 0;
}

// ---- writing

// Keeps the first failure only: what follows it is usually its consequence.
static int write_failed(H5File *f, const char *name, const char *why) {
  if (f && !f->write_err[0])
    snprintf(f->write_err, sizeof f->write_err, "%s: cannot write %s: %s", f->path, name, why);
  return -1;
}

const char *h5_write_error(const H5File *f) { return f && f->write_err[0] ? f->write_err : NULL; }

static int write_ds(H5File *f, const char *name, hid_t mem_type, hid_t file_type, const void *x,
                    int ndim, const int64_t *dims) {
  if (!f) return -1;
  if (f->id < 0) return write_failed(f, name, "the file is not open");
  hsize_t d[8];
  GENET_ASSERT(ndim >= 0 && ndim <= 8);
  for (int i = 0; i < ndim; i++) d[i] = (hsize_t)dims[i];
  hid_t space = -1, lcpl = -1, ds = -1;
  const char *step = NULL;
  if ((space = ndim ? H5Screate_simple(ndim, d, NULL) : H5Screate(H5S_SCALAR)) < 0)
    step = "create the dataspace";
  else if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0)
    step = "set up the link creation";
  else if ((ds = H5Dcreate2((hid_t)f->id, name, file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0)
    step = "create the dataset";
  else if (H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0)
    step = "write the data";
  char why[320];
  if (step) h5_reason(why, sizeof why, step);  // before the closes below clear the stack
  if (ds >= 0 && H5Dclose(ds) < 0 && !step) {
    step = "close the dataset";
    h5_reason(why, sizeof why, step);
  }
  if (lcpl >= 0) H5Pclose(lcpl);
  if (space >= 0) H5Sclose(space);
  return step ? write_failed(f, name, why) : 0;
}

int h5_write_f32(H5File *f, const char *name, const float *x, int ndim, const int64_t *dims) {
  return write_ds(f, name, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, x, ndim, dims);
}
int h5_write_i32(H5File *f, const char *name, const int32_t *x, int ndim, const int64_t *dims) {
  return write_ds(f, name, H5T_NATIVE_INT32, H5T_STD_I32LE, x, ndim, dims);
}
int h5_write_u8(H5File *f, const char *name, const uint8_t *x, int ndim, const int64_t *dims) {
  return write_ds(f, name, H5T_NATIVE_UINT8, H5T_STD_U8LE, x, ndim, dims);
}
int h5_write_f64(H5File *f, const char *name, const double *x, int64_t n) {
  return write_ds(f, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, x, 1, &n);
}
int h5_write_scalar_f64(H5File *f, const char *name, double v) {
  return write_ds(f, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, &v, 0, NULL);
}
int h5_write_scalar_i64(H5File *f, const char *name, int64_t v) {
  return write_ds(f, name, H5T_NATIVE_INT64, H5T_STD_I64LE, &v, 0, NULL);
}

int h5_write_str(H5File *f, const char *name, const char *s) {
  size_t n = strlen(s);
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0 || H5Tset_size(t, n ? n : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0) {
    char why[320];
    h5_reason(why, sizeof why, "make the string type");
    if (t >= 0) H5Tclose(t);
    return write_failed(f, name, why);
  }
  int rc = write_ds(f, name, t, t, n ? s : "", 0, NULL);
  H5Tclose(t);
  return rc;
}

// ---- reading

int h5_exists(H5File *f, const char *name) {
  // H5Lexists fails (rather than answering no) when an intermediate group is missing.
  char part[512];
  const char *p = name;
  while ((p = strchr(p + 1, '/'))) {
    size_t n = (size_t)(p - name);
    if (n >= sizeof part) return 0;
    memcpy(part, name, n);
    part[n] = 0;
    if (H5Lexists((hid_t)f->id, part, H5P_DEFAULT) <= 0) return 0;
  }
  return H5Lexists((hid_t)f->id, name, H5P_DEFAULT) > 0;
}

static hid_t open_ds(H5File *f, const char *name, char *err, size_t errlen) {
  if (!h5_exists(f, name)) {
    genet_err(err, errlen, "%s: missing dataset '%s'", f->path, name);
    return -1;
  }
  hid_t ds = H5Dopen2((hid_t)f->id, name, H5P_DEFAULT);
  if (ds < 0) genet_err(err, errlen, "%s: '%s' is not a dataset", f->path, name);
  return ds;
}

int h5_shape(H5File *f, const char *name, int64_t *dims, int maxdims, char *err, size_t errlen) {
  hid_t ds = open_ds(f, name, err, errlen);
  if (ds < 0) return -1;
  hid_t sp = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_ndims(sp);
  hsize_t d[32];
  int rc = nd;
  if (nd < 0 || nd > maxdims || nd > 32) {
    rc = genet_err(err, errlen, "%s: dataset '%s' has rank %d, expected at most %d", f->path, name, nd, maxdims);
  } else {
    H5Sget_simple_extent_dims(sp, d, NULL);
    for (int i = 0; i < nd; i++) dims[i] = (int64_t)d[i];
  }
  H5Sclose(sp);
  H5Dclose(ds);
  return rc;
}

static void fmt_dims(char *buf, size_t len, int nd, const int64_t *d) {
  size_t u = (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < nd && u < len; i++) u += (size_t)snprintf(buf + u, len - u, i ? ", %lld" : "%lld", (long long)d[i]);
  if (u < len) snprintf(buf + u, len - u, ")");
}

// genet writes (and h5py writes by default) contiguous or compact datasets without filters,
// whose stored size is exactly what their shape and type say. Anything else in a file genet reads is
// refused before libhdf5 is asked to decode it: a corrupt layout or filter message is where
// the library itself allocates or copies according to the file's claims.
static int check_storage(H5File *f, hid_t ds, const char *name, char *err, size_t errlen) {
  hid_t dcpl = H5Dget_create_plist(ds);
  if (dcpl < 0) return genet_err(err, errlen, "%s: dataset '%s' has no readable layout (corrupt?)", f->path, name);
  H5D_layout_t layout = H5Pget_layout(dcpl);
  int nfilters = H5Pget_nfilters(dcpl);
  H5Pclose(dcpl);
  if ((layout != H5D_CONTIGUOUS && layout != H5D_COMPACT) || nfilters != 0)
    return genet_err(err, errlen, "%s: dataset '%s' is chunked or filtered; genet reads plain contiguous datasets",
                     f->path, name);
  hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
  hssize_t npoints = H5Sget_simple_extent_npoints(sp);
  size_t tsize = H5Tget_size(t);
  H5Sclose(sp);
  H5Tclose(t);
  hsize_t stored = H5Dget_storage_size(ds);
  if (npoints < 0 || stored != (hsize_t)npoints * tsize)
    return genet_err(err, errlen, "%s: dataset '%s' stores %llu bytes, its shape and type hold %llu (corrupt or never written)",
                     f->path, name, (unsigned long long)stored, (unsigned long long)(npoints < 0 ? 0 : npoints) * tsize);
  if (layout == H5D_CONTIGUOUS && H5Dget_offset(ds) == HADDR_UNDEF)
    return genet_err(err, errlen, "%s: dataset '%s' has no data address (corrupt)", f->path, name);
  return 0;
}

// Opens `name`, checks its type class and that its shape is exactly (ndim, dims).
static hid_t open_checked(H5File *f, const char *name, H5T_class_t cls, int ndim, const int64_t *dims,
                          char *err, size_t errlen) {
  hid_t ds = open_ds(f, name, err, errlen);
  if (ds < 0) return -1;
  hid_t t = H5Dget_type(ds);
  H5T_class_t got = H5Tget_class(t);
  size_t tsize = H5Tget_size(t);
  H5Tclose(t);
  // A numeric element wider than 8 bytes is no type genet writes (a corrupt file can claim
  // gigabytes per element, and HDF5 would allocate a conversion buffer of that size).
  if (got == cls && cls != H5T_STRING && (tsize == 0 || tsize > 8)) {
    H5Dclose(ds);
    genet_err(err, errlen, "%s: dataset '%s' has %zu-byte elements, expected at most 8", f->path, name, tsize);
    return -1;
  }
  if (got != cls) {
    H5Dclose(ds);
    genet_err(err, errlen, "%s: dataset '%s' has the wrong type (expected %s)", f->path, name,
              cls == H5T_FLOAT ? "float" : cls == H5T_INTEGER ? "integer" : "string");
    return -1;
  }
  hid_t sp = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_ndims(sp);
  hsize_t d[32];
  int ok = nd == ndim && nd >= 0 && nd <= 32;
  int64_t got_dims[32] = {0};
  if (nd >= 0 && nd <= 32) {
    H5Sget_simple_extent_dims(sp, d, NULL);
    for (int i = 0; i < nd; i++) {
      got_dims[i] = (int64_t)d[i];
      if (ok && got_dims[i] != dims[i]) ok = 0;
    }
  }
  H5Sclose(sp);
  if (!ok) {
    char a[160], b[160];
    fmt_dims(a, sizeof a, nd < 0 || nd > 32 ? 0 : nd, got_dims);
    fmt_dims(b, sizeof b, ndim, dims);
    H5Dclose(ds);
    genet_err(err, errlen, "%s: dataset '%s' has shape %s, expected %s", f->path, name, a, b);
    return -1;
  }
  if (check_storage(f, ds, name, err, errlen)) {
    H5Dclose(ds);
    return -1;
  }
  return ds;
}

static int read_checked(H5File *f, const char *name, H5T_class_t cls, hid_t mem_type, void *out,
                        int ndim, const int64_t *dims, char *err, size_t errlen) {
  hid_t ds = open_checked(f, name, cls, ndim, dims, err, errlen);
  if (ds < 0) return -1;
  herr_t r = H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
  H5Dclose(ds);
  return r < 0 ? genet_err(err, errlen, "%s: dataset '%s' cannot be read (truncated or corrupt)", f->path, name) : 0;
}

// Float arrays genet reads (weights, optimizer and model state) are never legitimately NaN or
// inf: one such value would spread through a whole run without a word, so it is refused here.
static int check_finite(H5File *f, const char *name, const float *x32, const double *x64, size_t n,
                        char *err, size_t errlen) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x32 ? (double)x32[i] : x64[i]))
      return genet_err(err, errlen, "%s: dataset '%s' holds %s at index %zu, expected finite values", f->path,
                       name, isnan(x32 ? (double)x32[i] : x64[i]) ? "NaN" : "inf", i);
  return 0;
}

static size_t count(int ndim, const int64_t *dims) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
  return n;
}

int h5_read_f32(H5File *f, const char *name, float *out, int ndim, const int64_t *dims, char *err, size_t errlen) {
  if (read_checked(f, name, H5T_FLOAT, H5T_NATIVE_FLOAT, out, ndim, dims, err, errlen)) return -1;
  return check_finite(f, name, out, NULL, count(ndim, dims), err, errlen);
}
int h5_read_i32(H5File *f, const char *name, int32_t *out, int ndim, const int64_t *dims, char *err, size_t errlen) {
  return read_checked(f, name, H5T_INTEGER, H5T_NATIVE_INT32, out, ndim, dims, err, errlen);
}
int h5_read_u8(H5File *f, const char *name, uint8_t *out, int ndim, const int64_t *dims, char *err, size_t errlen) {
  return read_checked(f, name, H5T_INTEGER, H5T_NATIVE_UINT8, out, ndim, dims, err, errlen);
}
int h5_read_f64(H5File *f, const char *name, double *out, int64_t n, char *err, size_t errlen) {
  if (read_checked(f, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, out, 1, &n, err, errlen)) return -1;
  return check_finite(f, name, NULL, out, (size_t)n, err, errlen);
}
int h5_read_scalar_f64(H5File *f, const char *name, double *v, char *err, size_t errlen) {
  return read_checked(f, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, v, 0, NULL, err, errlen);
}
int h5_read_scalar_i64(H5File *f, const char *name, int64_t *v, char *err, size_t errlen) {
  return read_checked(f, name, H5T_INTEGER, H5T_NATIVE_INT64, v, 0, NULL, err, errlen);
}
int h5_read_scalar_f64_in(H5File *f, const char *name, double *v, double lo, double hi, char *err, size_t errlen) {
  if (h5_read_scalar_f64(f, name, v, err, errlen)) return -1;
  return *v >= lo && *v <= hi ? 0 : genet_err(err, errlen, "%s: %s = %g, expected a number in [%g, %g]", f->path, name, *v, lo, hi);
}
int h5_read_scalar_i64_min(H5File *f, const char *name, int64_t *v, int64_t lo, char *err, size_t errlen) {
  if (h5_read_scalar_i64(f, name, v, err, errlen)) return -1;
  return *v >= lo ? 0 : genet_err(err, errlen, "%s: %s = %lld, expected at least %lld", f->path, name, (long long)*v, (long long)lo);
}

int h5_read_str(H5File *f, const char *name, char **out, size_t maxlen, char *err, size_t errlen) {
  hid_t ds = open_checked(f, name, H5T_STRING, 0, NULL, err, errlen);
  if (ds < 0) return -1;
  hid_t t = H5Dget_type(ds);
  size_t n = H5Tget_size(t);
  int rc = 0;
  if (H5Tis_variable_str(t) > 0 || n == 0 || n > maxlen) {
    rc = genet_err(err, errlen, "%s: string '%s' is variable-length or longer than %zu bytes", f->path, name, maxlen);
  } else {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, n);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    char *s = xcalloc(n + 1, 1);
    if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) < 0) {
      free(s);
      rc = genet_err(err, errlen, "%s: string '%s' cannot be read (truncated or corrupt)", f->path, name);
    } else {
      *out = s;
    }
    H5Tclose(mt);
  }
  H5Tclose(t);
  H5Dclose(ds);
  return rc;
}

static int read_rows(H5File *f, const char *name, hid_t mem_type, void *out, int64_t row0,
                     int64_t nrows, int nrest, const int64_t *rest, char *err, size_t errlen) {
  int64_t dims[8];
  int nd = h5_shape(f, name, dims, 8, err, errlen);
  if (nd < 0) return -1;
  int ok = nd == nrest + 1;
  for (int i = 0; ok && i < nrest; i++) ok = dims[i + 1] == rest[i];
  if (!ok) {
    char a[160], b[160];
    fmt_dims(a, sizeof a, nd, dims);
    fmt_dims(b, sizeof b, nrest, rest);
    return genet_err(err, errlen, "%s: dataset '%s' has shape %s, expected (rows) + %s", f->path, name, a, b);
  }
  if (row0 < 0 || nrows < 0 || row0 + nrows > dims[0])
    return genet_err(err, errlen, "%s: dataset '%s' has %lld rows, asked for [%lld, %lld)", f->path, name,
                     (long long)dims[0], (long long)row0, (long long)(row0 + nrows));
  hid_t ds = H5Dopen2((hid_t)f->id, name, H5P_DEFAULT);
  hid_t fs = H5Dget_space(ds);
  hsize_t start[8] = {0}, count[8];
  start[0] = (hsize_t)row0;
  count[0] = (hsize_t)nrows;
  for (int i = 0; i < nrest; i++) count[i + 1] = (hsize_t)rest[i];
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
  hid_t ms = H5Screate_simple(nd, count, NULL);
  herr_t r = H5Dread(ds, mem_type, ms, fs, H5P_DEFAULT, out);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Dclose(ds);
  return r < 0 ? genet_err(err, errlen, "%s: dataset '%s' rows cannot be read (truncated or corrupt)", f->path, name) : 0;
}

int h5_read_rows_u8(H5File *f, const char *name, uint8_t *out, int64_t row0, int64_t nrows,
                    int nrest, const int64_t *rest_dims, char *err, size_t errlen) {
  return read_rows(f, name, H5T_NATIVE_UINT8, out, row0, nrows, nrest, rest_dims, err, errlen);
}
int h5_read_rows_i32(H5File *f, const char *name, int32_t *out, int64_t row0, int64_t nrows,
                     int nrest, const int64_t *rest_dims, char *err, size_t errlen) {
  return read_rows(f, name, H5T_NATIVE_INT32, out, row0, nrows, nrest, rest_dims, err, errlen);
}
