// ckpt.c: atomic checkpoint files and their rotation.
#include "train/ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

// mkdir -p (also for out_dir and the prepare commands).
int make_dirs(const char *dir, char *err, size_t errlen) {
  char p[GENET_PATH_MAX];
  if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return genet_err(err, errlen, "%s: path too long", dir);
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == 0) {
      char c = *s;
      *s = 0;
      if (mkdir(p, 0775) != 0 && errno != EEXIST)
        return genet_err(err, errlen, "%s: cannot create directory: %s", p, strerror(errno));
      *s = c;
      if (!c) break;
    }
  }
  return 0;
}

int dir_check_writable(const char *dir, char *err, size_t errlen) {
  struct stat st;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) return genet_err(err, errlen, "%s: not a directory", dir);
  if (make_dirs(dir, err, errlen)) return -1;
  size_t n = strlen(dir) + 32;
  char *probe = xmalloc(n);
  snprintf(probe, n, "%s/.genet-write-test-XXXXXX", dir);
  int fd = mkstemp(probe);
  if (fd < 0) {
    free(probe);
    return genet_err(err, errlen, "%s: cannot create files there: %s", dir, strerror(errno));
  }
  close(fd);
  unlink(probe);
  free(probe);
  return 0;
}

int ckpt_lock_dir(const char *dir, const char *job, char *err, size_t errlen) {
  char path[GENET_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (fd < 0) return genet_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int busy = errno == EWOULDBLOCK;
    char holder[300] = "";
    ssize_t got = busy ? pread(fd, holder, sizeof holder - 1, 0) : -1;
    holder[got > 0 ? got : 0] = 0;
    holder[strcspn(holder, "\n")] = 0;
    int e = errno;
    close(fd);
    if (!busy) return genet_err(err, errlen, "%s: cannot lock: %s", path, strerror(e));
    return genet_err(err, errlen, "checkpoint_dir %s is in use by another run (%s); wait for it to end or "
                     "choose another checkpoint_dir", dir, holder[0] ? holder : "holder unknown");
  }
  char host[256] = "?", when[64];
  gethostname(host, sizeof host - 1);
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&now));
  char line[600];
  snprintf(line, sizeof line, "pid %ld on %s since %s, job %s\n", (long)getpid(), host, when, job);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line, strlen(line), 0) < 0) {
    int e = errno;
    close(fd);
    return genet_err(err, errlen, "%s: cannot write: %s", path, strerror(e));
  }
  return fd;
}

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), k = strlen(tail);
  return n >= k && !strcmp(s + n - k, tail);
}

int ckpt_remove_stale_tmp(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int removed = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    if (!((n[0] == '.' && ends_with(n, ".tmp") && strcmp(n, "..") != 0) || ends_with(n, ".sum.tmp")))
      continue;
    char path[GENET_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, n);
    if (unlink(path) == 0) removed++;
  }
  closedir(d);
  return removed;
}

