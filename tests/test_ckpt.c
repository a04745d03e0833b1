// test_ckpt.c: HDF5 checkpoints: round trip, rotation and the latest pointer, an interrupted
// write, and damaged files (truncated at several offsets, a wrong shape, not HDF5 at all),
// each reported with the file named and skipped in favour of the previous good checkpoint.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train/ckpt.h"
#include "testlib.h"

static char dir[] = "/tmp/genet_test_ckpt_XXXXXX";
static const int64_t wdims[2] = {3, 5};

static int write_ckpt(int64_t step, int keep, float fill) {
  CkptWriter w;
  char err[512];
  if (ckpt_begin(&w, dir, step, err, sizeof err)) return -1;
  float x[15];
  for (int i = 0; i < 15; i++) x[i] = fill + (float)i;
  int rc = ckpt_write_meta(&w.s.f, step, 4, "task = lm\nlr = 20\n");
  rc |= h5_write_f32(&w.s.f, "model/encoder.weight", x, 2, wdims);
  if (rc) {
    h5safe_abort(&w.s);
    return -1;
  }
  return ckpt_commit(&w, keep, err, sizeof err);
}

// What resume does: the first checkpoint that opens, has valid meta and the expected shapes.
static int load(const char *path, int64_t *step, float *x, char *err, size_t errlen) {
  H5File f;
  int ws, version;
  if (h5safe_open(&f, path, err, errlen)) return -1;
  int rc = ckpt_read_meta(&f, step, &ws, &version, err, errlen);
  if (!rc) rc = h5_read_f32(&f, "model/encoder.weight", x, 2, wdims, err, errlen);
  char e2[256];
  h5_close(&f, e2, sizeof e2);
  return rc;
}

static int64_t resume_step(char *first_err, size_t errlen) {
  char **v;
  int n = ckpt_list(dir, &v);
  int64_t got = -1;
  first_err[0] = 0;
  for (int i = 0; i < n && got < 0; i++) {
    char err[512];
    float x[15];
    int64_t s;
    if (load(v[i], &s, x, err, sizeof err) == 0) got = s;
    else if (!first_err[0]) snprintf(first_err, errlen, "%s", err);
  }
  ckpt_list_free(v, n);
  return got;
}

