// ckpt.c: checkpoints: their rotation and `latest` pointer, meta/, the directory lock.
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

#include "core/dir.h"
#include "core/atomic_file.h"
#include "core/file_open.h"
#include "core/util.h"

int ckpt_lock_dir(const char *dir, const char *what, const char *job, char *err, size_t errlen) {
  char path[GENET_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/.lock", dir);
  // Not through a link, and only a regular file with one name: it is truncated below.
  int fd = file_open_keep(path, 1, 0664, err, errlen);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int busy = errno == EWOULDBLOCK;
    char holder[300] = "";
    ssize_t got = busy ? pread(fd, holder, sizeof holder - 1, 0) : -1;
    holder[got > 0 ? got : 0] = 0;
    holder[strcspn(holder, "\n")] = 0;
    int e = errno;
    close(fd);
    if (!busy) return genet_err(err, errlen, "%s: cannot lock: %s", path, strerror(e));
    return genet_err(err, errlen, "%s %s is in use by another run (%s); wait for it to end or "
                     "choose another %s", what, dir, holder[0] ? holder : "holder unknown", what);
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

int ckpt_begin(CkptWriter *cw, const char *dir, int64_t step, char *err, size_t errlen) {
  H5SafeWriter *w = &cw->s;
  memset(cw, 0, sizeof *cw);
  w->f.id = -1;
  if (dir_make(dir, err, errlen)) return -1;
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  snprintf(w->final, sizeof w->final, "%s/ckpt_%010lld.h5", dir, (long long)step);
  snprintf(w->tmp, sizeof w->tmp, "%s/.ckpt_%010lld.h5.tmp", dir, (long long)step);
  cw->rotate = 1;
  return h5_create(&w->f, w->tmp, err, errlen);
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

int ckpt_commit(CkptWriter *cw, int keep, char *err, size_t errlen) {
  H5SafeWriter *w = &cw->s;
  if (h5safe_commit(w, err, errlen)) return -1;
  if (!cw->rotate) return 0;
  // latest: the file name only, so the directory can be moved as a whole.
  char lt[GENET_PATH_MAX + 64], lf[GENET_PATH_MAX + 64];
  snprintf(lt, sizeof lt, "%s/.latest.tmp", w->dir);  // a name ckpt_remove_stale_tmp knows
  snprintf(lf, sizeof lf, "%s/latest", w->dir);
  AtomicFile a;
  if (atomic_open(&a, lf, lt, err, errlen)) return -1;
  fprintf(a.f, "%s\n", strrchr(w->final, '/') + 1);
  if (atomic_commit(&a, err, errlen)) return -1;
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
  if (v > CKPT_FORMAT_VERSION) {  // not damaged: a run must neither skip nor overwrite it
    genet_err(err, errlen, "%s: written by a newer genet (format %lld; this genet reads 1 to %d): "
              "use that genet, or another checkpoint_dir", f->path, (long long)v, CKPT_FORMAT_VERSION);
    return -3;
  }
  if (v < 1)
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
  char err[GENET_ERR_MAX];
  FILE *f = file_fopen_read(lf, 0, err, sizeof err);  // a FIFO there must not hang the run
  if (!f && errno != ENOENT) fprintf(stderr, "genet: warning: %s; the newest checkpoint is used\n", err);
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
