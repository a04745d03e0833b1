// util.c: fatal errors and checked allocation.
#include "core/util.h"

#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

void genet_die(const char *fmt, ...) {
  int inited = 0, finalized = 0, size = 1, rank = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (inited && !finalized) {
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  }
  // One write for the whole line, so another rank's output cannot land inside it.
  char msg[GENET_ERR_MAX];
  int k = size > 1 ? snprintf(msg, sizeof msg, "genet: rank %d: ", rank) : snprintf(msg, sizeof msg, "genet: ");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
  va_end(ap);
  fflush(stdout);
  fprintf(stderr, "%s\n", msg);
  // Under a launcher the other ranks would wait forever in their next collective.
  if (size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

int genet_err(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) genet_die("out of memory allocating %zu bytes", n);
  return p;
}

void *xcalloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) genet_die("out of memory allocating %zu x %zu bytes", count, size);
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) genet_die("out of memory reallocating %zu bytes", n);
  return q;
}

float *xmalloc_floats(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  void *p = aligned_alloc(64, bytes ? bytes : 64);
  if (!p) genet_die("out of memory allocating %zu floats", n);
  return p;
}

char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = xmalloc(n);
  memcpy(p, s, n);
  return p;
}

double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

PollWait poll_start(void) { return (PollWait){.t0 = now_s()}; }

double poll_pause(PollWait *w) {
  if ((++w->polls & 63) != 0) return w->waited;
  w->waited = now_s() - w->t0;
  if (w->waited > 0.01) nanosleep(&(struct timespec){0, 50000}, NULL);
  else if (w->waited > 0.001) sched_yield();
  return w->waited;
}