static void copy_truncated(const char *src, const char *dst, long len) {
  FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
  for (long i = 0; i < len; i++) {
    int c = fgetc(a);
    if (c == EOF) break;
    fputc(c, b);
  }
  fclose(a);
  fclose(b);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  char path[600], err[512], latest[600];
  test_check(write_ckpt(10, 3, 1.0f) == 0, "checkpoint at step 10 written");
  snprintf(path, sizeof path, "%s/ckpt_0000000010.h5", dir);
  float x[15];
  int64_t step = -1;
  int rc = load(path, &step, x, err, sizeof err);
  test_check(rc == 0 && step == 10 && x[0] == 1.0f && x[14] == 15.0f, "round trip: step %lld, values back", (long long)step);
  H5File f;
  char *job = NULL;
  h5_open_read(&f, path, err, sizeof err);
  rc = h5_read_str(&f, "meta/job", &job, 1 << 20, err, sizeof err);
  test_check(rc == 0 && !strcmp(job, "task = lm\nlr = 20\n"), "job text stored verbatim");
  free(job);
  h5_close(&f, err, sizeof err);

  for (int s = 20; s <= 40; s += 10) write_ckpt(s, 3, (float)s);
  char **v;
  int n = ckpt_list(dir, &v);
  test_check(n == 3 && strstr(v[0], "ckpt_0000000040.h5") && strstr(v[2], "ckpt_0000000020.h5"),
             "keep 3: %d files, newest first", n);
  ckpt_list_free(v, n);
  snprintf(latest, sizeof latest, "%s/latest", dir);
  FILE *lf = fopen(latest, "r");
  char name[128] = "";
  if (lf) { if (!fgets(name, sizeof name, lf)) name[0] = 0; fclose(lf); }
  test_check(!strcmp(name, "ckpt_0000000040.h5\n"), "latest names step 40");

  // An interrupted write: the temporary file exists, nothing else changed.
  CkptWriter w;
  ckpt_begin(&w, dir, 50, err, sizeof err);
  h5_write_scalar_i64(&w.s.f, "meta/step", 50);
  h5_close(&w.s.f, err, sizeof err);  // "crash" before commit: the .tmp stays behind
  test_check(resume_step(err, sizeof err) == 40, "interrupted write at step 50: resume takes step 40");

  // The newest file damaged in each of several ways; resume falls back to step 30.
  snprintf(path, sizeof path, "%s/ckpt_0000000040.h5", dir);
  char good[640];
  snprintf(good, sizeof good, "%s/good40.bak", dir);
  rename(path, good);
  struct stat st;
  stat(good, &st);
  long offsets[] = {0, 8, 512, st.st_size / 2, st.st_size - 64, st.st_size - 1};
  // With its .sum the damage is found before libhdf5 parses anything; without (a file copied
  // by hand) libhdf5's own checks must refuse it.
  char sum[700], sum_bak[700];
  snprintf(sum, sizeof sum, "%s.sum", path);
  snprintf(sum_bak, sizeof sum_bak, "%s/good40.sum", dir);
  for (int with_sum = 1; with_sum >= 0; with_sum--) {
    if (!with_sum) rename(sum, sum_bak);
    for (int i = 0; i < 6; i++) {
      copy_truncated(good, path, offsets[i]);
      int64_t s = resume_step(err, sizeof err);
      test_check(s == 30 && strstr(err, "ckpt_0000000040.h5") &&
                     (!with_sum || strstr(err, "were written (truncated or damaged)")),
                 "truncated to %ld of %ld bytes (%s .sum): falls back to step %lld; \"%s\"",
                 offsets[i], (long)st.st_size, with_sum ? "with" : "without", (long long)s, err);
    }
  }
  // One flipped byte, same size: only the checksum can tell.
  rename(sum_bak, sum);
  copy_truncated(good, path, st.st_size);
  {
    FILE *fp = fopen(path, "r+b");
    fseek(fp, st.st_size / 2, SEEK_SET);
    int ch = fgetc(fp);
    fseek(fp, st.st_size / 2, SEEK_SET);
    fputc(ch ^ 0x10, fp);
    fclose(fp);
  }
  int64_t s1 = resume_step(err, sizeof err);
  test_check(s1 == 30 && strstr(err, "checksum mismatch"), "one byte flipped: falls back; \"%s\"", err);
  // A 7 KB file on which libhdf5 allocates until the machine runs out of memory (found by
  // fuzz_ckpt; tests/fixtures/hdf5_oom.h5, never to be opened by libhdf5 outside h5probe's
  // child): in place of a checkpoint whose .sum exists it is refused before libhdf5 sees it;
  // without the .sum, h5probe's child reads it and is stopped at its memory budget.
  copy_truncated(GENET_FIXTURES "/hdf5_oom.h5", path, 7280);
  s1 = resume_step(err, sizeof err);
  test_check(s1 == 30 && (strstr(err, "checksum mismatch") || strstr(err, "were written")),
             "libhdf5's out-of-memory file in place of a checkpoint: refused unparsed; \"%s\"", err);
  unlink(sum);
  s1 = resume_step(err, sizeof err);
  test_check(s1 == 30 && strstr(err, "ckpt_0000000040.h5: unreadable HDF5 file (libhdf5 needed more than"),
             "the same file without its .sum: falls back, refused by the probe; \"%s\"", err);
  // Not HDF5 at all.
  FILE *t = fopen(path, "w");
  fputs("this is not a checkpoint\n", t);
  fclose(t);
  int64_t s = resume_step(err, sizeof err);
  test_check(s == 30 && strstr(err, "not an HDF5 file"), "text file: falls back; \"%s\"", err);
  // A wrong shape.
  unlink(path);
  {
    CkptWriter w2;
    ckpt_begin(&w2, dir, 40, err, sizeof err);
    float y[12] = {0};
    const int64_t bad[2] = {3, 4};
    ckpt_write_meta(&w2.s.f, 40, 1, "");
    h5_write_f32(&w2.s.f, "model/encoder.weight", y, 2, bad);
    ckpt_commit(&w2, 0, err, sizeof err);
  }
  s = resume_step(err, sizeof err);
  test_check(s == 30 && strstr(err, "dataset 'model/encoder.weight' has shape (3, 4), expected (3, 5)"),
             "wrong shape: falls back; \"%s\"", err);
  // A missing dataset and a wrong type are named too.
  H5File g;
  h5_open_read(&g, path, err, sizeof err);
  float z[15];
  rc = h5_read_f32(&g, "model/decoder.bias", z, 2, wdims, err, sizeof err);
  test_check(rc == -1 && strstr(err, "missing dataset 'model/decoder.bias'"), "missing dataset: \"%s\"", err);
  rc = h5_read_f32(&g, "meta/step", z, 0, NULL, err, sizeof err);
  test_check(rc == -1 && strstr(err, "'meta/step' has the wrong type (expected float)"), "wrong type: \"%s\"", err);
  h5_close(&g, err, sizeof err);

  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) return 1;
  return test_finish("ckpt");
}
