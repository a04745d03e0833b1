// metrics_log.c: the JSON lines of metrics.jsonl. Numbers are written in the shortest form that
// reads back to the same double, so a reader gets exactly what was logged.
#include "train/metrics_log.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/file_open.h"

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

// A JSON string: quotes, backslashes and control characters escaped; other bytes as they are
// (job files and paths are UTF-8 or ASCII).
static void put_string(JsonLine *j, const char *s) {
  put(j, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      put(j, e, 2);
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

int mlog_open(MetricsLog *m, const char *dir) {
  memset(m, 0, sizeof *m);
  snprintf(m->path, sizeof m->path, "%s/metrics.jsonl", dir);
  if (!(m->f = file_fopen_append(m->path, m->err, sizeof m->err))) return -1;  // never through a link
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
  }
  free(line);
  fclose(f);
  return found;
}

int write_text_atomic(const char *path, const char *text, char *err, size_t errlen) {
  AtomicFile a;
  if (atomic_open(&a, path, NULL, err, errlen)) return -1;
  fputs(text, a.f);
  return atomic_commit(&a, err, errlen);
}
