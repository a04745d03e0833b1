// report.c: `genet report`: finds the run's files, reads its log, writes the page atomically.
#include "cmd/report.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "cmd/report_log.h"
#include "cmd/report_page.h"
#include "core/util.h"
#include "train/config.h"

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n > t && !strcmp(s + n - t, tail);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void push(char ***v, int *n, const char *s) {
  *v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
  (*v)[(*n)++] = xstrdup(s);
}

// The regular files of dir that the page shows; `skip` (the page itself, when it is in dir) is left out.
static int list_dir(ReportInputs *in, const char *dir, const struct stat *skip, char *err, size_t errlen) {
  DIR *d = opendir(dir);
  if (!d) return genet_err(err, errlen, "%s: cannot open the run directory: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[GENET_PATH_MAX + 256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] == '.' || stat(path, &st) || !S_ISREG(st.st_mode)) continue;
    if (skip && st.st_dev == skip->st_dev && st.st_ino == skip->st_ino) continue;
    if (!strcmp(e->d_name, "job.txt")) in->have_job = 1;
    else if (ends_with(e->d_name, ".txt")) push(&in->txt, &in->ntxt, e->d_name);
    else if (ends_with(e->d_name, ".png")) push(&in->png, &in->npng, e->d_name);
  }
  closedir(d);
  if (in->npng > 1) qsort(in->png, (size_t)in->npng, sizeof *in->png, report_png_order);  // NULL when none
  if (in->ntxt > 1) qsort(in->txt, (size_t)in->ntxt, sizeof *in->txt, by_name);
  return 0;
}

// The page into a temporary file beside out, synced, then renamed over out.
static int write_page(const char *out, const ReportInputs *in, char *err, size_t errlen) {
  AtomicFile a;
  if (atomic_open(&a, out, NULL, err, errlen)) return -1;
  report_page(a.f, in);
  return atomic_commit(&a, err, errlen);
}

static void free_inputs(ReportInputs *in) {
  for (int i = 0; i < in->npng; i++) free(in->png[i]);
  for (int i = 0; i < in->ntxt; i++) free(in->txt[i]);
  free(in->png);
  free(in->txt);
}

static const CfgSpec report_keys[] = {
    {"out", CFG_STRING, "", 1, 0, NULL, "the page (empty: RUN_DIR/report.html)", 0},
};

int report_main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    fprintf(stderr, "genet: usage: genet report RUN_DIR [out=FILE]\n");
    return 2;
  }
  char dir[GENET_PATH_MAX];  // without trailing slashes, so that paths in messages read well
  snprintf(dir, sizeof dir, "%s", argv[1]);
  for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--) dir[n - 1] = 0;
  char out[GENET_PATH_MAX + 64];
  snprintf(out, sizeof out, "%s/report.html", dir);
  char err[GENET_ERR_MAX], warn[GENET_ERR_MAX], path[GENET_PATH_MAX + 32];
  Config args;  // checked as every command's key=value arguments are
  if (config_parse_args(&args, report_keys, 1, "report", argc - 2, argv + 2, err, sizeof err)) {
    config_free(&args);
    fprintf(stderr, "genet: %s\n", err);
    return 2;
  }
  if (*config_str(&args, "out")) snprintf(out, sizeof out, "%s", config_str(&args, "out"));
  config_free(&args);
  struct stat st, page;
  if (stat(dir, &st)) {
    fprintf(stderr, "genet: %s: %s\n", dir, errno == ENOENT ? "no such run directory" : strerror(errno));
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "genet: %s: not a directory (expected a run's out_dir)\n", dir);
    return 1;
  }
  ReportInputs in = {.dir = dir, .log_warning = ""};
  ReportLog log;
  int have_log = 0, rc = 1;
  if (list_dir(&in, dir, stat(out, &page) ? NULL : &page, err, sizeof err)) goto done;
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  if (!access(path, F_OK)) {
    if (report_log_read(&log, path, warn, sizeof warn, err, sizeof err)) goto done;
    have_log = 1;
    in.log = &log;
    if (warn[0]) {
      fprintf(stderr, "genet: warning: %s\n", warn);
      in.log_warning = warn;
    }
  }
  if (write_page(out, &in, err, sizeof err)) goto done;
  printf("report: %s\n", out);
  rc = 0;
done:
  if (rc) fprintf(stderr, "genet: %s\n", err);
  if (have_log) report_log_free(&log);
  free_inputs(&in);
  return rc;
}
