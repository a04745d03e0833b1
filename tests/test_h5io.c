// test_h5io.c: a failed HDF5 write is kept in the file as one line naming the file, the dataset
// and HDF5's reason (h5_write_error): a name that exists, a group path through a dataset, a
// file opened read-only, a closed file. The first failure is the one kept.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/h5io.h"
#include "testlib.h"

static char dir[] = "/tmp/genet_test_h5io_XXXXXX";

// The kept line must exist and hold both parts.
static int says(const H5File *f, const char *a, const char *b) {
  const char *m = h5_write_error(f);
  printf("    kept: %s\n", m ? m : "(none)");
  return m && strstr(m, a) && strstr(m, b);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  char path[200], err[512], want[300];
  snprintf(path, sizeof path, "%s/w.h5", dir);
  H5File f;
  int64_t n = 3;
  const float x[3] = {1, 2, 3};

  int rc = h5_create(&f, path, err, sizeof err);
  rc |= h5_write_f32(&f, "model/w", x, 1, &n);
  test_check(rc == 0 && h5_write_error(&f) == NULL, "a good write keeps no error");

  // The same name again: HDF5 refuses; the line names the file, the dataset and the reason.
  snprintf(want, sizeof want, "%s: cannot write model/w: ", path);
  rc = h5_write_f32(&f, "model/w", x, 1, &n);
  test_check(rc == -1 && says(&f, want, "already exists"), "a name that exists: file, dataset, reason");

  // A later failure (a group path through the dataset) leaves the first one in place.
  rc = h5_write_scalar_i64(&f, "model/w/step", 1);
  test_check(rc == -1 && says(&f, want, "already exists") && !strstr(h5_write_error(&f), "model/w/step"),
             "a second failure keeps the first line");
  test_check(h5_close(&f, err, sizeof err) == 0, "the file still closes");

  // A group path through a dataset, on a fresh file.
  rc = h5_create(&f, path, err, sizeof err);
  rc |= h5_write_f32(&f, "model", x, 1, &n);
  test_check(rc == 0 && h5_write_str(&f, "model/name", "lm") == -1 &&
                 says(&f, path, "cannot write model/name: "),
             "a group path through a dataset: file and dataset named");
  h5_close(&f, err, sizeof err);

  // Opened for reading: every writer refuses, naming what it was asked to write.
  rc = h5_open_read(&f, path, err, sizeof err);
  test_check(rc == 0 && h5_write_error(&f) == NULL, "opening clears the kept error");
  snprintf(want, sizeof want, "%s: cannot write opt/step: ", path);
  rc = h5_write_scalar_i64(&f, "opt/step", 5);
  test_check(rc == -1 && says(&f, want, "no write intent"), "a read-only file: file, dataset, HDF5's reason");
  h5_close(&f, err, sizeof err);

  // Closed: refused before HDF5 is called; NULL: refused, with nowhere to keep a line.
  rc = h5_create(&f, path, err, sizeof err) || h5_close(&f, err, sizeof err);
  snprintf(want, sizeof want, "%s: cannot write meta/job: the file is not open", path);
  test_check(rc == 0 && h5_write_str(&f, "meta/job", "task = lm") == -1 && says(&f, want, ""),
             "a closed file: refused, file and dataset named");
  test_check(h5_write_f32(NULL, "model/w", x, 1, &n) == -1 && h5_write_error(NULL) == NULL,
             "a NULL file: refused");

  unlink(path);
  rmdir(dir);
  return test_finish("h5io");
}
