// report_log.c: metrics.jsonl, line by line, into records and per-tag series.
#include "cmd/report_log.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_open.h"
#include "core/util.h"

static uint64_t hash_tag(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

// The slot of tag in x, or the empty slot where it would go.
static size_t slot_of(const TagIndex *x, const char *tag) {
  size_t i = hash_tag(tag) & (x->nslot - 1);
  while (x->tag[i] && strcmp(x->tag[i], tag)) i = (i + 1) & (x->nslot - 1);
  return i;
}

static void index_free(TagIndex *x) {
  for (size_t i = 0; i < x->nslot; i++) free(x->tag[i]);
  free(x->tag);
  free(x->id);
  *x = (TagIndex){0};
}

// A tag's series, found through the index (a scan of every series per field made a log of many
// tags quadratic), or made; NULL when REPORT_MAX_SERIES are kept already (then only counted).
static RunSeries *series_for(ReportLog *r, const char *tag) {
  TagIndex *x = &r->idx;
  if (2 * (x->n + 1) > x->nslot) {  // at most half full
    TagIndex y = {xcalloc(x->nslot ? 2 * x->nslot : 256, sizeof(char *)), NULL, x->nslot ? 2 * x->nslot : 256, x->n};
    y.id = xmalloc(y.nslot * sizeof(int));
    for (size_t i = 0; i < x->nslot; i++)
      if (x->tag[i]) {
        size_t j = slot_of(&y, x->tag[i]);
        y.tag[j] = x->tag[i], y.id[j] = x->id[i];
      }
    free(x->tag);
    free(x->id);
    *x = y;
  }
  size_t i = slot_of(x, tag);
  if (x->tag[i]) return x->id[i] >= 0 ? &r->s[x->id[i]] : NULL;
  x->tag[i] = xstrdup(tag);
  x->n++;
  if (r->ns == REPORT_MAX_SERIES) {
    x->id[i] = -1;
    r->dropped++;
    return NULL;
  }
  if (r->ns == r->cap) r->s = xrealloc(r->s, (size_t)(r->cap = r->cap ? 2 * r->cap : 16) * sizeof *r->s);
  x->id[i] = r->ns;
  RunSeries *s = &r->s[r->ns++];
  *s = (RunSeries){.tag = xstrdup(tag)};
  return s;
}

static void series_add(RunSeries *s, double step, double val, long seq) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 64;
    s->step = xrealloc(s->step, (size_t)s->cap * sizeof *s->step);
    s->val = xrealloc(s->val, (size_t)s->cap * sizeof *s->val);
    s->seq = xrealloc(s->seq, (size_t)s->cap * sizeof *s->seq);
  }
  s->step[s->n] = step, s->val[s->n] = val, s->seq[s->n] = seq;
  s->n++;
}

typedef struct {
  double step, val;
  long seq;
} Point;

static int by_step_then_line(const void *a, const void *b) {
  const Point *p = a, *q = b;
  if (p->step != q->step) return p->step < q->step ? -1 : 1;
  return (p->seq > q->seq) - (p->seq < q->seq);
}

// Sorts by step and keeps, for each step, the value of the latest line: a run resumed from an
// earlier checkpoint writes its steps again, and the second writing is the one that counts.
static void series_finish(RunSeries *s) {
  Point *p = xmalloc((size_t)(s->n ? s->n : 1) * sizeof *p);
  for (int i = 0; i < s->n; i++) p[i] = (Point){s->step[i], s->val[i], s->seq[i]};
  qsort(p, (size_t)s->n, sizeof *p, by_step_then_line);
  int m = 0;
  for (int i = 0; i < s->n; i++) {
    if (m && s->step[m - 1] == p[i].step) m--;
    s->step[m] = p[i].step, s->val[m] = p[i].val;
    m++;
  }
  s->n = m;
  free(p);
}

