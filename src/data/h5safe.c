// h5safe.c: HDF5 files written atomically and read verified (see h5safe.h).
#include "data/h5safe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/dir.h"
#include "core/file_open.h"
#include "core/util.h"

// ---- integrity: a 64-bit hash of the whole file (xxhash64-like rounds over 8-byte words,
// the tail zero-padded, the length mixed in): not cryptographic, meant to catch truncation
// and damage before libhdf5 parses a file.
static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static int hash_file(const char *path, uint64_t *hash, uint64_t *size, char *err, size_t errlen) {
  FILE *f = file_fopen_read(path, 0, err, errlen);  // /dev/zero would be hashed for ever
  if (!f) return -1;
  const uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full;
  uint64_t h = 0x27D4EB2F165667C5ull, n = 0;
  uint64_t *buf = xmalloc(1 << 20);
  size_t got;
  while ((got = fread(buf, 1, 1 << 20, f)) > 0) {
    if (got % 8) memset((char *)buf + got, 0, 8 - got % 8);
    for (size_t i = 0; i < (got + 7) / 8; i++) h = rotl64(h ^ (buf[i] * P2), 31) * P1;
    n += got;
  }
  int bad = ferror(f);
  fclose(f);
  free(buf);
  if (bad) return genet_err(err, errlen, "%s: read error", path);
  h ^= n;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  *hash = h;
  *size = n;
  return 0;
}

// ---- FILE.sum: lines "genet-hash64 HASH SIZE"; the file verifies when it matches any line.
// Two lines only while a file is replaced (the new one's and the old one's), so that a crash
// before or after the rename leaves a pair that verifies (h5safe_commit).
#define SUM_LINES 4
typedef struct {
  int n;
  unsigned long long h[SUM_LINES], size[SUM_LINES];
} Sums;

// 1: read (s->n >= 1); 0: no .sum (ENOENT); -1 with err: unreadable, or not a regular file.
static int read_sums(const char *sum, Sums *s, char *err, size_t errlen) {
  s->n = 0;
  FILE *f = file_fopen_read(sum, 0, err, errlen);  // a FIFO there must not hang the run
  if (!f) return errno == ENOENT ? 0 : -1;
  while (s->n < SUM_LINES && fscanf(f, " genet-hash64 %llx %llu", &s->h[s->n], &s->size[s->n]) == 2) s->n++;
  fclose(f);
  if (!s->n) return genet_err(err, errlen, "%s: unreadable (expected 'genet-hash64 HASH SIZE')", sum);
  return 1;
}

// FILE.sum written atomically with the lines of s.
static int write_sums(const char *final, const Sums *s, char *err, size_t errlen) {
  char sum[GENET_PATH_MAX + 64], tmp[GENET_PATH_MAX + 80];
  snprintf(sum, sizeof sum, "%s.sum", final);
  snprintf(tmp, sizeof tmp, "%s.tmp", sum);  // a name ckpt_remove_stale_tmp knows
  AtomicFile a;
  if (atomic_open(&a, sum, tmp, err, errlen)) return -1;
  for (int i = 0; i < s->n; i++) fprintf(a.f, "genet-hash64 %016llx %llu\n", s->h[i], s->size[i]);
  return atomic_commit(&a, err, errlen);
}

// Tests only: GENET_TEST_KILL_AT=POINT ends the process there as SIGKILL would (crash points).
static void kill_point(const char *point) {
  const char *at = getenv("GENET_TEST_KILL_AT");
  if (at && !strcmp(at, point)) raise(SIGKILL);
}

int h5safe_open(H5File *f, const char *path, char *err, size_t errlen) {
  struct stat st;
  f->id = -1;  // callers test f->id after a failure, also one found by the checks below
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return genet_err(err, errlen, "%s: is a directory, expected an HDF5 file", path);
  char sum[GENET_PATH_MAX + 64];
  snprintf(sum, sizeof sum, "%s.sum", path);
  Sums s;
  int verified = read_sums(sum, &s, err, errlen);  // 1: a .sum was there and read
  if (verified < 0) return -1;
  if (verified) {
    uint64_t h, n;
    if (hash_file(path, &h, &n, err, errlen)) return -1;
    int match = 0, size_ok = 0;
    for (int i = 0; i < s.n && !match; i++) {  // any line: the pair a crash may leave (h5safe.h)
      match = h == s.h[i] && n == s.size[i];
      size_ok |= n == s.size[i];
    }
    if (!match && !size_ok)
      return genet_err(err, errlen, "%s: %llu bytes, %llu were written (truncated or damaged)", path,
                       (unsigned long long)n, s.size[0]);
    if (!match)
      return genet_err(err, errlen, "%s: checksum mismatch against %s (damaged after it was written)", path, sum);
  }
  // Verified or not, libhdf5 opens it through the probe: a .sum says the bytes are intact, not
  // that they are harmless (anyone can compute one for a hostile file).
  return h5_open_read(f, path, err, errlen);
}

