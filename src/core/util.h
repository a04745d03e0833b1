// util.h: fatal errors, checked allocation and the check macros for every library genet calls.
// Two kinds of error (as redis' rdb.c): a user's mistake returns an error code and ends in one
// line naming the file or key; a broken invariant or a library failure aborts here, with the
// call, the file and the line.
#pragma once
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {  // the CUDA kernels (C++) report through genet_die too
#endif

// The one fatal path: prints "genet: [rank R: ]<message>" as one line (the rank when there are
// several) and exits non-zero; under MPI it takes every rank down (MPI_Abort), so none hangs.
void genet_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
// The error return of a user's mistake: formats one line into err (when err is not NULL and
// errlen > 0) and returns -1, so a check reads `return genet_err(err, errlen, "%s: ...", path);`.
int genet_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Invariant check that stays on in release builds.
#define GENET_ASSERT(cond)                                                              \
  do {                                                                                  \
    if (!(cond)) genet_die("%s:%d: assertion failed: %s", __FILE__, __LINE__, #cond);   \
  } while (0)

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

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
// realloc that dies naming the size on failure (the old block is then unreachable anyway).
void *xrealloc(void *p, size_t n);
// 64-byte aligned, for SIMD and oneDNN buffers; free with free().
float *xmalloc_floats(size_t n);
char *xstrdup(const char *s);

// Seconds on the monotonic clock (for durations: not wall time, never jumps).
double now_s(void);

// Waiting for work another party finishes (an MPI request, a CUDA stream or event): poll, and
// after each poll that found it unfinished call poll_pause, which returns the seconds waited
// so far (for a timeout). Every 64th call reads the clock and pauses: not at all in the first
// millisecond (a spin, as MPI_Wait and CUDA's own synchronization), then a yield of the core,
// and from 10 ms on a 50 us sleep. The 63 polls in between keep driving the work (Open MPI
// moves a non-blocking collective only inside MPI calls, fragment by fragment), while ranks
// sharing a node's cores still leave some to the ranks they wait for.
typedef struct {
  double t0, waited;
  long polls;
} PollWait;
PollWait poll_start(void);
double poll_pause(PollWait *w);

#ifdef __cplusplus
}
#endif
