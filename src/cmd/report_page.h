// report_page.h: the HTML page of `genet report`, from what was found in the run directory.
#pragma once
#include <stdio.h>

#include "cmd/report_log.h"

typedef struct {
  const char *dir;          // the run directory (names below are inside it)
  const ReportLog *log;        // NULL when there is no metrics.jsonl
  const char *log_warning;  // a skipped incomplete last line, or ""
  char **png, **txt;        // file names; png sorted by report_png_order, txt by name (no job.txt)
  int npng, ntxt;
  int have_job;             // job.txt exists
} ReportInputs;

// Writes the whole page; write errors show in ferror(f).
void report_page(FILE *f, const ReportInputs *in);

// qsort order of PNG names (char *): by name, numbered ones by their number after a common
// prefix (fake_samples_epoch_9.png before fake_samples_epoch_10.png).
int report_png_order(const void *a, const void *b);
