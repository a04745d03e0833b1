// util.h: the error path beyond base/sys.h (the fatal path, checked allocation): a user's
// mistake (genet_err) and the check macros for the host libraries genet calls.
// Two kinds of error (as redis' rdb.c): a user's mistake returns an error code and ends in one
// line naming the file or key; a broken invariant or a library failure aborts here, with the
// call, the file and the line.
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "base/sys.h"  // genet_die, GENET_ASSERT, xmalloc, now_s, poll_start/poll_pause

#ifdef __cplusplus
extern "C" {  // the CUDA kernels (C++) report through genet_die too
#endif

// The error return of a user's mistake: formats one line into err (when err is not NULL and
// errlen > 0) and returns -1, so a check reads `return genet_err(err, errlen, "%s: ...", path);`.
int genet_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// HDF5 calls return a negative value (herr_t or hid_t) on failure.
#define H5_CHECK(call)                                                                  \
  do {                                                                                  \
    if ((long)(call) < 0) genet_die("%s:%d: HDF5 call failed: %s", __FILE__, __LINE__, #call); \
  } while (0)

// oneDNN calls return dnnl_status_t; dnnl_success is 0.
#define DNNL_CHECK(call)                                                                \
  do {                                                                                  \
    int s_ = (int)(call);                                                               \
    if (s_ != 0) genet_die("%s:%d: oneDNN call failed (status %d): %s", __FILE__, __LINE__, s_, #call); \
  } while (0)

// Buffers for a path (up to Linux's PATH_MAX) and for a one-line message naming two of them, so
// that no error line is cut inside a path.
#define GENET_PATH_MAX 4096
#define GENET_ERR_MAX (2 * GENET_PATH_MAX + 512)

#ifdef __cplusplus
}
#endif
