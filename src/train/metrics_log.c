// metrics_log.c: the JSON lines of metrics.jsonl. Numbers are written in the shortest form that
// reads back to the same double, so a reader gets exactly what was logged.
#include "train/metrics_log.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/file_open.h"
#include "data/utf8.h"

static void put(JsonLine *j, const char *s, size_t n) {
  if (j->len + n + 1 > j->cap) {
    j->cap = (j->len + n + 1) * 2;
    j->s = xrealloc(j->s, j->cap);
  }
  memcpy(j->s + j->len, s, n);
  j->len += n;
  j->s[j->len] = 0;
}

static void putf(JsonLine *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(JsonLine *j, const char *fmt, ...) {
  char buf[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  put(j, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

// Valid UTF-8 text: quotes, backslashes and control characters escaped, other bytes as they are.
static void put_valid(JsonLine *j, const unsigned char *p, size_t n) {
  for (const unsigned char *e = p + n; p < e; p++) {
    if (*p == '"' || *p == '\\') {
      char c[2] = {'\\', (char)*p};
      put(j, c, 2);
    } else if (*p == '\n') {
      put(j, "\\n", 2);
    } else if (*p == '\t') {
      put(j, "\\t", 2);
    } else if (*p == '\r') {
      put(j, "\\r", 2);
    } else if (*p < 0x20 || *p == 0x7f) {
      putf(j, "\\u%04x", *p);
    } else {
      put(j, (const char *)p, 1);
    }
  }
}

// A JSON string. JSON text is UTF-8, and a path need not be (out_dir=$'u\xff'): each byte that
// is not part of valid UTF-8 becomes U+FFFD, as Python's errors='replace' writes it.
static void put_string(JsonLine *j, const char *s) {
  put(j, "\"", 1);
  size_t n = strlen(s), bad;
  char why[160];
  while (n > 0 && utf8_check(s, n, &bad, why, sizeof why)) {
    put_valid(j, (const unsigned char *)s, bad);
    put(j, "\\ufffd", 6);
    s += bad + 1;
    n -= bad + 1;
  }
  put_valid(j, (const unsigned char *)s, n);
  put(j, "\"", 1);
}

static void key(JsonLine *j, const char *k) {
  if (j->len > 1) put(j, ",", 1);
  put_string(j, k);
  put(j, ":", 1);
}

void jl_begin(JsonLine *j) {
  j->len = 0;
  put(j, "{", 1);
}

void jl_str(JsonLine *j, const char *k, const char *v) {
  key(j, k);
  if (v) put_string(j, v);
  else put(j, "null", 4);
}

void jl_num(JsonLine *j, const char *k, double v) {
  key(j, k);
  if (!isfinite(v)) {  // JSON has no NaN or infinity
    put(j, "null", 4);
    return;
  }
  char buf[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  put(j, buf, strlen(buf));
}

void jl_int(JsonLine *j, const char *k, long long v) {
  key(j, k);
  putf(j, "%lld", v);
}

void jl_bool(JsonLine *j, const char *k, int v) {
  key(j, k);
  put(j, v ? "true" : "false", v ? 4 : 5);
}

void jl_raw(JsonLine *j, const char *k, const char *json) {
  key(j, k);
  put(j, json, strlen(json));
}

void jl_end(JsonLine *j) { put(j, "}", 1); }

void jl_free(JsonLine *j) {
  free(j->s);
  memset(j, 0, sizeof *j);
}

// The end of the file's last whole line (0 when it has none): a run stopped mid-write (a full
// disk, a kill) leaves a partial line there that the next record would be glued to.
static int last_line_end(int fd, off_t *keep) {
  struct stat st;
  if (fstat(fd, &st)) return -1;
  char buf[4096];
  for (off_t end = st.st_size; end > 0;) {
    size_t n = end < (off_t)sizeof buf ? (size_t)end : sizeof buf;
    if (pread(fd, buf, n, end - (off_t)n) != (ssize_t)n) return -1;
    for (size_t i = n; i > 0; i--)
      if (buf[i - 1] == '\n') {
        *keep = end - (off_t)n + (off_t)i;
        return 0;
      }
    end -= (off_t)n;
  }
  *keep = 0;
  return 0;
}

int mlog_open(MetricsLog *m, const char *dir) {
  memset(m, 0, sizeof *m);
  snprintf(m->path, sizeof m->path, "%s/metrics.jsonl", dir);
  // Never through a link, never another file's hard link; readable, to recover the end.
  if (!(m->f = file_fopen_append(m->path, m->err, sizeof m->err))) return -1;
  // Recovered as a database recovers its log: a partial last line is cut off.
  int fd = fileno(m->f);
  struct stat st;
  off_t keep;
  if (fstat(fd, &st) || last_line_end(fd, &keep) || (keep < st.st_size && ftruncate(fd, keep))) {
    snprintf(m->err, sizeof m->err, "%s: cannot recover its last line: %s", m->path, strerror(errno));
    mlog_close(m);
    return -1;
  }
  if (keep < st.st_size)
    fprintf(stderr, "genet: warning: %s: cut off a partial last line of %lld bytes (a run stopped "
            "while writing it)\n", m->path, (long long)(st.st_size - keep));
  return 0;
}

int mlog_write(MetricsLog *m, const JsonLine *j) {
  if (!m->f) return -1;
  if (fputs(j->s, m->f) < 0 || fputc('\n', m->f) == EOF || fflush(m->f) != 0) {
    snprintf(m->err, sizeof m->err, "%s: %s", m->path, strerror(errno));
    mlog_close(m);
    return -1;
  }
  return 0;
}

void mlog_close(MetricsLog *m) {
  if (m->f) fclose(m->f);
  m->f = NULL;
}

// The number after "key": in a line this file wrote (flat objects, keys never repeated).
static int find_number(const char *line, const char *key, double *v) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  if (!p) return 0;
  char *end;
  *v = strtod(p + strlen(pat), &end);
  return end != p + strlen(pat);
}

int mlog_scan_lowest(const char *path, const char *tag, int64_t max_step, double *value, int64_t *step) {
  char err[GENET_ERR_MAX];
  FILE *f = file_fopen_read(path, 0, err, sizeof err);  // a FIFO there must not hang the run
  if (!f) return 0;
  char *line = NULL;
  size_t cap = 0;
  int found = 0;
  errno = 0;
  while (getline(&line, &cap, f) > 0) {
    double s, v;
    if (strstr(line, "\"event\":") || !find_number(line, "step", &s) || s > (double)max_step ||
        !find_number(line, tag, &v) || !isfinite(v))
      continue;
    if (!found || v < *value) {
      *value = v;
      *step = (int64_t)s;
      found = 1;
    }
    errno = 0;
  }
  int bad = ferror(f) || errno;  // getline's -1 is an error as well as the end
  free(line);
  fclose(f);
  return bad ? -1 : found;
}

int write_text_atomic(const char *path, const char *text, char *err, size_t errlen) {
  AtomicFile a;
  if (atomic_open(&a, path, NULL, err, errlen)) return -1;
  fputs(text, a.f);
  return atomic_commit(&a, err, errlen);
}
