// sys.h: what every layer of genet, kernels/ included, takes from the host's runtime: the one
// fatal path, checked allocation, the monotonic clock and the polled wait. Declared here, at the
// bottom of the layers, so the CUDA kernels include nothing above them; defined in
// src/core/util.c, and core/util.h (the rest of the error path) includes this file.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {  // the CUDA kernels (C++) report through genet_die too
#endif

// The one fatal path: prints "genet: [rank R: ]<message>" as one line (the rank when there are
// several) and exits non-zero; under MPI it takes every rank down (MPI_Abort), so none hangs.
void genet_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
// Invariant check that stays on in release builds.
#define GENET_ASSERT(cond)                                                              \
  do {                                                                                  \
    if (!(cond)) genet_die("%s:%d: assertion failed: %s", __FILE__, __LINE__, #cond);   \
  } while (0)

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