int h5safe_begin(H5SafeWriter *w, const char *dir, const char *name, char *err, size_t errlen) {
  memset(w, 0, sizeof *w);
  w->f.id = -1;
  if (dir_make(dir, err, errlen)) return -1;
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  snprintf(w->final, sizeof w->final, "%s/%s", dir, name);
  snprintf(w->tmp, sizeof w->tmp, "%s/.%s.tmp", dir, name);
  return h5_create(&w->f, w->tmp, err, errlen);
}

int h5safe_begin_path(H5SafeWriter *w, const char *path, char *err, size_t errlen) {
  char dir[GENET_PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (slash) {
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir) return genet_err(err, errlen, "%s: path too long", path);
    memcpy(dir, path, n);
    dir[n] = 0;
    if (!n) strcpy(dir, "/");
  } else {
    strcpy(dir, ".");
  }
  return h5safe_begin(w, dir, slash ? slash + 1 : path, err, errlen);
}

int h5safe_finish(H5SafeWriter *w, int write_failed) {
  char err[GENET_ERR_MAX];
  if (write_failed) {
    const char *why = h5_write_error(&w->f);
    fprintf(stderr, "genet: %s: write failed%s%s\n", w->final, why ? ": " : "", why ? why : "");
    h5safe_abort(w);
    return 1;
  }
  if (h5safe_commit(w, err, sizeof err)) {
    fprintf(stderr, "genet: %s\n", err);
    return 1;
  }
  return 0;
}

void h5safe_abort(H5SafeWriter *w) {
  char e[256];
  h5_close(&w->f, e, sizeof e);
  unlink(w->tmp);
}

// Puts the closed temporary in place with its .sum such that a crash between any two steps
// leaves at NAME a file that verifies against NAME.sum (or no .sum, and a file that h5probe
// reads first):
//   1. NAME.sum = new + old lines    old file + this .sum: verifies (old line)
//   2. rename .NAME.tmp -> NAME      new file + this .sum: verifies (new line)
//   3. NAME.sum = new line           new file + new .sum
// An old file without a usable .sum (copied by hand) gets none until the new one is in place.
static int replace(H5SafeWriter *w, char *err, size_t errlen) {
  uint64_t h, n;
  if (hash_file(w->tmp, &h, &n, err, errlen)) return -1;
  Sums now = {1, {h}, {n}}, both = now;
  char sum[GENET_PATH_MAX + 64], why[GENET_ERR_MAX];
  snprintf(sum, sizeof sum, "%s.sum", w->final);
  struct stat st;
  int old_file = lstat(w->final, &st) == 0, old_sum = 0;
  Sums old;
  if (old_file && read_sums(sum, &old, why, sizeof why) == 1) {
    old_sum = 1;
    for (int i = 0; i < old.n && both.n < SUM_LINES; i++, both.n++) {
      both.h[both.n] = old.h[i];
      both.size[both.n] = old.size[i];
    }
  }
  if (old_file && !old_sum) {  // nothing verifies the old file: no .sum while the two swap
    if (unlink(sum) != 0 && errno != ENOENT)
      return genet_err(err, errlen, "%s: cannot remove: %s", sum, strerror(errno));
  } else if (write_sums(w->final, &both, err, errlen)) {
    return -1;
  }
  kill_point("before-rename");
  if (rename(w->tmp, w->final) != 0)
    return genet_err(err, errlen, "%s: cannot move into place: %s", w->final, strerror(errno));
  kill_point("after-rename");
  if ((old_sum || old_file) && write_sums(w->final, &now, err, errlen)) return -1;
  return 0;
}

int h5safe_commit(H5SafeWriter *w, char *err, size_t errlen) {
  if (h5_close(&w->f, err, errlen)) {
    unlink(w->tmp);
    return -1;
  }
  if (fsync_path(w->tmp, 0) != 0) {
    genet_err(err, errlen, "%s: cannot sync: %s", w->tmp, strerror(errno));
    unlink(w->tmp);
    return -1;
  }
  if (replace(w, err, errlen) != 0) {
    unlink(w->tmp);
    return -1;
  }
  fsync_path(w->dir, 1);
  return 0;
}

