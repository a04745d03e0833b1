// prepare_cifar.c: CIFAR-10's official binary batches into HDF5. Each record is 1 label byte
// and 3072 pixel bytes (1024 red, 1024 green, 1024 blue, rows of 32), so a batch file must
// be a whole number of 3073-byte records with labels 0..9.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/h5safe.h"
#include "data/h5io.h"
#include "data/prepare.h"
#include "core/file_open.h"
#include "core/util.h"

#define CIFAR_REC 3073
#define CIFAR_PIX 3072

// Appends the records of one batch file; returns the count or -1 after an error line.
static long read_batch(const char *path, uint8_t **img, uint8_t **lab, long *n, long *cap) {
  char err[GENET_ERR_MAX];
  FILE *f = file_fopen_read(path, 0, err, sizeof err);  // a directory or FIFO: one line
  if (!f) {
    fprintf(stderr, "genet: %s\n", err);
    return -1;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (size <= 0 || size % CIFAR_REC) {
    fprintf(stderr, "genet: %s: %ld bytes, expected a multiple of %d (1 label + 3072 pixels a record)\n",
            path, size, CIFAR_REC);
    fclose(f);
    return -1;
  }
  long recs = size / CIFAR_REC;
  if (*n + recs > *cap) {
    *cap = *n + recs;
    *img = xrealloc(*img, (size_t)*cap * CIFAR_PIX);
    *lab = xrealloc(*lab, (size_t)*cap);
  }
  uint8_t rec[CIFAR_REC];
  for (long i = 0; i < recs; i++) {
    if (fread(rec, 1, CIFAR_REC, f) != CIFAR_REC) {
      fprintf(stderr, "genet: %s: %s at record %ld\n", path, ferror(f) ? "read error" : "short read", i);
      fclose(f);
      return -1;
    }
    if (rec[0] > 9) {
      fprintf(stderr, "genet: %s: record %ld has label %d, expected 0..9\n", path, i, rec[0]);
      fclose(f);
      return -1;
    }
    (*lab)[*n] = rec[0];
    memcpy(*img + (size_t)*n * CIFAR_PIX, rec + 1, CIFAR_PIX);
    (*n)++;
  }
  fclose(f);
  return recs;
}

static int write_split(H5File *f, const char *group, const uint8_t *img, const uint8_t *lab, long n) {
  char name[64];
  int64_t dims[4] = {n, 3, 32, 32};
  snprintf(name, sizeof name, "%s/images", group);
  int rc = h5_write_u8(f, name, img, 4, dims);
  snprintf(name, sizeof name, "%s/labels", group);
  return rc | h5_write_u8(f, name, lab, 1, dims);
}

int prepare_cifar10(const char *src_dir, const char *out_path) {
  uint8_t *img[2] = {NULL, NULL}, *lab[2] = {NULL, NULL};
  long n[2] = {0, 0}, cap[2] = {0, 0};
  int rc = 0;
  char path[1024];
  for (int b = 1; b <= 5 && !rc; b++) {
    snprintf(path, sizeof path, "%s/data_batch_%d.bin", src_dir, b);
    rc = read_batch(path, &img[0], &lab[0], &n[0], &cap[0]) < 0;
  }
  if (!rc) {
    snprintf(path, sizeof path, "%s/test_batch.bin", src_dir);
    rc = read_batch(path, &img[1], &lab[1], &n[1], &cap[1]) < 0;
  }
  if (!rc) {
    H5SafeWriter cw;
    char err[600];
    if (h5safe_begin_path(&cw, out_path, err, sizeof err)) {
      fprintf(stderr, "genet: %s\n", err);
      rc = 1;
    } else {
      int w = write_split(&cw.f, "train", img[0], lab[0], n[0]) | write_split(&cw.f, "test", img[1], lab[1], n[1]);
      if (h5safe_finish(&cw, w)) {
        rc = 1;
      } else {
        printf("wrote %s: train %ld images, test %ld images, uint8 (N, 3, 32, 32) + labels\n",
               out_path, n[0], n[1]);
      }
    }
  }
  for (int k = 0; k < 2; k++) {
    free(img[k]);
    free(lab[k]);
  }
  return rc ? 1 : 0;
}
