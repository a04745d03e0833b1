// inspect.c: walks an HDF5 file and prints one line per object.
#include "cmd/inspect.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5safe.h"
#include "data/h5io.h"

static const char *type_name(hid_t t) {
  switch (H5Tget_class(t)) {
    case H5T_FLOAT: return H5Tget_size(t) == 8 ? "float64" : "float32";
    case H5T_INTEGER: {
      int sgn = H5Tget_sign(t) == H5T_SGN_2;
      switch (H5Tget_size(t)) {
        case 1: return sgn ? "int8" : "uint8";
        case 2: return sgn ? "int16" : "uint16";
        case 4: return sgn ? "int32" : "uint32";
        default: return sgn ? "int64" : "uint64";
      }
    }
    case H5T_STRING: return "string";
    default: return "other";
  }
}

static void print_value(hid_t ds, hid_t t, int nd) {
  if (nd != 0) return;
  H5T_class_t c = H5Tget_class(t);
  if (c == H5T_STRING && !H5Tis_variable_str(t)) {
    size_t n = H5Tget_size(t);
    char *s = calloc(n + 1, 1);
    if (s && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) >= 0) {
      printf("  \"");  // up to 60 characters, newlines shown as \n
      for (size_t i = 0; i < n && s[i] && i < 60; i++) s[i] == '\n' ? printf("\\n") : putchar(s[i]);
      printf(strlen(s) > 60 ? "...\"" : "\"");
    }
    free(s);
  } else if (c == H5T_INTEGER) {
    long long v;
    if (H5Dread(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0) printf("  = %lld", v);
  } else if (c == H5T_FLOAT) {
    double v;
    if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0) printf("  = %.9g", v);
  }
}

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *op) {
  (void)op;
  if (!strcmp(name, ".")) return 0;
  if (info->type == H5O_TYPE_GROUP) {
    printf("%s/\n", name);
  } else if (info->type == H5O_TYPE_DATASET) {
    hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_ndims(sp);
    hsize_t d[32];
    if (nd > 32) nd = 32;
    H5Sget_simple_extent_dims(sp, d, NULL);
    printf("%-40s %-8s (", name, type_name(t));
    for (int i = 0; i < nd; i++) printf(i ? ", %llu" : "%llu", (unsigned long long)d[i]);
    printf(")");
    print_value(ds, t, nd);
    printf("\n");
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(ds);
  }
  return 0;
}

int inspect_main(const char *path) {
  H5File f;
  char err[GENET_ERR_MAX];
  if (h5safe_open(&f, path, err, sizeof err)) {
    fprintf(stderr, "genet: %s\n", err);
    return 1;
  }
  printf("%s\n", path);
  herr_t rc = H5Ovisit2((hid_t)f.id, H5_INDEX_NAME, H5_ITER_INC, visit, NULL, H5O_INFO_BASIC);
  h5_close(&f, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "genet: %s: cannot walk the file (corrupt?)\n", path);
    return 1;
  }
  return 0;
}
