// metrics_log.h: out_dir/metrics.jsonl, one flat JSON object a line, appended (docs/METRICS.md),
// and the JSON it is made of. A line is built in a JsonLine (jl_*) and written whole.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "core/util.h"

typedef struct {
  char *s;
  size_t len, cap;
} JsonLine;

void jl_begin(JsonLine *j);                                   // "{"
void jl_str(JsonLine *j, const char *key, const char *v);    // "key":"v" (escaped; NULL: null)
void jl_num(JsonLine *j, const char *key, double v);          // shortest exact form; NaN/inf: null
void jl_int(JsonLine *j, const char *key, long long v);
void jl_bool(JsonLine *j, const char *key, int v);
void jl_raw(JsonLine *j, const char *key, const char *json);  // v is JSON already
void jl_end(JsonLine *j);                                     // "}"
void jl_free(JsonLine *j);

typedef struct {
  FILE *f;                    // NULL: not open, or given up after a failed write
  char path[GENET_PATH_MAX];
  char err[GENET_ERR_MAX];
} MetricsLog;

// Opens dir/metrics.jsonl for appending (a resumed run continues the file). 0, or -1 with err.
int mlog_open(MetricsLog *m, const char *dir);
// Writes the line and a newline, flushed. 0, or -1 with m->err (the file is then closed).
int mlog_write(MetricsLog *m, const JsonLine *j);
void mlog_close(MetricsLog *m);

// The lowest value of `tag` among the records of m->path with "step" <= max_step (what a
// resumed run had seen before its checkpoint): 1 found (*value, *step), 0 none, -1 read error.
int mlog_scan_lowest(const char *path, const char *tag, int64_t max_step, double *value, int64_t *step);

// Writes text to path atomically (path.tmp, then rename). 0, or -1 with err.
int write_text_atomic(const char *path, const char *text, char *err, size_t errlen);