// One scalar record: every "group/name" key is a point of that tag at the record's step.
static int scalar_record(ReportLog *r, const JsonObj *o, long line, char *err, size_t errlen) {
  const JsonField *st = jsonl_get(o, "step");
  if (!st || st->type != JSON_NUM || !isfinite(st->num))
    return genet_err(err, errlen, "a record without \"event\" needs a number \"step\"");
  for (int i = 0; i < o->n; i++) {
    const JsonField *f = &o->f[i];
    if (!strchr(f->key, '/') || strchr(f->key, '.')) continue;  // step, epoch, time; nested keys
    if (f->type != JSON_NUM && f->type != JSON_NULL)
      return genet_err(err, errlen, "\"%s\": expected a number or null", f->key);
    RunSeries *s = series_for(r, f->key);
    if (s) series_add(s, st->num, f->type == JSON_NUM ? f->num : NAN, line);
  }
  if (isnan(r->last_step) || st->num > r->last_step) r->last_step = st->num;
  return 0;
}

static void take(JsonObj *dst, JsonObj *src) {
  jsonl_free(dst);
  *dst = *src;
  *src = (JsonObj){0};
}

// The lines of a file read whole; returns NULL with err set when it cannot be read.
static char *slurp(const char *path, size_t *n, char *err, size_t errlen) {
  FILE *f = file_fopen_read(path, 0, err, errlen);  // a regular file: a FIFO would hang report
  if (!f) return NULL;
  size_t cap = 1 << 16;
  char *b = xmalloc(cap);
  *n = 0;
  for (;;) {
    if (*n == cap) b = xrealloc(b, cap *= 2);
    size_t got = fread(b + *n, 1, cap - *n, f);
    *n += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    return genet_err(err, errlen, "%s: read error", path), NULL;
  }
  return b;
}

int report_log_read(ReportLog *r, const char *path, char *warn, size_t warnlen, char *err, size_t errlen) {
  *r = (ReportLog){.last_step = NAN};
  if (warnlen) warn[0] = 0;
  size_t n;
  char *text = slurp(path, &n, err, errlen);
  if (!text) return -1;
  char why[512];
  JsonObj o = {0};
  double seg_start = NAN, seg_last = NAN;
  int rc = 0;
  long line = 0;
  for (size_t at = 0; at < n && !rc;) {
    const char *s = text + at, *nl = memchr(s, '\n', n - at);
    size_t len = nl ? (size_t)(nl - s) : n - at;
    at += len + 1;
    line++;
    size_t k = 0;
    while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r')) k++;
    if (k == len) continue;
    if (jsonl_parse(&o, s, len, why, sizeof why)) {
      if (!nl) {  // the last line, cut short
        genet_err(warn, warnlen, "%s:%ld: incomplete last line skipped (the run stopped while writing it?): %s",
                  path, line, why);
        break;
      }
      rc = genet_err(err, errlen, "%s:%ld: not a JSON object: %s", path, line, why);
      break;
    }
    r->records++;
    double t = jsonl_num(&o, "time");
    const JsonField *ev = jsonl_get(&o, "event");
    if (ev && ev->type != JSON_STR) {
      rc = genet_err(err, errlen, "%s:%ld: \"event\": expected a string", path, line);
      break;
    }
    if (ev && !strcmp(ev->str, "start")) {
      if (!isnan(seg_start) && !isnan(seg_last)) r->seconds += seg_last - seg_start;
      seg_start = seg_last = t;
      r->starts++;
      r->end_is_last = 0;
      take(&r->start, &o);
    } else if (ev && !strcmp(ev->str, "end")) {
      r->end_is_last = 1;
      take(&r->end, &o);
    } else if (!ev && scalar_record(r, &o, line, why, sizeof why)) {
      rc = genet_err(err, errlen, "%s:%ld: %s", path, line, why);
      break;
    }  // other events: not shown
    if (isfinite(t)) {
      if (isnan(seg_start)) seg_start = t;  // a log that starts without a start record
      if (isnan(seg_last) || t > seg_last) seg_last = t;
    }
  }
  if (!isnan(seg_start) && !isnan(seg_last)) r->seconds += seg_last - seg_start;
  jsonl_free(&o);
  free(text);
  index_free(&r->idx);
  for (int i = 0; i < r->ns; i++) series_finish(&r->s[i]);
  if (rc) report_log_free(r);
  return rc;
}

void report_log_free(ReportLog *r) {
  jsonl_free(&r->start);
  jsonl_free(&r->end);
  for (int i = 0; i < r->ns; i++) {
    free(r->s[i].tag);
    free(r->s[i].step);
    free(r->s[i].val);
    free(r->s[i].seq);
  }
  free(r->s);
  index_free(&r->idx);
  *r = (ReportLog){.last_step = NAN};
}
