// fuzz_util.h: the fuzzers hand their input to genet as a file, as users do.
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// A per-process scratch directory (libFuzzer may run several jobs at once).
static const char *fuzz_dir(void) {
  static char dir[64];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/genet_fuzz_%d", (int)getpid());
    mkdir(dir, 0700);  // the readers' own output is silenced by -close_fd_mask=3
  }
  return dir;
}

static void fuzz_write(const char *name, const void *data, size_t n) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(p, "wb");
  if (!f) abort();
  if (n && fwrite(data, 1, n, f) != n) abort();
  fclose(f);
}
