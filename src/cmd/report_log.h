// report_log.h: a run's metrics.jsonl read into what `genet report` shows: the last start and
// end records, and one series per tag ("train/loss") over steps.
#pragma once
#include <stddef.h>

#include "data/jsonl.h"

typedef struct {
  char *tag;       // "group/name"
  double *step;    // ascending, each step once (the value written last wins, as after a resume)
  double *val;     // NAN where the log holds null (a non-finite value)
  long *seq;       // line numbers while reading; then unused
  int n, cap;
} RunSeries;

// The most series a page shows: a log with more tags (60,000 made a 103 MB page) keeps the
// first ones in the order they appear and counts the rest (ReportLog.dropped; the page says so).
#define REPORT_MAX_SERIES 200

typedef struct {  // tag -> series index (-1: counted, not kept), open addressing
  char **tag;
  int *id;
  size_t nslot, n;
} TagIndex;

typedef struct {
  JsonObj start, end;  // the last start and end records (n == 0 when there is none)
  int starts;          // start records: 1 + the number of resumes
  int end_is_last;     // the last end record comes after the last start record
  double seconds;      // wall time summed over the runs (each from its start to its last record)
  double last_step;    // the largest step seen (NAN when none)
  long records;        // lines read
  RunSeries *s;
  int ns, cap;
  long dropped;        // distinct tags past REPORT_MAX_SERIES: not kept
  TagIndex idx;        // while reading
} ReportLog;

// Reads path. A line that is not a JSON object, or a record without what it needs, returns -1
// with err "PATH:LINE: what was expected". A last line without its newline that does not
// parse (a run killed while writing it) is skipped with warn set to one line; otherwise warn
// is "". Blank lines are skipped.
int report_log_read(ReportLog *r, const char *path, char *warn, size_t warnlen, char *err, size_t errlen);
void report_log_free(ReportLog *r);