static int fsync_path(const char *path, int is_dir) {
  int fd = open(path, is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

// ---- integrity: a 64-bit hash of the whole file (xxhash64-like rounds over 8-byte words,
// the tail zero-padded, the length mixed in): not cryptographic, meant to catch truncation
// and damage before libhdf5 parses a file.
static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static int hash_file(const char *path, uint64_t *hash, uint64_t *size, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) return genet_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
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

// FILE.sum for the file now at `data` that will be renamed to `final`, written atomically.
static int write_sum(const char *data, const char *final, char *err, size_t errlen) {
  uint64_t h, n;
  if (hash_file(data, &h, &n, err, errlen)) return -1;
  char sum[GENET_PATH_MAX + 64], tmp[GENET_PATH_MAX + 80];
  snprintf(sum, sizeof sum, "%s.sum", final);
  snprintf(tmp, sizeof tmp, "%s.tmp", sum);
  FILE *f = fopen(tmp, "w");
  if (!f || fprintf(f, "genet-hash64 %016llx %llu\n", (unsigned long long)h, (unsigned long long)n) < 0 ||
      fflush(f) != 0 || fsync(fileno(f)) != 0) {
    if (f) fclose(f);
    unlink(tmp);
    return genet_err(err, errlen, "%s: cannot write: %s", sum, strerror(errno));
  }
  if (fclose(f) != 0 || rename(tmp, sum) != 0) return genet_err(err, errlen, "%s: cannot write: %s", sum, strerror(errno));
  return 0;
}

int ckpt_open(H5File *f, const char *path, char *err, size_t errlen) {
  struct stat st;
  f->id = -1;  // callers test f->id after a failure, also one found by the checks below
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return genet_err(err, errlen, "%s: is a directory, expected an HDF5 file", path);
  char sum[GENET_PATH_MAX + 64];
  snprintf(sum, sizeof sum, "%s.sum", path);
  FILE *s = fopen(sum, "r");
  int verified = s != NULL;  // past the checks below: the bytes are the ones genet wrote
  if (s) {
    unsigned long long want_h = 0, want_n = 0;
    int ok = fscanf(s, "genet-hash64 %llx %llu", &want_h, &want_n) == 2;
    fclose(s);
    if (!ok) return genet_err(err, errlen, "%s: unreadable (expected 'genet-hash64 HASH SIZE')", sum);
    uint64_t h, n;
    if (hash_file(path, &h, &n, err, errlen)) return -1;
    if (n != want_n)
      return genet_err(err, errlen, "%s: %llu bytes, %llu were written (truncated or damaged)", path,
                       (unsigned long long)n, want_n);
    if (h != want_h)
      return genet_err(err, errlen, "%s: checksum mismatch against %s (damaged after it was written)", path, sum);
  }
  return verified ? h5_open_read_verified(f, path, err, errlen) : h5_open_read(f, path, err, errlen);
}

int ckpt_begin(CkptWriter *w, const char *dir, int64_t step, char *err, size_t errlen) {
  memset(w, 0, sizeof *w);
  w->f.id = -1;
  if (make_dirs(dir, err, errlen)) return -1;
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  snprintf(w->final, sizeof w->final, "%s/ckpt_%010lld.h5", dir, (long long)step);
  snprintf(w->tmp, sizeof w->tmp, "%s/.ckpt_%010lld.h5.tmp", dir, (long long)step);
  w->rotate = 1;
  return h5_create(&w->f, w->tmp, err, errlen);
}

int ckpt_begin_named(CkptWriter *w, const char *dir, const char *name, char *err, size_t errlen) {
  memset(w, 0, sizeof *w);
  w->f.id = -1;
  if (make_dirs(dir, err, errlen)) return -1;
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  snprintf(w->final, sizeof w->final, "%s/%s", dir, name);
  snprintf(w->tmp, sizeof w->tmp, "%s/.%s.tmp", dir, name);
  return h5_create(&w->f, w->tmp, err, errlen);
}

int ckpt_begin_path(CkptWriter *w, const char *path, char *err, size_t errlen) {
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
  return ckpt_begin_named(w, dir, slash ? slash + 1 : path, err, errlen);
}

int ckpt_finish(CkptWriter *w, int write_failed) {
  char err[GENET_ERR_MAX];
  if (write_failed) {
    const char *why = h5_write_error(&w->f);
    fprintf(stderr, "genet: %s: write failed%s%s\n", w->final, why ? ": " : "", why ? why : "");
    ckpt_abort(w);
    return 1;
  }
  if (ckpt_commit(w, 0, err, sizeof err)) {
    fprintf(stderr, "genet: %s\n", err);
    return 1;
  }
  return 0;
}

void ckpt_abort(CkptWriter *w) {
  char e[256];
  h5_close(&w->f, e, sizeof e);
  unlink(w->tmp);
}

static int step_of(const char *name, long long *step) {
  int n = 0;
  if (sscanf(name, "ckpt_%lld.h5%n", step, &n) == 1 && name[n] == 0) return 1;
  return 0;
}

static int cmp_desc(const void *a, const void *b) {
  const char *x = strrchr(*(char *const *)a, '/') + 1, *y = strrchr(*(char *const *)b, '/') + 1;
  long long sx = 0, sy = 0;
  step_of(x, &sx);
  step_of(y, &sy);
  return (sx < sy) - (sx > sy);
}

// Every DIR/ckpt_*.h5, newest first.
static int list_files(const char *dir, char ***out) {
  DIR *d = opendir(dir);
  *out = NULL;
  if (!d) return 0;
  int n = 0, cap = 0;
  char **v = NULL;
  struct dirent *e;
  long long s;
  while ((e = readdir(d))) {
    if (!step_of(e->d_name, &s)) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 8;
      v = xrealloc(v, sizeof(char *) * (size_t)cap);
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    v[n] = xmalloc(len);
    snprintf(v[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (n) qsort(v, (size_t)n, sizeof(char *), cmp_desc);
  *out = v;
  return n;
}

int ckpt_commit(CkptWriter *w, int keep, char *err, size_t errlen) {
  if (h5_close(&w->f, err, errlen)) {
    unlink(w->tmp);
    return -1;
  }
  if (fsync_path(w->tmp, 0) != 0) {
    genet_err(err, errlen, "%s: cannot sync: %s", w->tmp, strerror(errno));
    unlink(w->tmp);
    return -1;
  }
  if (write_sum(w->tmp, w->final, err, errlen) != 0) {  // the .sum first: see ckpt_open
    unlink(w->tmp);
    return -1;
  }
  if (rename(w->tmp, w->final) != 0) {
    genet_err(err, errlen, "%s: cannot move checkpoint into place: %s", w->final, strerror(errno));
    unlink(w->tmp);
    return -1;
  }
  fsync_path(w->dir, 1);
  if (!w->rotate) return 0;
  // latest: the file name only, so the directory can be moved as a whole.
  char lt[GENET_PATH_MAX + 64], lf[GENET_PATH_MAX + 64];
  snprintf(lt, sizeof lt, "%s/.latest.tmp", w->dir);
  snprintf(lf, sizeof lf, "%s/latest", w->dir);
  FILE *f = fopen(lt, "w");
  const char *base = strrchr(w->final, '/') + 1;
  if (!f || fprintf(f, "%s\n", base) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
    if (f) fclose(f);
    unlink(lt);
    return genet_err(err, errlen, "%s: cannot write the latest pointer: %s", lf, strerror(errno));
  }
  if (fclose(f) != 0 || rename(lt, lf) != 0)
    return genet_err(err, errlen, "%s: cannot update the latest pointer: %s", lf, strerror(errno));
  fsync_path(w->dir, 1);
  char **v;
  int n = list_files(w->dir, &v);
  for (int i = 0; i < n; i++) {
    if (keep > 0 && i >= keep && strcmp(v[i], w->final) != 0) {
      char sum[GENET_PATH_MAX + 64];
      snprintf(sum, sizeof sum, "%s.sum", v[i]);
      unlink(v[i]);
      unlink(sum);
    }
    free(v[i]);
  }
  free(v);
  return 0;
}

int ckpt_write_meta(H5File *f, int64_t step, int world_size, const char *job_text) {
  int rc = 0;
  rc |= h5_write_scalar_i64(f, "meta/format_version", CKPT_FORMAT_VERSION);
  rc |= h5_write_str(f, "meta/genet_version", GENET_VERSION);
  rc |= h5_write_str(f, "meta/genet_commit", GENET_GIT_COMMIT);
  rc |= h5_write_scalar_i64(f, "meta/step", step);
  rc |= h5_write_scalar_i64(f, "meta/world_size", world_size);
  rc |= h5_write_str(f, "meta/job", job_text);
  return rc ? -1 : 0;
}

int ckpt_read_meta(H5File *f, int64_t *step, int *world_size, int *version, char *err,
                   size_t errlen) {
  int64_t v = 0, ws = 0;
  if (h5_read_scalar_i64(f, "meta/format_version", &v, err, errlen)) return -1;
  if (v < 1 || v > CKPT_FORMAT_VERSION)
    return genet_err(err, errlen, "%s: checkpoint format version %lld, this genet reads 1 to %d", f->path,
                     (long long)v, CKPT_FORMAT_VERSION);
  *version = (int)v;
  if (h5_read_scalar_i64(f, "meta/step", step, err, errlen)) return -1;
  if (h5_read_scalar_i64(f, "meta/world_size", &ws, err, errlen)) return -1;
  if (*step < 0 || ws < 1 || ws > 1 << 20)
    return genet_err(err, errlen, "%s: meta/step %lld or meta/world_size %lld out of range", f->path,
                     (long long)*step, (long long)ws);
  *world_size = (int)ws;
  return 0;
}

int ckpt_list(const char *dir, char ***paths) {
  char **v;
  int n = list_files(dir, &v);
  // The latest pointer goes first when it names an existing checkpoint of this directory.
  char lf[GENET_PATH_MAX + 64], name[300];
  snprintf(lf, sizeof lf, "%s/latest", dir);
  FILE *f = fopen(lf, "r");
  if (f) {
    if (fgets(name, sizeof name, f)) {
      name[strcspn(name, "\n")] = 0;
      long long s;
      for (int i = 0; step_of(name, &s) && i < n; i++) {
        if (strcmp(strrchr(v[i], '/') + 1, name) == 0) {
          char *t = v[i];
          memmove(v + 1, v, sizeof(char *) * (size_t)i);
          v[0] = t;
          break;
        }
      }
    }
    fclose(f);
  }
  *paths = v;
  return n;
}

void ckpt_list_free(char **paths, int n) {
  for (int i = 0; i < n; i++) free(paths[i]);
  free(paths);
}
