// test_h5probe.c: the child that reads an unverified HDF5 file first: stopped at its memory
// budget and at its time limit on tests/fixtures/hdf5_oom.h5 (on which libhdf5 allocates
// without bound), each reported in one line naming the file; valid files pass, also from a
// parent whose own resident size is above the budget, and a 100 MB one at small cost.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/h5io.h"
#include "data/h5probe.h"
#include "core/util.h"
#include "testlib.h"

int main(void) {
  const char *oom = GENET_FIXTURES "/hdf5_oom.h5", *good = GENET_FIXTURES "/linear.h5";
  char err[700] = "";
  double t0 = now_s();
  int rc = h5probe_file(oom, H5PROBE_MAX_MB, H5PROBE_MAX_S, err, sizeof err);
  double t = now_s() - t0;
  test_check(rc == -1 && !strchr(err, '\n') &&
                 strstr(err, "hdf5_oom.h5: unreadable HDF5 file (libhdf5 needed more than 256 MB while reading "
                             "it); it is damaged or not written by genet"),
             "out-of-memory file: child stopped at its budget in %.2f s; \"%s\"", t, err);

  // The time limit, with a budget it does not reach first (as on a file libhdf5 loops on).
  t0 = now_s();
  rc = h5probe_file(oom, 1 << 20, 0.2, err, sizeof err);
  t = now_s() - t0;
  test_check(rc == -1 && strstr(err, "hdf5_oom.h5: unreadable HDF5 file (libhdf5 did not finish in 0.2 s") && t < 2,
             "time limit: child stopped after %.2f s; \"%s\"", t, err);

  err[0] = 0;
  rc = h5probe_file(good, H5PROBE_MAX_MB, H5PROBE_MAX_S, err, sizeof err);
  test_check(rc == 0, "valid file passes; \"%s\"", err);

  // The budget is what the child adds: a parent already holding more still probes.
  size_t big = (size_t)(H5PROBE_MAX_MB + 128) << 20;
  char *held = malloc(big);
  memset(held, 1, big);
  t0 = now_s();
  rc = h5probe_file(good, H5PROBE_MAX_MB, H5PROBE_MAX_S, err, sizeof err);
  t = now_s() - t0;
  test_check(rc == 0 && held[big - 1] == 1, "valid file passes from a parent holding %zu MB, in %.3f s; \"%s\"",
             big >> 20, t, err);
  free(held);

  // A 100 MB dataset: the child reads one element of it, not the data.
  char path[] = "/tmp/genet_test_h5probe_XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  int64_t n = 25 << 20;
  float *x = calloc((size_t)n, sizeof(float));
  H5File f;
  rc = h5_create(&f, path, err, sizeof err) || h5_write_f32(&f, "train/x", x, 1, &n) || h5_write_scalar_i64(&f, "meta/step", 7) ||
       h5_close(&f, err, sizeof err);
  free(x);
  t0 = now_s();
  rc = rc ? rc : h5probe_file(path, H5PROBE_MAX_MB, H5PROBE_MAX_S, err, sizeof err);
  t = now_s() - t0;
  test_check(rc == 0, "100 MB file passes; probe took %.3f s", t);
  unlink(path);
  return test_finish("h5probe");
}
